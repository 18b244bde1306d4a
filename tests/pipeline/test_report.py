"""The report's index and pages: names a reader knows, settings only, nothing from the history
runs as script."""
from html.parser import HTMLParser

import nbformat

from helpers import sh
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


TRAIN = {"inputs": ["params/train.yaml", "notebooks/train.ipynb", "data/train.csv",
                   "data/train-pixels.npy"],
         "outputs": ["other", "executed/train.ipynb"]}
PREPARE = {"inputs": ["params/prepare.yaml", "notebooks/prepare.ipynb",
                      "data/raw/imagenette2-160/train/n03445777"],
           "outputs": ["data/train.csv", "executed/prepare.ipynb"]}


def test_paths_are_what_the_record_reads_and_writes():
    for value in ("data/train.csv", "data/train-pixels.npy", "other", "executed/train.ipynb"):
        assert report.is_path_of(TRAIN, value), value
    assert report.is_path_of(PREPARE, "data/raw/imagenette2-160")  # a folder holding inputs
    assert report.is_path_of(PREPARE, "data/raw/imagenette2-160/")
    for value in ("sgd", "raw", "train", "data/train", "model.joblib", "", 10, {"n0": "tench"}):
        assert not report.is_path_of(TRAIN, value), value


def test_settings_leave_out_the_paths_of_the_run():
    recorded = {"train_csv": "data/train.csv", "train_pixels": "data/train-pixels.npy",
                "model_file": "other", "classifier": "sgd", "max_iter": 10, "features": "raw",
                "undeclared": "fast"}
    assert report.settings(TRAIN, recorded) == {"classifier": "sgd", "max_iter": 10,
                                                "features": "raw", "undeclared": "fast"}
    assert report.settings(PREPARE, {"raw_dir": "data/raw/imagenette2-160", "image_size": 100,
                                      "train_split": "train"}) == {"image_size": 100,
                                                                   "train_split": "train"}


def test_index_escapes_everything_from_the_history():
    rows = [{"commit": "0123456789abcdef", "page": report.page_name("0123456789abcdef", CRAFTED),
             "stage": "<svg onload=alert(2)>x'",
             "settings": {"classifier": "<b onmouseover=alert(1)>"},
             "accuracy": "", "name": "<img src=x onerror=alert(3)>"}]
    page = report.index_page(rows, "compare.png")
    active = ActiveContent(page)
    assert not active.scripts and not active.handlers and {"svg", "b"}.isdisjoint(active.tags)
    assert "&lt;svg onload=alert(2)&gt;x&#x27;" in page
    assert rows[0]["page"] == "01234567-_svg_onload_alert_2__x_.html"
    assert "<img src='compare.png'" in page


def test_notebook_pages_are_sanitised():
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell(
            "Hello <script>alert(1)</script> <img src=x onerror=alert(2)>"),
        nbformat.v4.new_code_cell("table", outputs=[nbformat.v4.new_output(
            "display_data",
            data={"text/html": "<table><tr><th onclick='alert(3)'>a</th></tr></table>"
                               "<script>alert(4)</script>",
                  "text/plain": "table"})]),
    ])
    body, _ = report.notebook_exporter().from_notebook_node(notebook)
    active = ActiveContent(body)
    assert not active.handlers and not any("alert" in script for script in active.scripts)
    assert "<th>a</th>" in body  # tables stay tables


def test_a_run_with_no_ref_is_named_by_its_commit_and_how_far_after_a_tag(tmp_path):
    """Named by the nearest tag alone, a run typed on main after a sweep read as the sweep's."""
    def commit(message: str) -> str:
        sh(["git", "commit", "-q", "--allow-empty", "-m", message], tmp_path)
        return sh(["git", "rev-parse", "HEAD"], tmp_path).stdout.strip()

    sh(["git", "init", "-q", "--initial-branch=main"], tmp_path)
    first = commit("before any tag")
    assert report.run_name(tmp_path, first, {}, {}) == first[:8]
    sh(["git", "tag", "sweep/handbook", commit("the sweep's merge")], tmp_path)
    commit("a change")
    run = commit("a run typed by hand")
    assert report.run_name(tmp_path, run, {}, {}) == f"{run[:8]} (2 after sweep/handbook)"
    assert report.run_name(tmp_path, run, {run: "SGD-10"}, {}) == "SGD-10"
    assert report.run_name(tmp_path, run, {}, {"mine": run}) == "mine"


def test_a_report_before_any_run_says_what_to_run(tmp_path, capsys):
    sh(["git", "init", "-q", "--initial-branch=main"], tmp_path)
    sh(["git", "commit", "-q", "--allow-empty", "-m", "start"], tmp_path)
    index = report.build(tmp_path, tmp_path / "report")
    assert "<table>" in index.read_text()
    assert "run the stages first (make tutorial)" in capsys.readouterr().out
