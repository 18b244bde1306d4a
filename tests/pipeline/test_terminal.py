import io
import subprocess
import sys

import pytest

from pipeline import terminal

# What `datalad containers-run` of the prepare stage prints (abridged from a real run).
PREPARE_OUTPUT = """\
[INFO] Making sure inputs are available (this may take some time)
get(ok): data/raw/imagenette2-160/train/n03445777/ILSVRC2012_val_00000001.JPEG (file)
get(ok): data/raw/imagenette2-160/train/n03445777/ILSVRC2012_val_00000002.JPEG (file)
get(ok): data/raw/imagenette2-160/val/n03445777/ILSVRC2012_val_00000003.JPEG (file)
[INFO] == Command start (output follows) =====
Input Notebook:  notebooks/prepare.ipynb
Output Notebook: executed/prepare.ipynb
[IPKernelApp] WARNING | Kernel is running over TCP without encryption. All communication is...
Executing notebook with kernel: python3
Executing Cell 1---------------------------------------
Ending Cell 1------------------------------------------
Executing Cell 6---------------------------------------
container: software
numpy: 2.4.6

Ending Cell 6------------------------------------------
Executing Cell 8---------------------------------------
1911 training images, 789 test images

                                            filename      label
0  data/raw/imagenette2-160/train/n03445777/ILSVR...  golf ball
Ending Cell 8------------------------------------------
Executing Cell 10--------------------------------------
loaded 500/1911 images

loaded 1911/1911 images

1911 images -> data/train.csv, data/train-pixels.npy
Ending Cell 10-----------------------------------------
Executing Cell 12--------------------------------------
<Figure size 600x160 with 1 Axes>
Ending Cell 12-----------------------------------------
[IPKernelApp] ERROR | KeyboardInterrupt caught in kernel.
cell 9: 1.8 s
[INFO] == Command exit (modification check follows) =====
run(ok): /work/ds (dataset) [python3 code/container/adapter.py run .d...]
add(ok): data/test.csv (file)
add(ok): data/train.csv (file)
add(ok): executed/prepare.ipynb (file)
save(ok): . (dataset)
action summary:
  add (ok: 3)
  get (notneeded: 4, ok: 3)
  run (ok: 1)
  save (notneeded: 1, ok: 1)
"""


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
    watcher = terminal.Watcher(list(args), out=out)
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
    assert ("get(ok): data/raw/imagenette2-160/val/n03445777/ILSVRC2012_val_00000003.JPEG (file)"
            in logged)


def test_a_rerun_of_a_range_counts_its_runs(log, clock):
    shown, _ = watch_lines("run(ok): /work/ds (dataset) [papermill ...]\n"
                           "run(ok): /work/ds (dataset) [papermill ...]\n"
                           "add(ok): model.joblib (file)\n"
                           "save(ok): . (dataset)\nsave(ok): . (dataset)\n",
                           args=("datalad", "rerun", "ready4analysis..SGD-100"))
    assert shown == ["  run(ok) x2, add(ok) model.joblib, save(ok) x2  [0.0 s]"]


def test_unknown_lines_and_errors_are_shown(log, clock):
    shown, _ = watch_lines("Switched to a new branch 'randomforest'\n"
                           "get(error): data/raw/x.JPEG (file) [not available]\n"
                           "[ERROR] something broke\n",
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
