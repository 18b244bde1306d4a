"""Timing a sweep from outside, by its phases: what its jobs' event streams say each command
took, who held the dataset's lock for how long, when SLURM started and ended each array task,
and how a phase's time grows with the number of jobs."""
from __future__ import annotations

import json
import math
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from pipeline import events, lock, process
from pipeline.sweep.jobs import LOG_FOLDER
from pipeline.sweep.shell import Outcome

from .measure import BenchmarkError


@dataclass
class Held:
    command: str
    began: float  # time.time()
    seconds: float


class LockWatcher:
    """Who holds the dataset's lock (lock.py writes the holder's command and start time into
    the lock file, and empties it on release), sampled every ``every`` seconds in a thread."""

    def __init__(self, root: Path, every: float = 0.02):
        self.path, self.every = lock.lock_path(root), every
        self.held: list[Held] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.watch, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.thread.join()

    def holder(self) -> dict:
        try:
            return json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):  # being rewritten just now: look again
            return {}

    def watch(self) -> None:
        current: dict = {}
        while not self.done.is_set():
            now, seen = time.time(), self.holder()
            if current and seen.get("started") != current.get("started"):
                self.held.append(Held(current["command"], current["started"],
                                      now - current["started"]))
                current = {}
            if seen.get("started") and not current:
                current = seen
            self.done.wait(self.every)

    def seconds(self, containing: str) -> list[float]:
        return [h.seconds for h in self.held if containing in h.command]


@dataclass
class Timed:
    """A command's output lines, each with the seconds since it started, and its total."""

    returncode: int
    seconds: float
    cpu_seconds: float  # of the command and every process it waited for (git, squeue, sbatch)
    lines: list[tuple[float, str]] = field(default_factory=list)
    began: float = 0.0  # time.time() at its start: events carry the same clock

    def since_start(self, event: dict | None) -> float | None:
        """When an event (its ``time``) came, in seconds after the command started."""
        return event["time"] - self.began if event else None

    def text(self) -> str:
        return "\n".join(line for _, line in self.lines)


def run_timed(args: list[str], cwd: Path, log: Path) -> Timed:
    """Run a pipeline command in ``cwd`` (its own committed code), time each line it prints."""
    env = {**process.tool_env(), "PYTHONPATH": str(cwd / "code"), "PYTHONUNBUFFERED": "1"}
    began, used, wall = time.monotonic(), children_cpu(), time.time()
    lines = []
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(args)}    (in {cwd})\n")
        command = subprocess.Popen([sys.executable, *args], cwd=cwd, env=env, text=True,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT)
        for line in command.stdout:
            lines.append((time.monotonic() - began, line.rstrip("\n")))
            out.write(line)
        command.wait()
    return Timed(command.returncode, time.monotonic() - began, children_cpu() - used, lines,
                 wall)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def require_ok(timed: Timed, what: str, log: Path) -> Timed:
    if timed.returncode != 0:
        raise BenchmarkError(f"{what} failed (exit code {timed.returncode}); its output is in "
                             f"{log}:\n" + "\n".join(line for _, line in timed.lines[-15:]))
    return timed


def task_spans(root: Path, job_name: str) -> list[tuple[float, float]]:
    """(start, end) of each SLURM task of ``job_name``, from its output file (``--output``):
    slurmd creates it as the task starts (its birth time) and the task's last line ends it."""
    files = [str(p) for p in (lock.git_dir(root)).rglob(f"{job_name}-*.out")]
    if not files:
        return []
    stat = subprocess.run(["stat", "-c", "%.9W %.9Y", *files], capture_output=True, text=True,
                          check=True).stdout.split("\n")
    spans = []
    for line in filter(None, stat):
        born, modified = line.split()
        spans.append((float(born), float(modified)))
    return spans


def growth(sizes: list[int], seconds: list[float]) -> float | None:
    """The log-log slope from the smallest to the largest size: 1 is linear, 2 quadratic."""
    if len(sizes) < 2 or seconds[0] <= 0 or seconds[-1] <= 0:
        return None
    return math.log(seconds[-1] / seconds[0]) / math.log(sizes[-1] / sizes[0])


def projected(size: int, seconds: float, slope: float | None, target: int) -> float | None:
    """``seconds`` at ``size`` carried to ``target`` jobs along the measured slope."""
    if slope is None:
        return None
    return seconds * (target / size) ** slope


def job_streams(clone: Path, sweep_name: str) -> dict[str, list[dict]]:
    """Each job's event stream (sweep/shell.py: its commands, then its outcome), by job name;
    the shared prepares' streams are left out."""
    folder = lock.git_dir(clone) / LOG_FOLDER / sweep_name
    return {path.stem: events.read(path) for path in sorted(folder.glob(f"*.{events.SUFFIX}"))
            if not path.name.startswith("prepare-")}


def phase_seconds(stream: list[dict], phases: set[str]) -> float:
    """The seconds of a job's commands in ``phases`` (``push``, ``image``, ``stage``...)."""
    return sum(event["seconds"] for event in stream
               if event["event"] == "command" and event["phase"] in phases)


def fixed_seconds(stream: list[dict]) -> float | None:
    """A finished job's time beyond its stages (its outcome event), None if it did not finish."""
    ended = [Outcome.from_event(event) for event in stream if event["event"] == "outcome"]
    return ended[-1].fixed_seconds if ended and ended[-1].ok else None


def sweep_events(clone: Path, sweep_name: str, kind: str) -> list[dict]:
    """Events of the sweep as a whole (``planned``, ``submitted``, ``merged``), in order."""
    folder = lock.git_dir(clone) / LOG_FOLDER
    return events.read(folder / f"{sweep_name}.{events.SUFFIX}", kind)
