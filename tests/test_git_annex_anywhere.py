"""code/git-annex-anywhere.sh: after set-up, plain git works in the dataset from a shell whose
PATH lacks .venv (git-annex lives only there)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import project, sh

SCRIPT = "code/git-annex-anywhere.sh"


def bare_shell(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """A command in a new shell that never activated .venv."""
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8"}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)


def test_git_works_without_the_venv_in_the_dataset_and_its_subdataset(tmp_path):
    if shutil.which("git-annex", path="/usr/bin:/bin"):
        pytest.skip("a system git-annex is on PATH: a shell without .venv has git-annex anyway")
    annex = Path(sys.executable).parent / "git-annex"
    dataset, raw = tmp_path / "ds", tmp_path / "raw"
    for path in (raw, dataset):
        sh(["datalad", "create", "-c", "text2git", str(path)], tmp_path)
    (raw / "image.bin").write_bytes(os.urandom(64))
    sh(["datalad", "save", "-m", "An annexed file"], raw)
    sh(["datalad", "clone", "-d", ".", str(raw), "data/raw"], dataset)
    (dataset / "model.bin").write_bytes(os.urandom(64))
    sh(["datalad", "save", "-m", "An annexed model"], dataset)

    # A file written since the last commit (as a run writes them) makes git run the annex filter.
    for folder in (dataset, dataset / "data/raw"):
        os.utime(folder / ".datalad/config", (1, 1))
    before = bare_shell(dataset, "git", "status")
    assert before.returncode != 0 and "git-annex" in before.stderr  # what a newcomer met
    sh([str(project() / SCRIPT), str(annex), "."], dataset)

    for args in (["git", "status", "--porcelain"], ["git", "log", "--oneline"],
                 ["git", "checkout", "-q", "-b", "x"], ["git", "checkout", "-q", "-"],
                 ["git", "annex", "find", "model.bin"]):
        done = bare_shell(dataset, *args)
        assert done.returncode == 0, (args, done.stderr)
        assert "not found" not in done.stderr
    assert bare_shell(dataset, "git", "status", "--porcelain").stdout == ""
    assert bare_shell(dataset, "git", "annex", "find", "model.bin").stdout.strip() == "model.bin"
    assert bare_shell(raw.parent / "ds/data/raw", "git", "status", "--porcelain").returncode == 0
    (dataset / "notes.txt").write_text("a new text file goes through the annex filter\n")
    assert bare_shell(dataset, "git", "add", "notes.txt").returncode == 0
    committed = bare_shell(dataset, "git", "commit", "-q", "-m", "notes")  # runs the hook
    assert committed.returncode == 0

    # A clone carries none of this machine's paths.
    clone = tmp_path / "clone"
    sh(["datalad", "clone", str(dataset), str(clone)], tmp_path)
    assert str(annex) not in (clone / ".git/config").read_text()
