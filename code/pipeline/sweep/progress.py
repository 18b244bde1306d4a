"""The sweep's progress: jobs done, running and failed, time left and the best accuracy so far.

On a terminal one line is redrawn in place (a tqdm bar), with a line per finished job above it;
in a pipe (CI logs, ``| tee``) each finished job is one plain line with the counts, and a status
line comes every minute while nothing finishes. Job threads only count; the main thread draws.
"""
from __future__ import annotations

import sys
import threading
import time

from tqdm import tqdm

from .shell import Outcome

format_duration = tqdm.format_interval


class SweepProgress:
    QUIET_FOR = 60.0  # seconds a pipe waits for news before it gets a status line

    def __init__(self, name: str, total: int, parallel: int, out=None, tty: bool | None = None):
        self.name, self.total, self.parallel = name, total, parallel
        self.out = out or sys.stdout
        self.tty = self.out.isatty() if tty is None else tty
        self.guard = threading.Lock()
        self.running: set[str] = set()
        self.prepares = 0
        self.done = self.failed = 0
        self.durations: list[float] = []
        self.best: tuple[float, str] | None = None
        self.began = self.last_line = time.monotonic()
        self.bar = tqdm(total=total, desc=self.status(), file=self.out, leave=False,
                        bar_format="  {desc}", dynamic_ncols=True) if self.tty else None

    # -- counting (any thread) ----------------------------------------------------------------
    def known(self, job: str, accuracy: float | None) -> None:
        """A job with a result from an earlier run of the sweep."""
        with self.guard:
            self.done += 1
            self._consider(job, accuracy)

    def started(self, job: str) -> None:
        with self.guard:
            self.running.add(job)

    def preparing(self, change: int) -> None:
        with self.guard:
            self.prepares += change

    def _consider(self, job: str, accuracy: float | None) -> None:
        if accuracy is not None and (self.best is None or accuracy > self.best[0]):
            self.best = (accuracy, job)

    # -- drawing (main thread) ----------------------------------------------------------------
    def finished(self, outcome: Outcome) -> None:
        with self.guard:
            self.running.discard(outcome.name)
            if outcome.ok:
                self.done += 1
                self.durations.append(outcome.seconds)
                self._consider(outcome.name, outcome.accuracy)
            else:
                self.failed += 1
        if outcome.ok:
            line = (f"  done    {outcome.name}: accuracy {outcome.accuracy:.4f}  "
                    f"[{outcome.seconds:.1f} s]")
        else:
            line = f"  FAILED  {outcome.name}: {outcome.message} (log: {outcome.log})"
        self.say(line + ("" if self.tty else f"   ({self.status()})"))

    def status(self, now: float | None = None) -> str:
        now = time.monotonic() if now is None else now
        with self.guard:
            left = self.total - self.done - self.failed
            parts = [f"{self.done}/{self.total} done", f"{len(self.running)} running"]
            if self.failed:
                parts.append(f"{self.failed} failed")
            if self.prepares:
                parts.append(f"{self.prepares} preparing")
            text = f"sweep {self.name}: " + ", ".join(parts)
            text += f"  {format_duration(now - self.began)}"
            if self.durations and left:
                mean = sum(self.durations) / len(self.durations)
                text += f", about {format_duration(mean * -(-left // self.parallel))} left"
            if self.best:
                text += f"  best {self.best[0]:.4f} ({self.best[1]})"
        return text

    def say(self, line: str) -> None:
        """A line that stays, above the redrawn status line."""
        self.clear()
        print(line, file=self.out, flush=True)
        self.last_line = time.monotonic()
        self.tick()

    def tick(self) -> None:
        now = time.monotonic()
        if self.bar is not None:
            self.bar.n = self.done + self.failed
            self.bar.set_description_str(self.status(now))  # tqdm redraws at most every 0.1 s
        elif now - self.last_line >= self.QUIET_FOR:
            print("  " + self.status(now), file=self.out, flush=True)
            self.last_line = now

    def clear(self) -> None:
        if self.bar is not None:
            self.bar.clear()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if self.total:
            print("  " + self.status(), file=self.out, flush=True)
