"""``report``: every executed notebook in the history as an HTML page, with an index.

The pages are standalone (nbconvert's lab template, plots embedded), so they open in any
browser without Jupyter. The index lists each run: where it sits in the history, its stage,
the parameters papermill recorded, and the accuracy for evaluations.
"""
from __future__ import annotations

import html
import json
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

from . import compare, history

STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:75em}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3}code{font-size:90%}"""


def executed_notebooks(record: dict) -> list[str]:
    return [o for o in record.get("outputs", []) if o.startswith("executed/") and o.endswith(".ipynb")]


def render_page(root: Path, commit: str, path: str, target: Path, exporter: HTMLExporter) -> None:
    notebook = nbformat.reads(history.show(root, commit, path), as_version=4)
    body, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": f"{commit[:8]} {path}"}})
    target.write_text(body)


def build(root: Path, output: Path) -> Path:
    """Write one page per executed notebook of every run on every branch and tag, and index.html."""
    output.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter(template_name="lab")
    branches = compare.all_refs(root, "heads")
    rows = []
    for commit in reversed(history.run_commits(root, compare.all_refs(root))):  # newest first
        record = history.run_record(root, commit)
        for path in executed_notebooks(record or {}):
            if history.show(root, commit, path) is None:
                continue
            page = f"{commit[:8]}-{Path(path).stem}.html"
            render_page(root, commit, path, output / page, exporter)
            accuracy = ""
            if compare.EVALUATION_OUTPUT in record.get("outputs", []):
                accuracy = f"{json.loads(history.show(root, commit, compare.EVALUATION_OUTPUT))['accuracy']:.4f}"
            parameters = history.notebook_parameters(root, commit, path)
            rows.append((commit, page, Path(path).stem, parameters, accuracy,
                         compare.refs_holding(root, commit, branches) if accuracy else []))
            print(f"rendered {page}", flush=True)
    (output / "index.html").write_text(index_page(root, rows))
    return output / "index.html"


def index_page(root: Path, rows: list) -> str:
    lines = [f"<!doctype html><html><head><meta charset='utf-8'><title>Runs</title><style>{STYLE}</style></head>",
             "<body><h1>Every run in the history</h1>",
             "<p>Each row is a <code>datalad containers-run</code> record; the link opens the notebook it executed.</p>",
             "<table><tr><th>commit</th><th>where</th><th>stage</th><th>parameters</th><th>accuracy</th><th>notebook</th></tr>"]
    for commit, page, stage, parameters, accuracy, refs in rows:
        where = " ".join(refs) or history.git(root, "describe", "--tags", "--always", commit)
        shown = ", ".join(f"{k}={v}" for k, v in parameters.items() if not str(k).endswith(("_csv", "_file", "_dir")))
        lines.append(f"<tr><td><code>{commit[:8]}</code></td><td>{html.escape(where)}</td><td>{stage}</td>"
                     f"<td>{html.escape(shown)}</td><td>{accuracy}</td>"
                     f"<td><a href='{page}'>{stage}.ipynb</a></td></tr>")
    lines.append("</table></body></html>")
    return "\n".join(lines) + "\n"
