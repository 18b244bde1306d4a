"""Every containers-run holds the dataset's lock (pipeline/lock.py), also one typed by hand.

The adapter takes the lock before it touches the dataset. Three cases:

- free: it takes it and names as holder the ``datalad containers-run`` (or ``rerun``) that
  called it. datalad saves the outputs after the adapter returns, so the lock is handed to a
  small keeper process that holds it until that datalad process ends;
- held by a command that called us: ``python -m pipeline run`` holds the lock and hands its
  descriptor to its datalad child, which our adapter descends from (datalad closes it for its
  own children); or the keeper of an earlier command of the same ``datalad rerun`` holds it for
  that datalad. The adapter goes on, under it;
- held by anyone else: it prints one line naming the holder and waits, as our commands do. If
  the holder committed meanwhile, the run stops there: datalad refuses to record a run across
  another command's commit ("command created commits that include files not declared as
  --output"), so the container is not started and the user is told to run it again.

Standard library only: the adapter (adapter.py) runs with any python3.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

from pipeline import lock
from pipeline.errors import PipelineError


class CommittedMeanwhile(PipelineError):
    """Another command committed while a containers-run waited for the lock."""


def current_commit(root: Path) -> str:
    done = subprocess.run(["git", "-c", "safe.directory=*", "rev-parse", "--verify", "-q", "HEAD"],
                          cwd=root, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return done.stdout.strip()


def parent_of(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def ancestors(pid: int | None = None) -> list[int]:
    found, pid = [], parent_of(pid or os.getpid())
    while pid > 1 and pid not in found:
        found.append(pid)
        pid = parent_of(pid)
    return found


def command_line(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def datalad_caller() -> tuple[int, list[str]] | None:
    """The nearest ancestor that is a datalad command (``.../datalad containers-run ...``), and
    its arguments from ``datalad`` on."""
    for pid in ancestors():
        args = command_line(pid)
        for index, arg in enumerate(args[:2]):
            if os.path.basename(arg) == "datalad":
                return pid, ["datalad", *args[index + 1:]]
    return None


def has_open(pid: int, target: os.stat_result) -> bool:
    folder = f"/proc/{pid}/fd"
    try:
        fds = os.listdir(folder)
    except OSError:
        return False
    for fd in fds:
        try:
            status = os.stat(f"{folder}/{fd}")
        except OSError:
            continue
        if (status.st_dev, status.st_ino) == (target.st_dev, target.st_ino):
            return True
    return False


def held_by_caller(path: Path) -> bool:
    """The lock is held for a process we descend from: an ancestor has the lock file open (only
    a holder can have started anything; a waiter blocks in flock), or the lock file names an
    ancestor as its holder (the keeper of an earlier command of the same ``datalad rerun``)."""
    chain = ancestors()
    try:
        named = json.loads(path.read_text() or "{}").get("pid")
    except (OSError, ValueError, AttributeError):
        named = None
    target = path.stat()
    return named in chain or any(has_open(pid, target) for pid in chain)


def describe(fd: int, pid: int, args: list[str]) -> None:
    text = shlex.join(args)
    who = {"pid": pid, "command": text if len(text) <= 160 else text[:157] + "...",
           "started": time.time()}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(who).encode(), 0)


def keep_until_exit(fd: int, pid: int) -> bool:
    """Fork a keeper that holds the lock (a copy of ``fd``) until process ``pid`` ends; False if
    ``pid`` has ended already."""
    try:
        watched = os.pidfd_open(pid)
    except (OSError, AttributeError):  # gone already, or no pidfd (Linux < 5.3): poll /proc
        watched = None
        if not os.path.exists(f"/proc/{pid}"):
            return False
    if os.fork():
        if watched is not None:
            os.close(watched)
        return True
    try:  # the keeper: no terminal, no pipe of datalad's kept open, only the lock
        os.setsid()
        for signum in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)
        null = os.open(os.devnull, os.O_RDWR)
        for std in (0, 1, 2):
            os.dup2(null, std)
        start = 3
        for kept_fd in sorted({fd, watched} - {None}):
            os.closerange(start, kept_fd)
            start = kept_fd + 1
        os.closerange(start, os.sysconf("SC_OPEN_MAX"))
        if watched is not None:
            select.select([watched], [], [])
        else:
            while os.path.exists(f"/proc/{pid}"):
                time.sleep(0.1)
        os.ftruncate(fd, 0)
    finally:
        os._exit(0)


@contextlib.contextmanager
def held(root: Path, adapter_args: list[str]):
    """The dataset's lock for a containers-run, as described above."""
    path = lock.lock_path(root)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    kept = False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if held_by_caller(path):
                os.close(fd)
                fd = None
            else:
                holder, head = lock.describe_holder(path), current_commit(root)
                print(f"Waiting for {holder} to finish writing to this dataset...",
                      file=sys.stderr, flush=True)
                fcntl.flock(fd, fcntl.LOCK_EX)
                if current_commit(root) != head:
                    raise CommittedMeanwhile(
                        f"While this containers-run waited, {holder} committed to the dataset, "
                        "and datalad records a run only on the commit it started from. Nothing "
                        "was run: run the same command again.")
        if fd is None:
            yield
            return
        caller = datalad_caller()
        describe(fd, *(caller or (os.getpid(), ["python3", *adapter_args])))
        yield
        kept = caller is not None and keep_until_exit(fd, caller[0])
    finally:
        if fd is not None:
            if not kept:
                os.ftruncate(fd, 0)
            os.close(fd)
