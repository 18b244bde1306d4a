"""The report's index and pages: names a reader knows, settings only, nothing from the history
runs as script."""
import shutil
import subprocess
from html.parser import HTMLParser

import nbformat

from helpers import git, project
from pipeline import report

CRAFTED = "executed/<svg onload=alert(2)>x'.ipynb"


class ActiveContent(HTMLParser):
    """Whatever in a page could run: script elements' text, event-handler attributes, tags."""

    def __init__(self, html: str):
        super().__init__()
        self.scripts, self.handlers, self.tags, self._in_script = [], [], [], False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._in_script = tag == "script"
        self.handlers += [name for name, _ in attrs if name.startswith("on")]

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def test_paths_are_told_from_settings():
    for value in ("data/train.csv", "model.joblib", "accuracy.json", "data/raw/imagenette2-160", "a/b"):
        assert report.looks_like_path(value), value
    for value in ("sgd", "random-forest", "raw", "hog+color", "none", 10, 1.0, {"n0": "tench"}):
        assert not report.looks_like_path(value), value


def test_settings_leave_out_what_the_notebook_declares_as_paths(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "notebooks").mkdir()
    shutil.copy(project() / "notebooks/train.ipynb", tmp_path / "notebooks")
    git(tmp_path, "add", "notebooks")
    git(tmp_path, "commit", "-q", "-m", "train notebook")
    recorded = {"train_csv": "data/train.csv", "train_pixels": "data/train-pixels.npy",
                "model_file": "other", "classifier": "sgd", "max_iter": 10, "features": "raw",
                "unknown_file": "x/y.npy", "undeclared": "fast"}
    shown = report.settings(tmp_path, git(tmp_path, "rev-parse", "HEAD"), "train", recorded)
    assert shown == {"classifier": "sgd", "max_iter": 10, "features": "raw", "undeclared": "fast"}


def test_index_escapes_everything_from_the_history():
    rows = [{"commit": "0123456789abcdef", "page": report.page_name("0123456789abcdef", CRAFTED),
             "stage": "<svg onload=alert(2)>x'", "settings": {"classifier": "<b onmouseover=alert(1)>"},
             "accuracy": "", "name": "<img src=x onerror=alert(3)>"}]
    page = report.index_page(rows, "compare.png")
    active = ActiveContent(page)
    assert not active.scripts and not active.handlers and {"svg", "b"}.isdisjoint(active.tags)
    assert "&lt;svg onload=alert(2)&gt;x&#x27;" in page
    assert rows[0]["page"] == "01234567-_svg_onload_alert_2__x_.html"
    assert "<img src='compare.png'" in page


def test_notebook_pages_are_sanitised():
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("Hello <script>alert(1)</script> <img src=x onerror=alert(2)>"),
        nbformat.v4.new_code_cell("table", outputs=[nbformat.v4.new_output(
            "display_data", data={"text/html": "<table><tr><th onclick='alert(3)'>a</th></tr></table>"
                                               "<script>alert(4)</script>",
                                  "text/plain": "table"})]),
    ])
    body, _ = report.notebook_exporter().from_notebook_node(notebook)
    active = ActiveContent(body)
    assert not active.handlers and not any("alert" in script for script in active.scripts)
    assert "<th>a</th>" in body  # tables stay tables
