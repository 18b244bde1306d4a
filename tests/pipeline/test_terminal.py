import io
import json
import subprocess
import sys

import pytest

from pipeline import events, terminal

def result(action, status, path, kind, message=None) -> str:
    """A result line as ``datalad -f json`` prints it."""
    found = {"action": action, "status": status, "path": path, "type": kind}
    return json.dumps({**found, **({"message": message} if message else {})})


def cell(index, cells=13) -> str:
    """A cell's start, as the stable papermill engine reports it (and papermill's own line)."""
    return (events.line("cell", index=index, cells=cells) + "\n"
            + f"Executing Cell {index + 1}---------------------------------------")


def cell_done(index) -> str:
    return (f"Ending Cell {index + 1}------------------------------------------\n"
            + events.line("cell-done", index=index))


# What `datalad -f json containers-run` of the prepare stage prints (abridged from a real run).
PREPARE_OUTPUT = "\n".join([
    "[INFO] Making sure inputs are available (this may take some time)",
    result("get", "ok", "/work/ds/data/raw/imagenette2-160/train/n03445777/ILSVRC2012_val_00000001"
           ".JPEG", "file"),
    result("get", "ok", "data/raw/imagenette2-160/train/n03445777/ILSVRC2012_val_00000002.JPEG",
           "file"),
    result("get", "ok", "data/raw/imagenette2-160/val/n03445777/ILSVRC2012_val_00000003.JPEG",
           "file"),
    "[INFO] == Command start (output follows) =====",
    "Input Notebook:  notebooks/prepare.ipynb",
    "Output Notebook: executed/prepare.ipynb",
    "[IPKernelApp] WARNING | Kernel is running over TCP without encryption. All communication...",
    "Executing notebook with kernel: python3",
    cell(0), cell_done(0),
    cell(5), "container: software", "numpy: 2.4.6", "", cell_done(5),
    cell(7), "1911 training images, 789 test images", "",
    "                                            filename      label",
    "0  data/raw/imagenette2-160/train/n03445777/ILSVR...  golf ball", cell_done(7),
    cell(9), "loaded 500/1911 images", "", "loaded 1911/1911 images", "",
    "1911 images -> data/train.csv, data/train-pixels.npy", cell_done(9),
    cell(11), "<Figure size 600x160 with 1 Axes>", cell_done(11),
    "[IPKernelApp] ERROR | KeyboardInterrupt caught in kernel.",
    "cell 9: 1.8 s",
    "[INFO] == Command exit (modification check follows) =====",
    result("run", "ok", "/work/ds", "dataset",
           ["%s", "python3 code/container/adapter.py run .d..."]),
    result("add", "ok", "data/test.csv", "file"),
    result("add", "ok", "data/train.csv", "file"),
    result("add", "ok", "executed/prepare.ipynb", "file"),
    result("save", "ok", "/work/ds", "dataset"),
]) + "\n"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def log(tmp_path, monkeypatch):
    session = terminal.SessionLog(tmp_path / "logs")
    monkeypatch.setattr(terminal, "LOG", session)
    yield session
    if session._file:  # closed here, so that pytest's exit does not name the log
        session._file.close()
        session._file = None


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(terminal.time, "monotonic", fake)
    return fake


STAGE_COMMAND = ("datalad", "containers-run", "papermill notebooks/prepare.ipynb")


def watch_lines(text: str, args=STAGE_COMMAND) -> tuple[list[str], terminal.Watcher]:
    out = io.StringIO()
    watcher = terminal.Watcher(list(args), cwd="/work/ds", out=out)
    for line in text.splitlines():
        watcher.handle(line)
    watcher.finish(0)
    return out.getvalue().splitlines(), watcher


def test_a_stage_shows_what_the_notebook_found_and_a_one_line_outcome(log, clock):
    shown, _ = watch_lines(PREPARE_OUTPUT)
    assert shown == [
        "  | 1911 training images, 789 test images",
        "  get(ok) 3 files, run(ok), add(ok) 3 files, save(ok)  [0.0 s]",
    ]
    logged = log.path.read_text()  # the log keeps every line, noise included
    assert "Executing Cell 10" in logged and "Kernel is running over TCP" in logged
    # datalad's results as its own renderer shows them, paths relative to the dataset
    assert ("get(ok): data/raw/imagenette2-160/train/n03445777/ILSVRC2012_val_00000001.JPEG "
            "(file)\n" in logged)
    assert "run(ok): . (dataset) [python3 code/container/adapter.py run .d...]" in logged


def test_datalad_runs_with_json_results_and_is_shown_as_typed():
    watcher = terminal.Watcher(["datalad", "save", "-m", "x"])
    assert watcher.command == ["datalad", "-f", "json", "save", "-m", "x"]
    assert terminal.Watcher(["git", "status"]).command == ["git", "status"]


def test_the_notebooks_cells_drive_the_progress_bar(log, clock):
    out = io.StringIO()
    watcher = terminal.Watcher(list(STAGE_COMMAND), out=out)
    watcher.progress.tty = True
    watcher.handle(events.line("cell", index=2, cells=12))
    assert watcher.progress.label == "running the notebook"
    assert (watcher.progress.done, watcher.progress.total) == (3, 12)
    watcher.handle("a line the notebook printed")  # inside a cell: not a finding, not shown
    watcher.handle(events.line("cell-done", index=2))
    watcher.handle("Switched to a new branch 'x'")  # outside a cell: shown
    watcher.finish(0)
    assert "a line the notebook printed" not in out.getvalue()
    assert "Switched to a new branch 'x'" in out.getvalue()


def test_the_inputs_bar_counts_up_to_the_total_its_caller_gave(log, clock):
    watcher = terminal.Watcher(list(STAGE_COMMAND), out=io.StringIO(), inputs=1350)
    watcher.handle(result("get", "ok", "data/raw/a.JPEG", "file"))
    watcher.handle(result("get", "ok", "data/raw/b.JPEG", "file"))
    assert (watcher.progress.label, watcher.progress.done, watcher.progress.total) == (
        "fetching inputs", 2, 1350)


def test_a_rerun_of_a_range_counts_its_runs(log, clock):
    shown, _ = watch_lines("\n".join([
        result("run", "ok", "/work/ds", "dataset", "papermill ..."),
        result("run", "ok", "/work/ds", "dataset", "papermill ..."),
        result("add", "ok", "model.joblib", "file"),
        result("save", "ok", "/work/ds", "dataset"), result("save", "ok", "/work/ds", "dataset")]),
        args=("datalad", "rerun", "ready4analysis..SGD-100"))
    assert shown == ["  run(ok) x2, add(ok) model.joblib, save(ok) x2  [0.0 s]"]


def test_unknown_lines_and_errors_are_shown(log, clock):
    shown, _ = watch_lines("Switched to a new branch 'randomforest'\n"
                           + result("get", "error", "data/raw/x.JPEG", "file", "not available")
                           + "\n[ERROR] something broke\n",
                           args=("git", "checkout", "-b", "randomforest"))
    assert shown == ["Switched to a new branch 'randomforest'",
                     "get(error): data/raw/x.JPEG (file) [not available]",
                     "[ERROR] something broke"]


def test_pips_warnings_about_missing_find_links_folders_become_one_line(log, clock):
    warnings = "".join(f"WARNING: Location 'file:///opt/pypi/simple/p{i}/' is ignored: it is "
                       "neither a file nor a directory.\n" for i in range(40))
    shown, _ = watch_lines("Looking in links: /opt/wheels\n" + warnings +
                           "Collecting numpy==2.4.6\nWARNING: something pip wants you to know\n"
                           "Successfully installed numpy-2.4.6 pandas-3.1.1\n",
                           args=("pip", "install"))
    assert shown == ["WARNING: something pip wants you to know",
                     "  (pip skipped 40 find-links folder(s) of this machine's pip configuration "
                     "that do not exist)",
                     "  installed 2 package(s)  [0.0 s]"]


def test_a_failed_command_prints_its_last_lines_and_the_log(log, capsys):
    script = ("import sys\nfor i in range(40): print('[INFO] step', i)\n"
              "print('Error: boom', file=sys.stderr); sys.exit(3)")
    result = terminal.run([sys.executable, "-c", script], stdin=subprocess.DEVNULL)
    assert result.returncode == 3
    shown = capsys.readouterr().out.splitlines()
    assert shown[0] == "Error: boom"  # shown as it came, so not repeated below
    assert shown[1].startswith("  failed after") and str(log.path.name) in shown[1]
    assert shown[2:] == [f"  > [INFO] step {i}" for i in range(26, 40)]
    assert "[INFO] step 0\n" in log.path.read_text()


def test_verbose_and_captured_output_pass_through(monkeypatch):
    assert terminal.watcher(["git", "status"]) is not None
    assert terminal.watcher(["git", "status"], given={"stdout": subprocess.DEVNULL}) is not None
    assert terminal.watcher(["git", "status"], given={"capture_output": True}) is None
    assert terminal.watcher(["git", "status"], given={"stdout": subprocess.PIPE}) is None
    monkeypatch.setenv("VERBOSE", "1")
    assert terminal.watcher(["git", "status"]) is None


@pytest.mark.parametrize("found, shown", [
    ({"action": "unlock", "status": "ok", "path": "/work/ds/model.joblib", "type": "file"},
     "unlock(ok): model.joblib (file)"),
    ({"action": "save", "status": "ok", "path": "/work/ds", "type": "dataset"},
     "save(ok): . (dataset)"),
    ({"action": "add-archive-content", "status": "ok", "type": "file",
      "path": "/tmp/imagenette/imagenette2-160.tgz"},
     "add-archive-content(ok): /tmp/imagenette/imagenette2-160.tgz (file)"),
    ({"action": "get", "status": "impossible", "path": "/work/ds/data/raw/imagenette2-160/val",
      "type": "directory", "message": "path not associated with any dataset"},
     "get(impossible): data/raw/imagenette2-160/val (directory) [path not associated with any "
     "dataset]"),
    ({"action": "rerun", "status": "error", "path": "/work/ds",
      "message": ["no command for %s", "3a6d2b1"]}, "rerun(error): . [no command for 3a6d2b1]"),
])
def test_datalad_results_are_read_from_json_and_shown_as_datalad_shows_them(found, shown):
    line = json.dumps(found)
    assert terminal.result_of(line) == found
    assert terminal.render(found, "/work/ds") == shown


@pytest.mark.parametrize("line", ["  get (notneeded: 3, ok: 2709)", "get(ok): x (file)",
                                  '{"event": "cell", "index": 1, "cells": 3}', "{not json}",
                                  '{"action": "save"}'])
def test_prose_events_and_incomplete_objects_are_not_results(line):
    assert terminal.result_of(line) is None
