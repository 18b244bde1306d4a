"""The outcome of each command of ours that writes to a dataset, as one JSON line in .git.

The history holds what succeeded; a failed or interrupted run leaves no commit (recovery undoes
it). So that an instructor can see a participant's last run and its error (``workshop status``)
without parsing printed text, ``python -m pipeline`` appends one line per writing command to
``.git/imageclf-logs/outcomes.jsonl``: a ``command-outcome`` event (pipeline/events.py) with the
command, when it ended, its exit code and, if it failed, its error message.
"""
from __future__ import annotations

import time
from pathlib import Path

from . import events, lock
from .terminal import LOG_FOLDER

# Commands that write to the dataset: each holds its lock (one writer per dataset; a sweep takes
# it for each of its writes) and has its outcome recorded. Here, not in cli: recording must not
# import cli's heavy modules again after a Ctrl-C cut their first import short.
WRITERS = {"data", "container", "run", "tutorial", "verify", "overhead"}
FILE_NAME = f"outcomes.{events.SUFFIX}"
EVENT = "command-outcome"
_error = {"message": ""}  # the message cli.fail() printed, for the record


def note_error(message: object) -> None:
    _error["message"] = str(message)


def path(root: Path) -> Path:
    return lock.git_dir(root) / LOG_FOLDER / FILE_NAME


def record(root: Path, argv: list[str], exit_code: int) -> None:
    """Append this command's outcome; never fails the command itself."""
    try:
        log = events.EventLog(path(root))
        log.emit(EVENT, command=["python", "-m", "pipeline", *argv], ended=round(time.time(), 3),
                 exit=exit_code, error=_error["message"] if exit_code else "")
        log.close()
    except OSError:
        pass


def record_command(argv: list[str], exit_code: int) -> None:
    """Record the outcome of ``python -m pipeline ARGV`` if it is a command that writes."""
    from imageclf.project import NotInDataset, find_root

    if not argv or argv[0] not in WRITERS:
        return
    try:
        record(find_root(), argv, exit_code)
    except NotInDataset:
        pass


def last(root: Path) -> dict | None:
    """The newest outcome recorded in the dataset at ``root``, or None (a line a full disk cut
    short is skipped)."""
    return events.last(path(root), EVENT)
