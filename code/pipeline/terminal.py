"""What the terminal shows of a command the pipeline runs, and where the rest goes.

The terminal reads as a lesson: each command as typed (commands.print_command), the lines that
teach (what the notebook found, errors, git's own answers), one progress bar for long steps and
a one-line outcome with the time. Everything a command printed goes, in full, to a log file
under the dataset's .git/ (never committed, never seen by datalad status), named at the end; a
failed command prints the log's last lines with the error. ``VERBOSE=1`` passes everything
through.

What happened is read as data, not from prose: a datalad command runs with ``-f json``, so its
outcome is counted from its JSON results, and a stage's notebook reports its cells as events
(events.py). Only the other tools' text (pip, podman, debootstrap) is matched (output_lines.py).

Needs tqdm and the standard library: the Makefile runs it with .venv's python before the
project's packages are installed (``.venv/bin/python code/pipeline/terminal.py -- COMMAND...``).
"""
from __future__ import annotations

import atexit
import collections
import contextlib
import json
import os
import queue
import re
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

try:
    from . import events
    from .errors import EXIT_USAGE
    from .output_lines import (DATALAD_INFO, MISSING_FIND_LINKS, NOISE, NOTEBOOK_SHOWS,
                               PIP_INSTALLED, PROGRESS)
    from .progress import ProgressLine
except ImportError:  # run as a script by the Makefile, before the project's code is importable
    import events
    from errors import EXIT_USAGE
    from output_lines import (DATALAD_INFO, MISSING_FIND_LINKS, NOISE, NOTEBOOK_SHOWS,
                              PIP_INSTALLED, PROGRESS)
    from progress import ProgressLine

LOG_FOLDER = "imageclf-logs"
TAIL_LINES = 15


def verbose() -> bool:
    return os.environ.get("VERBOSE", "") not in ("", "0")


class SessionLog:
    """One log file per process, under the git folder of the dataset it runs in."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self.path: Path | None = None
        self._file = None

    def _open(self) -> None:
        folder = self.folder
        if folder is None:
            found = subprocess.run(["git", "rev-parse", "--absolute-git-dir"], capture_output=True,
                                   text=True)
            in_git = found.returncode == 0
            folder = (Path(found.stdout.strip()) if in_git else Path(tempfile.gettempdir()))
            folder = folder / LOG_FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        command = sys.argv[1] if len(sys.argv) > 1 else "pipeline"
        name = os.environ.get("IMAGECLF_LOG_NAME") or command
        name = re.sub(r"[^\w.-]", "", name)
        self.path = folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{name}-{os.getpid()}.log"
        self._file = self.path.open("a", encoding="utf-8", errors="replace")
        atexit.register(self.close)

    def write(self, text: str) -> None:
        if self._file is None:
            self._open()
        self._file.write(text)
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            with contextlib.suppress(ValueError, OSError):  # a notebook kernel's stdout may be gone
                print(f"(full output of every command: {display_path(self.path)})", flush=True)


def display_path(path: Path) -> str:
    with_cwd = os.path.relpath(path)
    return with_cwd if not with_cwd.startswith("..") else str(path)


LOG = SessionLog()


def is_datalad(args: list[str]) -> bool:
    return bool(args) and Path(args[0]).name == "datalad"


def as_json(args: list[str]) -> list[str]:
    """A datalad command with its results as JSON lines (``-f json``), as the watcher reads
    them; the command is shown as the reader types it, without this."""
    return [args[0], "-f", "json", *args[1:]] if is_datalad(args) else list(args)


def result_of(line: str) -> dict | None:
    """A datalad result (``-f json``): a JSON object with an action and a status."""
    line = line.strip()
    if not (line.startswith("{") and line.endswith("}")):
        return None
    try:
        found = json.loads(line)
    except ValueError:
        return None
    return found if isinstance(found, dict) and "action" in found and "status" in found else None


def message_of(result: dict) -> str:
    """A result's message: datalad gives a string or ``[format, arguments...]``."""
    message = result.get("message")
    if isinstance(message, (list, tuple)) and message:
        try:
            return str(message[0]) % tuple(message[1:])
        except (TypeError, ValueError):
            return " ".join(map(str, message))
    return str(message) if message else ""


def render(result: dict, cwd=None) -> str:
    """A result as datalad's own renderer shows it: ``get(ok): PATH (file) [message]``."""
    path = result.get("path") or ""
    if cwd and os.path.isabs(path):
        relative = os.path.relpath(path, cwd)
        path = relative if not relative.startswith("..") else path
    kind = f" ({result['type']})" if result.get("type") else ""
    message = message_of(result)
    return (f"{result['action']}({result['status']}): {path}{kind}"
            + (f" [{message}]" if message else ""))


class Watcher:
    """Reads a running command's output line by line: log, filter, progress, outcome."""

    def __init__(self, args: list[str], cwd=None, quiet: bool = False, out=None,
                 inputs: int | None = None) -> None:
        """``inputs``: how many files the command's ``get`` will report (the caller knows)."""
        self.args, self.cwd, self.quiet, self.inputs = list(args), cwd, quiet, inputs
        self.command = as_json(self.args)  # what runs: datalad's results as JSON lines
        self.out = out or sys.stdout
        self.progress = ProgressLine(self.out)
        self.tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self.results: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self.in_cell = False
        self.missing_find_links = 0
        self.installed = 0  # packages pip reports as installed
        self.started = time.monotonic()

    def popen_kwargs(self, given: dict) -> dict:
        """The caller's Popen arguments with the output this watcher reads piped to it."""
        stream = {"stderr": subprocess.PIPE} if "stdout" in given else {
            "stdout": subprocess.PIPE, "stderr": subprocess.STDOUT}
        return {**given, **stream, "text": True, "errors": "replace", "bufsize": 1}

    def follow(self, started: subprocess.Popen) -> tuple[None, None]:
        """Handle the output until the command ends; print the outcome (or the log's tail)."""
        stream = started.stdout if started.stdout is not None else started.stderr
        LOG.write(f"\n$ {shlex.join(self.args)}\n")
        lines: queue.Queue = queue.Queue()

        def read() -> None:
            for line in stream:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=read, daemon=True).start()
        while True:
            try:
                line = lines.get(timeout=ProgressLine.REDRAW)
            except queue.Empty:
                self.progress.tick()
                continue
            if line is None:
                break
            self.handle(line.rstrip("\n"))
        started.wait()
        self.finish(started.returncode)
        return None, None

    def show(self, line: str, original: str | None = None) -> None:
        if self.tail and self.tail[-1] == (original or line):
            self.tail.pop()
        self.progress.clear()
        print(line, file=self.out, flush=True)

    def handle(self, line: str) -> None:
        result = result_of(line)
        if result is not None:  # the log and the tail keep it as datalad would have shown it
            line = render(result, self.cwd)
        LOG.write(line + "\n")
        self.tail.append(line)  # shown lines leave it again: the tail adds only what was hidden
        if result is not None:
            self.record(result, line)
            return
        event = events.parse(line)
        if event is not None:
            self.on_event(event)
            return
        if self.quiet or not line.strip():
            return
        for pattern, label, unit in PROGRESS:
            found = pattern.search(line)
            if found:
                numbers = [int(n) for n in found.groups() if n and n.isdigit()]
                if label.startswith("pip: installing"):  # pip names every package on one line
                    count = line.count(",") + 1
                    self.progress.update(f"pip: installing {count} package{'s' * (count > 1)}")
                elif numbers:
                    total = numbers[1] if len(numbers) > 1 else None
                    self.progress.update(label, numbers[0], total, unit)
                else:
                    self.progress.update(label, unit=unit)
                return
        info = DATALAD_INFO.match(line)
        if info:  # what datalad says it is doing: the progress bar's label until the next one
            self.progress.update(re.sub(r"\s*\(.*\)$", "", info.group(1)).rstrip(". ")[:60])
            return
        installed = PIP_INSTALLED.match(line)
        if installed:
            self.installed += len(installed.group(1).split())
            return
        if MISSING_FIND_LINKS.match(line):
            self.missing_find_links += 1
            return
        if self.in_cell:
            if NOTEBOOK_SHOWS.search(line):
                self.show(f"  | {line}", line)
            return
        if not NOISE.match(line):
            self.show(line)

    def on_event(self, event: dict) -> None:
        """A stage's notebook reports its cells (code/papermill_stable)."""
        if event["event"] == "cell":
            self.in_cell = True
            if not self.quiet:
                self.progress.update("running the notebook", int(event["index"]) + 1,
                                     event.get("cells"), "cells", even=False)
        elif event["event"] == "cell-done":
            self.in_cell = False

    def record(self, result: dict, shown: str) -> None:
        action, status = result["action"], result["status"]
        self.results.setdefault((action, status), []).append(
            (result.get("path") or "", result.get("type") or ""))
        if self.quiet:
            return
        if status in ("impossible", "error"):
            self.show(shown)
        elif action == "get" and status == "ok":
            self.progress.update("fetching inputs", total=self.inputs, unit="files")
        elif action in ("run", "rerun"):  # the notebook is done; datalad saves
            self.progress.update("saving the results")

    def outcome(self) -> str:
        parts = []
        for (action, status), found in self.results.items():
            if status == "notneeded" or status in ("impossible", "error"):
                continue
            kinds = {kind for _, kind in found}
            if len(found) == 1:
                path, kind = found[0]
                path = os.path.relpath(path, self.cwd or ".") if os.path.isabs(path) else path
                named = "" if kind == "dataset" or path == "." else f" {path}"
                parts.append(f"{action}({status}){named}")
            else:
                noun = (kinds.pop() if len(kinds) == 1 else "item") or "item"
                # several results for the dataset itself (a rerun of a range): say how many times
                count = f"x{len(found)}" if noun == "dataset" else f"{len(found)} {noun}s"
                parts.append(f"{action}({status}) {count}")
        return ", ".join(parts)

    def finish(self, returncode: int) -> None:
        self.progress.finish()
        elapsed = time.monotonic() - self.started
        if returncode != 0:
            LOG.write(f"(exit code {returncode})\n")
            self.show(f"  failed after {elapsed:.1f} s; the last lines it printed that were not "
                      f"shown (full output: {display_path(LOG.path)}):")
            for line in list(self.tail):
                self.show(f"  > {line}")
            return
        if self.missing_find_links and not self.quiet:
            self.show(f"  (pip skipped {self.missing_find_links} find-links folder(s) of this "
                      "machine's pip configuration that do not exist)")
        installed = f"installed {self.installed} package(s)" if self.installed else ""
        summary = self.outcome() or installed
        if not self.quiet and (summary or elapsed >= 3):
            self.show(f"  {summary or 'done'}  [{elapsed:.1f} s]")


def watcher(args: list[str], cwd=None, quiet: bool = False, given: dict | None = None,
            inputs: int | None = None) -> Watcher | None:
    """A Watcher for this command, or None when its output should pass through unchanged:
    with VERBOSE=1, or when the caller captures the output itself."""
    given = given or {}
    captured = (given.get("capture_output") or "stderr" in given
                or given.get("stdout", subprocess.DEVNULL) != subprocess.DEVNULL)
    if verbose() or captured:
        return None
    return Watcher(args, cwd, quiet, inputs=inputs)


def run(args: list[str], **popen_kwargs) -> subprocess.CompletedProcess:
    """subprocess.run with the output watched (or passed through, see :func:`watcher`)."""
    watch = watcher(args, popen_kwargs.get("cwd"), given=popen_kwargs)
    if watch is None:
        return subprocess.run(args, **popen_kwargs)
    started = subprocess.Popen(watch.command, **watch.popen_kwargs(popen_kwargs))
    watch.follow(started)
    return subprocess.CompletedProcess(args, started.returncode)


def main(argv: list[str]) -> int:
    """``terminal.py -- COMMAND...``: show, run and watch one command (the Makefile's pip)."""
    if not argv or argv[0] != "--" or len(argv) < 2:
        print("usage: python3 code/pipeline/terminal.py -- COMMAND [ARGS...]", file=sys.stderr)
        return EXIT_USAGE
    command = argv[1:]
    if not verbose():
        print(f"$ {shlex.join(command)}", flush=True)
    return run(command, stdin=subprocess.DEVNULL).returncode


if __name__ == "__main__":
    os.environ.setdefault("IMAGECLF_LOG_NAME", "setup")
    sys.exit(main(sys.argv[1:]))
