"""The commands of a sweep's jobs: each in a process group of its own (process.py), its output
into the job's log, its outcome into the job's event stream (events.py), and all of them
stoppable at once.

A job's events are JSON lines in ``LOGS/JOB.jsonl`` beside its log ``LOGS/JOB.log``: one
``command`` event per command (its phase, arguments, seconds and exit code), then one
``outcome`` event. The launcher's summary, the SLURM follower and the benchmark read them.
A command of phase ``push`` finishes even when the sweep is stopped, so that a branch is in
its store whole or not at all.
"""
from __future__ import annotations

import contextlib
import shlex
import subprocess
import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from .. import events, process

# What a job's command is for (the ``phase`` of its event): the benchmark's fixed cost per job
# is everything but ``stage``; ``push`` commands are not stopped by Ctrl-C.
PHASES = ("set-up", "inputs", "image", "stage", "push")


class JobFailed(Exception):
    """A command of a job failed; the message names it, ``log`` is the log that has its output."""

    def __init__(self, message: str, log: Path | None = None):
        super().__init__(message)
        self.log = log


class Stopped(Exception):
    """The sweep was interrupted: the job stops and keeps nothing."""


@dataclass
class Outcome:
    """How a job (or a shared prepare) ended: the last event of its stream."""

    name: str
    ok: bool
    seconds: float = 0.0
    accuracy: float | None = None
    log: Path | None = None
    message: str = ""
    stage_seconds: float = 0.0  # of ``seconds``: the stages themselves; the rest is fixed cost

    @property
    def fixed_seconds(self) -> float:
        """Clone, annex set-up, push and fsck: what a job costs beyond its stages."""
        return self.seconds - self.stage_seconds

    def event(self) -> dict:
        fields = asdict(self)
        fields["log"] = str(self.log) if self.log else None
        return fields

    @classmethod
    def from_event(cls, fields: dict) -> Outcome:
        known = {name: fields.get(name) for name in cls.__dataclass_fields__ if name in fields}
        outcome = cls(**known)
        return replace(outcome, log=Path(outcome.log) if outcome.log else None)


class Processes:
    """Every command the jobs of one sweep are running, so that an interrupt reaches them."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self._live: dict[subprocess.Popen, bool] = {}  # -> finishes even when stopped (push)
        self._guard = threading.Lock()

    def add(self, started: subprocess.Popen, finish: bool) -> None:
        with self._guard:
            self._live[started] = finish
            if self.stop.is_set() and not finish:  # started as Ctrl-C came: stop it too
                process.signal_group(started)

    def discard(self, started: subprocess.Popen) -> None:
        with self._guard:
            self._live.pop(started, None)

    def running(self) -> int:
        with self._guard:
            return len(self._live)

    def interrupt(self) -> None:
        """Ctrl-C: every running command but a push gets SIGINT (a stage settles its run)."""
        self.stop.set()
        with self._guard:
            running = [started for started, finish in self._live.items() if not finish]
        for started in running:
            process.signal_group(started)


class JobShell:
    """Runs the commands of one job (or shared prepare) named ``name``, logging each."""

    def __init__(self, name: str, logs: Path, processes: Processes, env: dict | None = None):
        self.name, self.processes = name, processes
        self.log_path = logs / f"{name}.log"
        self.env = env
        self.began = time.monotonic()
        self.stage_seconds = 0.0
        self._log = self.log_path.open("w")
        self._events = events.EventLog(logs / f"{name}.{events.SUFFIX}", truncate=True)

    def __enter__(self) -> JobShell:
        return self

    def __exit__(self, *exc) -> None:
        self._log.close()
        self._events.close()

    def note(self, text: str) -> None:
        """Text for the log only (what a query printed)."""
        self._log.write(text)
        self._log.flush()

    def sh(self, args: list[str], cwd: Path, phase: str = "set-up", env: dict | None = None,
           pinned: str | None = None) -> None:
        """Run one command of the job; raise JobFailed if it fails, Stopped if the sweep stops.
        ``pinned``: the job's share of the cores (taskset), which a container inherits."""
        finish = phase == "push"
        if self.processes.stop.is_set() and not finish:
            raise Stopped()
        command = ["taskset", "--cpu-list", pinned, *args] if pinned else args
        began = time.monotonic()
        self.note(f"\n[{time.strftime('%H:%M:%S')}] $ {shlex.join(command)}    (in {cwd})\n")
        started = process.start(command, cwd=cwd, env=env or self.env, stdout=self._log,
                                stderr=subprocess.STDOUT)
        self.processes.add(started, finish)
        try:
            started.wait()
        finally:
            self.processes.discard(started)
        seconds = time.monotonic() - began
        if phase == "stage":
            self.stage_seconds += seconds
        self.note(f"  ({seconds:.1f} s, exit code {started.returncode})\n")
        self._events.emit("command", job=self.name, phase=phase, args=command, cwd=str(cwd),
                          seconds=round(seconds, 3), exit=started.returncode)
        if self.processes.stop.is_set() and not finish:
            raise Stopped()
        if started.returncode != 0:
            raise JobFailed(f"`{shlex.join(command)}` failed (exit code {started.returncode})",
                            self.log_path)

    def outcome(self, ok: bool, accuracy: float | None = None, message: str = "") -> Outcome:
        """The job's outcome, written as its last event."""
        ended = Outcome(self.name, ok, time.monotonic() - self.began, accuracy,
                        self.log_path, message, self.stage_seconds)
        with contextlib.suppress(ValueError):  # closed: the job's stream has ended already
            self._events.emit("outcome", **ended.event())
        return ended
