"""Recovery undoes what a run changed and nothing else, and reads from the history whether the
run was recorded."""
import json
import subprocess

import pytest

from helpers import tool_env
from pipeline import recovery


def git(root, *args):
    return subprocess.run(["git", *args], cwd=root, env=tool_env(), check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def root(tmp_path):
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "t@example.org")
    git(tmp_path, "config", "user.name", "t")
    (tmp_path / ".gitignore").write_text("results/\nexecuted/failed/\n")
    (tmp_path / "executed").mkdir()
    (tmp_path / "model.joblib").write_text("committed model\n")
    (tmp_path / "executed/train.ipynb").write_text("committed notebook\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "start")
    (tmp_path / "results").mkdir()
    (tmp_path / "results/keep.txt").write_text("not in any commit\n")
    return tmp_path


OUTPUTS = ["model.joblib", "results/keep.txt", "new;file {x}.json", "executed/train.ipynb"]


def test_a_failed_run_is_undone_and_untracked_files_it_found_survive(root):
    state = recovery.begin(root, "train", "executed/train.ipynb", OUTPUTS, "executed/failed")
    assert json.loads(recovery.marker_path(root).read_text())["existed"] == [
        "model.joblib", "results/keep.txt", "executed/train.ipynb"]
    (root / "model.joblib").write_text("half-written\n")
    git(root, "add", "model.joblib")  # as if stopped between `git annex add` and the commit
    (root / "new;file {x}.json").write_text("{}")
    (root / "executed/train.ipynb").write_text("up to the failing cell\n")

    commit, kept = recovery.settle(root, state)

    assert commit is None and kept == "executed/failed/train.ipynb"
    assert (root / kept).read_text() == "up to the failing cell\n"
    assert (root / "model.joblib").read_text() == "committed model\n"
    assert not (root / "new;file {x}.json").exists()
    assert (root / "results/keep.txt").read_text() == "not in any commit\n"
    assert git(root, "status", "--porcelain") == ""


def test_a_run_recorded_before_the_interrupt_is_reported_as_recorded(root):
    state = recovery.begin(root, "train", "executed/train.ipynb", OUTPUTS, "executed/failed")
    (root / "model.joblib").write_text("new model\n")
    record = {"cmd": "papermill ...", "outputs": ["model.joblib", "executed/train.ipynb"],
              "inputs": [], "exit": 0, "pwd": ".", "chain": [], "extra_inputs": [], "dsid": "x"}
    message = ("[DATALAD RUNCMD] Train\n\n=== Do not change lines below ===\n"
               f"{json.dumps(record)}\n^^^ Do not change lines above ^^^")
    git(root, "commit", "-qam", message)

    commit, kept = recovery.settle(root, state)

    assert commit == git(root, "rev-parse", "HEAD") and kept is None
    assert (root / "model.joblib").read_text() == "new model\n"


def test_the_next_command_settles_a_run_whose_command_was_killed(root, capsys):
    recovery.begin(root, "train", "executed/train.ipynb", OUTPUTS, "executed/failed")
    (root / "model.joblib").write_text("orphan's partial write\n")
    recovery.recover_unfinished(root)
    assert "was not recorded; its outputs are back to the last commit" in capsys.readouterr().out
    assert (root / "model.joblib").read_text() == "committed model\n"
    assert recovery.unfinished(root) is None


def test_an_index_lock_left_by_the_run_is_removed_an_older_one_kept(tmp_path):
    import os
    git_dir = tmp_path / ".git"
    git_dir.mkdir()
    marker = recovery.marker_path(tmp_path)
    marker.write_text("{}")
    index_lock = git_dir / "index.lock"
    index_lock.write_text("")
    os.utime(index_lock, (marker.stat().st_mtime - 60,) * 2)  # older than the run: someone else's
    recovery.clear_stale_index_lock(tmp_path)
    assert index_lock.exists()
    os.utime(index_lock, (marker.stat().st_mtime + 1,) * 2)  # made during the run
    recovery.clear_stale_index_lock(tmp_path)
    assert not index_lock.exists()
