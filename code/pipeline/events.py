"""Events: what one part of the pipeline tells another, as JSON lines, never as prose to parse.

An event is one JSON object on one line with an ``event`` key saying what happened:

- ``cell`` (``index``, ``cells``): a stage's notebook starts a cell. The papermill engine
  (code/papermill_stable) writes these to its stderr; the terminal's progress bar reads them.
- ``command`` (``job``, ``phase``, ``args``, ``cwd``, ``seconds``, ``exit``) and ``outcome``
  (``name``, ``ok``, ``seconds``, ``stage_seconds``, ``accuracy``, ``log``, ``message``): a
  sweep job's commands and its end, in the job's stream ``LOGS/JOB.jsonl`` (sweep/shell.py).
  The sweep's summary, its SLURM follower and the benchmark read them.

Datalad's own outcomes come as its JSON results (``datalad -f json``), read by terminal.py.
Standard library only, like process.py.
"""
from __future__ import annotations

import json
import threading
from pathlib import Path

SUFFIX = "jsonl"
KEY = "event"
# Set in the environment of every command the pipeline runs (process.tool_env): the papermill
# engine reports cells only then, so that a papermill run typed by hand prints no JSON.
SWITCH = "IMAGECLF_EVENTS"


def line(kind: str, **fields) -> str:
    """One event as the line that carries it (no newline)."""
    return json.dumps({KEY: kind, **fields}, ensure_ascii=False, separators=(",", ":"))


def parse(text: str) -> dict | None:
    """The event a line of output carries, or None for any other line."""
    text = text.strip()
    if not (text.startswith("{") and text.endswith("}")):
        return None
    try:
        found = json.loads(text)
    except ValueError:
        return None
    return found if isinstance(found, dict) and isinstance(found.get(KEY), str) else None


class EventLog:
    """Appends events to a file, one line each, flushed at once (a reader on another node sees
    whole lines; a partial last line is skipped by :func:`read`). Safe from several threads."""

    def __init__(self, path: Path, truncate: bool = False) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = path.open("w" if truncate else "a", encoding="utf-8")
        self._guard = threading.Lock()

    def emit(self, kind: str, **fields) -> None:
        with self._guard:
            self._file.write(line(kind, **fields) + "\n")
            self._file.flush()

    def close(self) -> None:
        self._file.close()


def read(path: Path, kind: str | None = None) -> list[dict]:
    """The events in a file (of ``kind`` only, if given); [] when there is none yet."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    found = [parse(entry) for entry in text.splitlines()]
    return [event for event in found if event and (kind is None or event[KEY] == kind)]


def last(path: Path, kind: str) -> dict | None:
    """The last event of ``kind`` in a file, or None."""
    found = read(path, kind)
    return found[-1] if found else None
