"""What the terminal shows of a command the pipeline runs, and where the rest goes.

The terminal reads as a lesson: each command as typed (commands.print_command), the lines that teach
(what the notebook found, errors, git's own answers), one progress line for long steps and a
one-line outcome with the time. Everything a command printed goes, in full, to a log file under
the dataset's .git/ (never committed, never seen by datalad status), named at the end; a failed
command prints the log's last lines with the error. ``VERBOSE=1`` passes everything through.

Standard library only: the Makefile runs it with any python3 before .venv exists
(``python3 code/pipeline/terminal.py -- COMMAND...``).
"""
from __future__ import annotations

import atexit
import collections
import contextlib
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
    from .errors import EXIT_USAGE
    from .output_lines import (CELL_START, DATALAD_INFO, MISSING_FIND_LINKS, NOISE,
                               NOTEBOOK_SHOWS, PIP_INSTALLED, PROGRESS, RESULT)
    from .progress import ProgressLine
except ImportError:  # run as a script by the Makefile, before .venv exists
    from errors import EXIT_USAGE
    from output_lines import (CELL_START, DATALAD_INFO, MISSING_FIND_LINKS, NOISE, NOTEBOOK_SHOWS,
                              PIP_INSTALLED, PROGRESS, RESULT)
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


def notebook_cells(args: list[str], cwd) -> int | None:
    """How many cells papermill will execute in the notebook a datalad command runs (the
    injected parameters cell included), or None when the command names no notebook."""
    match = re.search(r"papermill (\S+\.ipynb)", " ".join(args))
    if not match:
        return None
    try:
        import json
        return len(json.loads(Path(cwd or ".", match.group(1)).read_text())["cells"]) + 1
    except (OSError, ValueError, KeyError):
        return None


def input_files(args: list[str], cwd) -> int | None:
    """How many files a datalad run command's --input folders hold (what `get` will report)."""
    paths = [args[i + 1] for i, arg in enumerate(args[:-1]) if arg == "--input"]
    if not paths:
        return None
    count = 0
    for path in paths:
        full = Path(cwd or ".", path)
        if full.is_dir():
            count += sum(len(files) for _, _, files in os.walk(full))
        else:
            count += 1
    return count


class Watcher:
    """Reads a running command's output line by line: log, filter, progress, outcome."""

    def __init__(self, args: list[str], cwd=None, quiet: bool = False, out=None) -> None:
        self.args, self.cwd, self.quiet = list(args), cwd, quiet
        self.out = out or sys.stdout
        self.progress = ProgressLine(self.out)
        self.tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self.results: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self.in_cell = False
        self.missing_find_links = 0
        self.installed = 0  # packages pip reports as installed
        self.cells = notebook_cells(self.args, cwd)
        self.inputs = input_files(self.args, cwd)
        self.started = time.monotonic()

    def popen_kwargs(self, given: dict) -> dict:
        """The caller's Popen arguments with the output this watcher reads piped to it."""
        stream = {"stderr": subprocess.PIPE} if "stdout" in given else {
            "stdout": subprocess.PIPE, "stderr": subprocess.STDOUT}
        return {**given, **stream, "text": True, "errors": "replace", "bufsize": 1}

    def follow(self, process: subprocess.Popen) -> tuple[None, None]:
        """Handle the output until the command ends; print the outcome (or the log's tail)."""
        stream = process.stdout if process.stdout is not None else process.stderr
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
        process.wait()
        self.finish(process.returncode)
        return None, None

    def show(self, line: str, original: str | None = None) -> None:
        if self.tail and self.tail[-1] == (original or line):
            self.tail.pop()
        self.progress.clear()
        print(line, file=self.out, flush=True)

    def handle(self, line: str) -> None:
        LOG.write(line + "\n")
        self.tail.append(line)  # shown lines leave it again: the tail adds only what was hidden
        if self.quiet or not line.strip():
            return
        cell = CELL_START.match(line)
        if cell:
            self.in_cell = True
            self.progress.update("running the notebook", int(cell.group(1)), self.cells, "cells")
            return
        if line.startswith("Ending Cell"):
            self.in_cell = False
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
        if info:  # what datalad is doing now: the progress line's label until the next one
            self.progress.update(re.sub(r"\s*\(.*\)$", "", info.group(1)).rstrip(". ")[:60])
            return
        result = RESULT.match(line)
        if result:
            self.record(result)
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

    def record(self, result: re.Match) -> None:
        action, status = result.group("action"), result.group("status")
        self.results.setdefault((action, status), []).append(
            (result.group("path"), result.group("type") or ""))
        if status in ("impossible", "error"):
            self.show(result.string)
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


def watcher(args: list[str], cwd=None, quiet: bool = False,
            given: dict | None = None) -> Watcher | None:
    """A Watcher for this command, or None when its output should pass through unchanged:
    with VERBOSE=1, or when the caller captures the output itself."""
    given = given or {}
    captured = (given.get("capture_output") or "stderr" in given
                or given.get("stdout", subprocess.DEVNULL) != subprocess.DEVNULL)
    if verbose() or captured:
        return None
    return Watcher(args, cwd, quiet)


def run(args: list[str], **popen_kwargs) -> subprocess.CompletedProcess:
    """subprocess.run with the output watched (or passed through, see :func:`watcher`)."""
    watch = watcher(args, popen_kwargs.get("cwd"), given=popen_kwargs)
    if watch is None:
        return subprocess.run(args, **popen_kwargs)
    process = subprocess.Popen(args, **watch.popen_kwargs(popen_kwargs))
    watch.follow(process)
    return subprocess.CompletedProcess(args, process.returncode)


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
