"""``report``: every executed notebook in the history as an HTML page, with an index.

The pages are standalone (nbconvert's lab template, plots embedded), so they open in any
browser without Jupyter. The index names each run as the story does (SGD-10, SGD-100, random
forest; elsewhere the branch or tag a reader knows), shows its stage, its settings (the
parameters that are not paths), the accuracy of evaluations, and the comparison plot.

Everything on these pages comes from the history, which anyone who can commit controls: the
index escapes every value, and the notebook pages are sanitised (no script, no event handler).
"""
from __future__ import annotations

import ast
import functools
import html
import json
import re
import tempfile
import urllib.parse
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbconvert.preprocessors.sanitize import SanitizeHTML

from . import compare, history, story

STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:75em}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3}code{font-size:90%}img{max-width:100%}"""
PLOT = "compare.png"
# What notebook outputs and markdown may keep: text, tables (pandas), lists, links; no script,
# no style, no event handler (bleach drops every attribute not listed, and javascript: links).
SAFE_TAGS = ["a", "abbr", "b", "blockquote", "br", "code", "dd", "div", "dl", "dt", "em", "h1", "h2", "h3",
             "h4", "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "span", "strong", "sub", "sup", "table",
             "tbody", "td", "tfoot", "th", "thead", "tr", "ul"]
SAFE_ATTRIBUTES = {"*": ["class", "title"], "a": ["href", "title"], "td": ["colspan", "rowspan"],
                   "th": ["colspan", "rowspan"], "abbr": ["title"]}
FILE_NAME = re.compile(r"[\w-]+\.[A-Za-z0-9]+")


def executed_notebooks(record: dict) -> list[str]:
    return [o for o in record.get("outputs", []) if o.startswith("executed/") and o.endswith(".ipynb")]


def page_name(commit: str, path: str) -> str:
    """A file name made only of safe characters, whatever the output path holds."""
    return f"{commit[:8]}-{re.sub(r'[^A-Za-z0-9_.-]', '_', Path(path).stem)}.html"


def notebook_exporter() -> HTMLExporter:
    exporter = HTMLExporter(template_name="lab")
    exporter.register_preprocessor(SanitizeHTML(tags=SAFE_TAGS, attributes=SAFE_ATTRIBUTES), enabled=True)
    return exporter


def render_page(root: Path, commit: str, path: str, target: Path, exporter: HTMLExporter) -> None:
    notebook = nbformat.reads(history.show(root, commit, path), as_version=4)
    body, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": f"{commit[:8]} {path}"}})
    target.write_text(body)


def looks_like_path(value) -> bool:
    """A value naming a file or folder: it has a slash, or is a file name with an extension."""
    return isinstance(value, str) and ("/" in value or bool(FILE_NAME.fullmatch(value)))


@functools.lru_cache(maxsize=256)
def declared_defaults(root: Path, commit: str, stage: str) -> dict:
    """The defaults the stage's source notebook declares at ``commit`` (its parameters cell)."""
    text = history.show(root, commit, f"notebooks/{stage}.ipynb")
    if not text:
        return {}
    import papermill

    with tempfile.NamedTemporaryFile("w", suffix=".ipynb") as copy:
        copy.write(text)
        copy.flush()
        declared = papermill.inspect_notebook(copy.name)
    defaults = {}
    for name, info in declared.items():
        try:
            defaults[name] = ast.literal_eval(info["default"])
        except (ValueError, SyntaxError):
            defaults[name] = info["default"]
    return defaults


def settings(root: Path, commit: str, stage: str, parameters: dict) -> dict:
    """The parameters that are settings, not paths: judged by the notebook's declared default
    (``model_file = "model.joblib"`` is a path whatever a run passed), else by the value."""
    defaults = declared_defaults(root, commit, stage)
    return {name: value for name, value in parameters.items()
            if not looks_like_path(defaults.get(name, value))}


def run_name(root: Path, commit: str, story_names: dict, branches: list[str]) -> str:
    """The story's name of a run, else the branches whose result it is and its tags, else the
    nearest tag before it, else its short commit."""
    if commit in story_names:
        return story_names[commit]
    held = compare.refs_holding(root, commit, branches)
    if held:
        return " ".join(held)
    return history.git(root, "describe", "--tags", "--abbrev=0", commit) or commit[:8]


def build(root: Path, output: Path) -> Path:
    """Write one page per executed notebook of every run on every branch and tag, the
    comparison plot and index.html."""
    output.mkdir(parents=True, exist_ok=True)
    exporter = notebook_exporter()
    branches = compare.all_refs(root, "heads")
    story_names = story.run_names(root)
    rows = []
    for commit in reversed(history.run_commits(root, compare.all_refs(root))):  # newest first
        record = history.run_record(root, commit)
        for path in executed_notebooks(record or {}):
            if history.show(root, commit, path) is None:
                continue
            page = page_name(commit, path)
            render_page(root, commit, path, output / page, exporter)
            accuracy = ""
            if compare.EVALUATION_OUTPUT in record.get("outputs", []):
                accuracy = f"{json.loads(history.show(root, commit, compare.EVALUATION_OUTPUT))['accuracy']:.4f}"
            stage = Path(path).stem
            shown = settings(root, commit, stage, history.notebook_parameters(root, commit, path))
            rows.append({"commit": commit, "page": page, "stage": stage, "settings": shown, "accuracy": accuracy,
                         "name": run_name(root, commit, story_names, branches)})
            print(f"rendered {page}", flush=True)
    plotted = comparison_plot(root, output / PLOT, story_names)
    (output / "index.html").write_text(index_page(rows, PLOT if plotted else None))
    return output / "index.html"


def comparison_plot(root: Path, target: Path, story_names: dict) -> bool:
    """compare's plot of every evaluation, its bars named as on the index."""
    table = compare.evaluations(root)
    if table.empty:
        return False
    by_short = {commit[:8]: name for commit, name in story_names.items()}
    table = table.assign(refs=[by_short.get(c, refs) for c, refs in zip(table["commit"], table["refs"])])
    compare.plot(table, target)
    return True


def index_page(rows: list[dict], plot: str | None) -> str:
    escape = html.escape
    lines = [f"<!doctype html><html><head><meta charset='utf-8'><title>Runs</title><style>{STYLE}</style></head>",
             "<body><h1>Every run in the history</h1>"]
    if plot:
        lines.append(f"<p><img src='{urllib.parse.quote(plot)}' alt='accuracy of every evaluation'></p>")
    lines += ["<p>Each row is a <code>datalad containers-run</code> record; the link opens the notebook it executed.</p>",
              "<table><tr><th>run</th><th>stage</th><th>settings</th><th>accuracy</th><th>notebook</th><th>commit</th></tr>"]
    for row in rows:
        shown = ", ".join(f"{name}={value}" for name, value in row["settings"].items())
        lines.append(f"<tr><td>{escape(row['name'])}</td><td>{escape(row['stage'])}</td><td>{escape(shown)}</td>"
                     f"<td>{escape(row['accuracy'])}</td>"
                     f"<td><a href='{escape(urllib.parse.quote(row['page']))}'>{escape(row['stage'])}.ipynb</a></td>"
                     f"<td><code>{escape(row['commit'][:8])}</code></td></tr>")
    lines.append("</table></body></html>")
    return "\n".join(lines) + "\n"
