"""After a failed or interrupted run: find out from the repository what happened, and undo
only what the run changed.

Before datalad starts, a marker in .git (``imageclf-run.json``) records the commit the run
starts from, its outputs and which of them existed. The run's own handler settles the run
and removes the marker; if our process was killed instead, the next command of ours finds the
marker (after waiting for the lock the orphaned datalad kept) and settles the run itself.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from container import grant, sandbox

from . import commands, history, lock, process
from .git import git

MARKER = "imageclf-run.json"


@dataclass
class RunState:
    """What recovery needs to know about a run, written down before it starts."""

    stage: str
    head: str
    executed: str
    outputs: list[str]
    tracked: list[str]  # outputs in the start commit: git can bring them back
    existed: list[str]  # outputs on disk at the start: never deleted
    failed_dir: str  # git-ignored folder where a failed run's notebook is kept
    what: str = ""  # how messages name the run: "stage STAGE" unless given

    def name(self) -> str:
        return self.what or f"stage {self.stage}"


def marker_path(root: Path) -> Path:
    return lock.git_dir(root) / MARKER


def begin(root: Path, stage: str, executed: str, outputs: list[str], failed_dir: str,
          what: str = "") -> RunState:
    """Write down the run about to start. ``executed`` is the notebook whose record in HEAD
    means the run was recorded (for a rerun of several records: the last one's)."""
    tracked = [path for path in outputs if is_tracked(root, path)]
    existed = [path for path in outputs if (root / path).exists() or (root / path).is_symlink()]
    state = RunState(stage, git(root, "rev-parse", "HEAD"), executed, outputs, tracked,
                     existed, failed_dir, what)
    marker_path(root).write_text(json.dumps(asdict(state)))
    return state


def end(root: Path) -> None:
    marker_path(root).unlink(missing_ok=True)


def is_tracked(root: Path, relative: str) -> bool:
    return bool(git(root, "ls-files", "--error-unmatch", "--", literal(relative)))


def literal(relative: str) -> str:
    """A pathspec that matches this one path, whatever characters it holds."""
    return f":(literal){relative}"


def recorded_commit(root: Path, state: RunState) -> str | None:
    """The run's record, when HEAD moved from the start commit to a run record that declares
    this stage's executed notebook as an output (datalad committed before the interrupt)."""
    head = git(root, "rev-parse", "HEAD")
    if head == state.head:
        return None
    record = history.run_record(root, head) or {}
    return head if state.executed in record.get("outputs", []) else None


def settle(root: Path, state: RunState) -> tuple[str | None, str | None]:
    """Leave the dataset clean after a run that did not end normally.

    Returns (the run's commit if datalad recorded it, where the failed notebook is kept).
    """
    clear_stale_index_lock(root)
    commit = recorded_commit(root, state)
    kept = None if commit else keep_failed_notebook(root, state)
    restore_outputs(root, state)
    return commit, kept


def clear_stale_index_lock(root: Path) -> None:
    """A git that the interrupt stopped mid-write leaves .git/index.lock, and every later git
    command refuses to run. Settling happens after the run's processes are gone, with the
    dataset's lock held: a lock file newer than the run's marker is the run's own leftover."""
    index_lock = lock.git_dir(root) / "index.lock"
    try:
        if index_lock.stat().st_mtime >= marker_path(root).stat().st_mtime:
            index_lock.unlink()
    except OSError:
        pass  # no index lock, or no marker to date it by: leave it


def keep_failed_notebook(root: Path, state: RunState) -> str | None:
    """Move the executed notebook this run wrote (not the committed one) to the failed folder."""
    executed = root / state.executed
    written = git(root, "status", "--porcelain", "--", literal(state.executed))
    if not (executed.is_file() and not executed.is_symlink() and written):
        return None
    target = root / state.failed_dir / executed.name
    target.parent.mkdir(parents=True, exist_ok=True)
    executed.replace(target)
    return target.relative_to(root).as_posix()


def restore_outputs(root: Path, state: RunState) -> None:
    """Every output back to the last commit (annexed ones locked again); files the run created
    are removed. A file that existed before the run and is not tracked is never touched (the
    checks refuse such outputs, this is the second line)."""
    for output in state.outputs:
        path = root / output
        # Unstage first: datalad may have been stopped between `git annex add` and its commit,
        # and an unlocked annexed file shows as a staged typechange until reset.
        git(root, "reset", "-q", "HEAD", "--", literal(output))
        if is_tracked_in_head(root, output):
            commands.run(["git", "checkout", "HEAD", "--", literal(output)], cwd=root, quiet=True)
        elif output in state.tracked:
            continue  # tracked at the start, gone from HEAD: not ours to touch
        elif (path.is_file() or path.is_symlink()) and output not in state.existed:
            path.unlink()


def is_tracked_in_head(root: Path, relative: str) -> bool:
    return bool(git(root, "rev-parse", "--verify", "--quiet", f"HEAD:{relative}"))


def unfinished(root: Path) -> RunState | None:
    """The run a killed command of ours left behind (call with the dataset's lock held)."""
    path = marker_path(root)
    if not path.exists():
        return None
    try:
        return RunState(**json.loads(path.read_text()))
    except (ValueError, TypeError):
        path.unlink()
        return None


def recover_unfinished(root: Path, previous: bool = True) -> None:
    """Settle a run whose command was killed (``previous``) or stopped between our own steps,
    and say what the history holds."""
    revoke_grant(root)
    state = unfinished(root)
    if state is None:
        return
    with process.shielded():
        commit, kept = settle(root, state)
        end(root)
    which = (f"The previous run of {state.name()}, whose command was stopped," if previous
             else f"This run of {state.name()}")
    if commit:
        subject = git(root, "log", "-1", "--format=%s", commit)
        print(f"notice: {which} was recorded after all: commit {commit[:8]} ({subject}).",
              flush=True)
    else:
        print(f"notice: {which} was not recorded; its outputs are back to the last commit"
              + (f" (its notebook is kept at {kept})" if kept else "") + ".", flush=True)


def revoke_grant(root: Path) -> None:
    """A container run killed as root leaves its outputs with the run's id (container/grant.py):
    hand them back before anything else touches them."""
    if os.name == "posix" and os.getuid() == 0:
        sandbox.remove_ignored(root, grant.revoke(root))


def where_things_stand(root: Path) -> str:
    """One sentence on the dataset's state: its commit, and whether anything is unsaved."""
    head = git(root, "log", "-1", "--format=%h (%s)")
    changed = git(root, "status", "--porcelain")
    if changed:
        return (f"The dataset is at commit {head} with unsaved changes: "
                f"{', '.join(changed.splitlines())}.")
    return f"The dataset is clean at commit {head}."
