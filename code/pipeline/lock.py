"""One writer per dataset: every command of ours that writes to a dataset holds its lock.

The lock is an ``flock`` on ``.git/imageclf.lock``; the file names its holder (pid, command,
start time) so that a second command can say whom it waits for. The lock's file descriptor is
handed to the datalad child of a run (``commands.run`` passes :func:`held_fds`): if our own
process is killed, the orphaned ``datalad run`` keeps the lock until it ends, and the next
command waits for it instead of writing beside it.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shlex
import sys
import time
from pathlib import Path

from .errors import EXIT_BUSY, PipelineError

LOCK_NAME = "imageclf.lock"

_held: dict[Path, int] = {}  # lock file -> descriptor, for the commands this process runs


class DatasetBusy(PipelineError):
    """Another command holds the dataset's lock and we were told not to wait."""

    exit_code = EXIT_BUSY


def git_dir(root: Path) -> Path:
    """The dataset's git directory (``.git`` is a file pointing elsewhere in a worktree)."""
    dot_git = root / ".git"
    if dot_git.is_file():
        target = dot_git.read_text().strip().removeprefix("gitdir:").strip()
        return (root / target).resolve()
    return dot_git


def lock_path(root: Path) -> Path:
    return git_dir(root) / LOCK_NAME


def describe_holder(path: Path) -> str:
    """'pid 123 (`python -m pipeline run train`, since 05:40:01 UTC)', from the lock file."""
    try:
        holder = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        holder = {}
    if not holder:
        return "another command"
    alive = _alive(holder.get("pid", 0))
    since = time.strftime("%H:%M:%S UTC", time.gmtime(holder.get("started", 0)))
    text = f"pid {holder.get('pid')} (`{holder.get('command', '?')}`, since {since})"
    if not alive:  # its datalad child inherited the lock and is still writing
        text += ", whose process is gone while the datalad command it started still runs"
    return text


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid > 0


def hold(root: Path, command: str | None = None, wait: bool = True):
    """Hold the dataset's lock for the block; re-entrant within one process.

    A second command waits (printing one line naming the holder) or, with ``wait=False``,
    raises :class:`DatasetBusy`.
    """
    return hold_file(lock_path(root), command, wait)


@contextlib.contextmanager
def hold_file(path: Path, command: str | None = None, wait: bool = True,
              what: str = "this dataset"):
    """The lock itself, on any file (also one beside a dataset that does not exist yet)."""
    if path in _held:
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = describe_holder(path)
            if not wait:
                raise DatasetBusy(
                    f"Another command is writing to {what}: {holder}. Wait for it to end, "
                    "or run again without --no-wait to wait for it automatically.") from None
            print(f"Waiting for {holder} to finish writing to {what}...", file=sys.stderr,
                  flush=True)
            fcntl.flock(fd, fcntl.LOCK_EX)
        who = {"pid": os.getpid(), "command": command or shlex.join(["python", "-m", "pipeline",
                                                                     *sys.argv[1:]]),
               "started": time.time()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(who).encode(), 0)
        _held[path] = fd
        try:
            yield
        finally:
            del _held[path]
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the lock unless a child still holds a copy of the descriptor


def held_fds() -> tuple[int, ...]:
    """Descriptors of the locks this process holds, for a child that must keep holding them."""
    return tuple(_held.values())
