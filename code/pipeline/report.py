"""``report``: every executed notebook in the history as an HTML page, with an index.

The pages are standalone (nbconvert's lab template, plots embedded), so they open in any
browser without Jupyter. The index names each run as the story does (SGD-10, SGD-100, random
forest; elsewhere the branch or tag a reader knows), shows its stage, its settings (the
parameters whose values are not among the run's inputs and outputs), the accuracy of
evaluations, and compare's plot.

Everything on these pages comes from the history, which anyone who can commit controls: the
index escapes every value, and the notebook pages are sanitised (no script, no event handler).
"""
from __future__ import annotations

import html
import re
import urllib.parse
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbconvert.preprocessors.sanitize import SanitizeHTML

from . import compare, history
from .git import git

STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:75em}
table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3}code{font-size:90%}img{max-width:100%}"""
PLOT = "compare.png"
# What notebook outputs and markdown may keep: text, tables (pandas), lists, links; no script,
# no style, no event handler (bleach drops every attribute not listed, and javascript: links).
SAFE_TAGS = ["a", "abbr", "b", "blockquote", "br", "code", "dd", "div", "dl", "dt", "em", "h1",
             "h2", "h3", "h4", "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "span", "strong",
             "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul"]
SAFE_ATTRIBUTES = {"*": ["class", "title"], "a": ["href", "title"], "td": ["colspan", "rowspan"],
                   "th": ["colspan", "rowspan"], "abbr": ["title"]}


def page_name(commit: str, path: str) -> str:
    """A file name made only of safe characters, whatever the output path holds."""
    return f"{commit[:8]}-{re.sub(r'[^A-Za-z0-9_.-]', '_', Path(path).stem)}.html"


def notebook_exporter() -> HTMLExporter:
    exporter = HTMLExporter(template_name="lab")
    exporter.register_preprocessor(SanitizeHTML(tags=SAFE_TAGS, attributes=SAFE_ATTRIBUTES),
                                   enabled=True)
    return exporter


def render_page(root: Path, commit: str, path: str, target: Path, exporter: HTMLExporter) -> None:
    notebook = nbformat.reads(history.file_at(root, commit, path), as_version=4)
    body, _ = exporter.from_notebook_node(
        notebook, resources={"metadata": {"name": f"{commit[:8]} {path}"}})
    target.write_text(body)


def is_path_of(record: dict, value) -> bool:
    """Whether ``value`` names one of the run's inputs or outputs, or a folder holding one
    (prepare's raw_dir holds its category folders)."""
    if not isinstance(value, str) or not value:
        return False
    paths = [*record.get("inputs", []), *record.get("outputs", [])]
    folder = value.rstrip("/") + "/"
    return any(path == value or path.startswith(folder) for path in paths)


def settings(record: dict, parameters: dict) -> dict:
    """The parameters that are settings: the record says which ones are paths, since every
    path a stage reads or writes is one of its inputs or outputs."""
    return {name: value for name, value in parameters.items() if not is_path_of(record, value)}


def run_name(root: Path, commit: str, story_names: dict, results: dict[str, str]) -> str:
    """The story's name of a run, else the branches whose result it is and its tags, else its
    short commit and how far after the nearest tag (a tag's name alone made a run typed by hand
    after a sweep look like the sweep's)."""
    if commit in story_names:
        return story_names[commit]
    held = compare.refs_holding(root, commit, results)
    if held:
        return " ".join(held)
    described = re.fullmatch(r"(.+)-(\d+)-g[0-9a-f]+", git(root, "describe", "--tags", commit))
    after = f" ({described[2]} after {described[1]})" if described else ""
    return f"{commit[:8]}{after}"


def build(root: Path, output: Path) -> Path:
    """Write one page per executed notebook of every run on every branch and tag, the
    comparison plot and index.html."""
    output.mkdir(parents=True, exist_ok=True)
    exporter = notebook_exporter()
    results, story_names = compare.results_of_branches(root), history.story_names(root)
    rows = []
    for commit in reversed(history.run_commits(root, history.refs(root))):  # newest first
        record = history.run_record(root, commit) or {}
        stage = history.stage_of(record)
        for path in history.executed_notebooks(record):
            if history.file_at(root, commit, path) is None:
                continue
            page = page_name(commit, path)
            render_page(root, commit, path, output / page, exporter)
            accuracy = history.json_outputs(root, commit).get("accuracy")
            if stage != "evaluate" or not isinstance(accuracy, (int, float)):
                accuracy = None  # the history is anyone's: show a number or nothing
            shown = settings(record, history.notebook_parameters(root, commit, path))
            rows.append({"commit": commit, "page": page, "stage": stage or Path(path).stem,
                         "settings": shown, "name": run_name(root, commit, story_names, results),
                         "accuracy": "" if accuracy is None else f"{accuracy:.4f}"})
            print(f"rendered {page}", flush=True)
    table = compare.evaluations(root)
    if not table.empty:
        compare.plot(table, output / PLOT)  # its bars named as on the index
    (output / "index.html").write_text(index_page(rows, None if table.empty else PLOT))
    if not rows:
        print("No executed notebooks in the history yet: run the stages first (make tutorial).")
    return output / "index.html"


def index_page(rows: list[dict], plot: str | None) -> str:
    escape = html.escape
    lines = ["<!doctype html><html><head><meta charset='utf-8'><title>Runs</title>"
             f"<style>{STYLE}</style></head>", "<body><h1>Every run in the history</h1>"]
    if plot:
        lines.append(f"<p><img src='{urllib.parse.quote(plot)}' "
                     "alt='accuracy of every evaluation'></p>")
    lines += ["<p>Each row is a <code>datalad containers-run</code> record; the link opens the "
              "notebook it executed.</p>",
              "<table><tr><th>run</th><th>stage</th><th>settings</th><th>accuracy</th>"
              "<th>notebook</th><th>commit</th></tr>"]
    for row in rows:
        shown = ", ".join(f"{name}={value}" for name, value in row["settings"].items())
        link = escape(urllib.parse.quote(row["page"]))
        lines.append(f"<tr><td>{escape(row['name'])}</td><td>{escape(row['stage'])}</td>"
                     f"<td>{escape(shown)}</td><td>{escape(row['accuracy'])}</td>"
                     f"<td><a href='{link}'>{escape(row['stage'])}.ipynb</a></td>"
                     f"<td><code>{escape(row['commit'][:8])}</code></td></tr>")
    lines.append("</table></body></html>")
    return "\n".join(lines) + "\n"
