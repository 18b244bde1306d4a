"""Helpers shared by the tests: run commands in temporary clones as a user would.

Everything that runs datalad works on a temporary clone of this repository: run records, tags
and annexed files never touch the working checkout.

The tests test the project's committed code, whatever the checkout's dataset history holds: a
user's clone that ran `make tutorial` carries run records, tags, a branch and data/raw on top of
the code. The code under test is the newest commit before the first commit of dataset work (see
``code_commit``), checked out once per session (``project``); clones carry no tags, no other
branches and no remote."""
from __future__ import annotations

import atexit
import contextlib
import fcntl
import functools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from pipeline import declaration, process

REPO = Path(__file__).resolve().parents[1]
# What only dataset work changes: a registered container (its folder, not the committed
# .gitattributes beside it) and subdatasets such as data/raw.
DATASET_WORK_PATHS = [".gitmodules", ":(glob).datalad/environments/*/**"]
RUN_RECORD_MARKER = "^=== Do not change lines below ===$"  # datalad's run-record delimiter
CODE_PATHS = ["code", "tests", "notebooks", "stages.yaml", "ruff.toml", "Makefile",
              "requirements.txt", "environment.yml", ".ci"]
IN_CI = os.environ.get("CI", "").lower() == "true"
STAGES = declaration.names(REPO)  # stages.yaml's, in order


@contextlib.contextmanager
def flocked(path: Path, exclusive: bool = True):
    """An flock on ``path`` (made if missing) while the block runs."""
    with open(path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield


def made_once(tmp_path_factory, name: str, make) -> Path:
    """What ``make(folder)`` returns (a path), made once per test session however many
    pytest-xdist workers ask: the first makes it in the session's common temp folder while the
    others wait, then all share it (read-only: clone from it, never write to it)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the session's folder, above each worker's own
    folder, made = base / f"made-once-{name}", base / f"made-once-{name}.path"
    with flocked(base / f"made-once-{name}.lock"):
        if not made.exists():
            if folder.exists():  # a worker failed halfway: start again
                shutil.rmtree(folder)
            folder.mkdir()
            made.write_text(str(make(folder)))
        return Path(made.read_text())


def sharing(resource: str, exclusive: bool = False):
    """Hold the machine's one ``resource`` (such as the test SLURM cluster) with the other
    pytest-xdist workers: tests that use it share it, a test that stops it waits for them all
    and keeps them waiting until it has started it again."""
    return flocked(Path(tempfile.gettempdir()) / f"imageclf-tests-{resource}.lock", exclusive)


def require(condition: bool, reason: str) -> None:
    """Skip on a user's machine that lacks something; in CI a missing requirement is a failure."""
    if not condition:
        if IN_CI:
            pytest.fail(f"required in CI: {reason}")
        pytest.skip(reason)


def tool_env(clone: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment a user has after `. .venv/bin/activate` (the pipeline's own), importing
    the clone's own code."""
    env = process.tool_env()
    if clone is not None:
        env["PYTHONPATH"] = str(clone / "code")
    env.update(extra)
    return env


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (the system picked it a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sh(args: list[str], cwd: Path, check: bool = True, **extra: str) -> subprocess.CompletedProcess:
    """Run a command in a clone, capturing output (shown when it fails)."""
    result = subprocess.run(args, cwd=cwd, env=tool_env(cwd, **extra), stdin=subprocess.DEVNULL,
                            capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{args} failed ({result.returncode}):\n{result.stdout[-4000:]}\n"
                             f"{result.stderr[-4000:]}")
    return result


def git(clone: Path, *args: str) -> str:
    return sh(["git", *args], clone).stdout.strip()


def _git_lines(repo: Path, *args: str) -> list[str]:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout.split()


def dataset_work_commits(repo: Path, rev: str = "HEAD") -> set[str]:
    """Commits that are the dataset's own work, not the project's code: run records (datalad
    run, containers-run, rerun), subdatasets added (data/raw), containers registered."""
    runs = _git_lines(repo, "log", "--format=%H", f"--grep={RUN_RECORD_MARKER}", rev)
    paths = _git_lines(repo, "log", "--format=%H", rev, "--", *DATASET_WORK_PATHS)
    return set(runs) | set(paths)


def code_commit(repo: Path = REPO, rev: str = "HEAD") -> str:
    """The project's committed code: ``rev`` itself when its history holds no dataset work,
    else the parent of the oldest commit of dataset work."""
    work = dataset_work_commits(repo, rev)
    for commit in _git_lines(repo, "rev-list", "--topo-order", "--reverse", rev):
        if commit in work:
            return _git_lines(repo, "rev-parse", f"{commit}^")[0]
    return _git_lines(repo, "rev-parse", rev)[0]


def untested_code_changes(repo: Path, base: str, rev: str = "HEAD") -> list[str]:
    """Code files committed after the dataset work started: the tests do not see them."""
    return _git_lines(repo, "diff", "--name-only", base, rev, "--", *CODE_PATHS)


@functools.cache
def project() -> Path:
    """A checkout of ``code_commit()`` on branch main, made once per test session: the folder
    the tests read notebooks, params and code from, and clone."""
    scratch = Path(tempfile.mkdtemp(prefix="imageclf-code-"))
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    checkout = scratch / "project"
    fetch_commit(REPO, code_commit(), checkout)
    return checkout


def stage_definitions(folder: Path) -> Path:
    """``folder`` with what the stages are defined by (stages.yaml, the notebooks, the params
    files): enough to plan a stage's run, not to run it."""
    for name in ("notebooks", "params"):
        shutil.copytree(project() / name, folder / name)
    shutil.copy(project() / declaration.FILE, folder)
    return folder


def fetch_commit(source: Path, commit: str, target: Path) -> Path:
    """A new repository holding ``commit`` and its history as branch main, and nothing else."""
    quiet = {"check": True, "stdout": subprocess.DEVNULL, "env": tool_env()}
    subprocess.run(["git", "init", "--quiet", "--initial-branch=main", str(target)], **quiet)
    subprocess.run(["git", "fetch", "--quiet", "--no-tags", str(source), commit], cwd=target,
                   **quiet)
    subprocess.run(["git", "reset", "--quiet", "--hard", "FETCH_HEAD"], cwd=target, **quiet)
    return target


def clone_repository(target: Path) -> Path:
    """A repository with the project's committed code (what CI and users get from main): one
    branch, no tags, no remote, whatever this checkout's own dataset history holds; its annex
    initialised as `make setup` does it."""
    fetch_commit(project(), "main", target)
    subprocess.run(["git", "annex", "init", "--quiet"], cwd=target, check=True, env=tool_env(),
                   stdout=subprocess.DEVNULL)
    return target
