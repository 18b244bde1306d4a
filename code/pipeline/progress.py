"""A progress line with counts and time left that suits both a terminal and a log.

On a terminal the line is redrawn in place; in a pipe (CI logs, ``| tee``) it becomes plain
lines, few enough to read. Standard library only, like terminal.py, which uses it.
"""
from __future__ import annotations

import sys
import time


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


class ProgressLine:
    """One progress bar with counts and time left. On a terminal it is redrawn in place; in a
    pipe (CI logs) it prints a plain line at 25, 50 and 75 % (a bar without a total: every 30 s),
    at most one every 15 s, and nothing at all for what is over within 15 s."""

    QUIET_FOR = 15.0  # seconds a pipe sees nothing of a bar, and at least between two lines
    REDRAW = 0.2

    def __init__(self, out=None, tty: bool | None = None) -> None:
        self.out = out or sys.stdout
        self.tty = self.out.isatty() if tty is None else tty
        self.label = None
        self.drawn = False

    def start(self, label: str, total: int | None, unit: str) -> None:
        self.finish()
        self.label, self.total, self.unit = label, total, unit
        self.done, self.started, self.last_draw, self.printed = 0, time.monotonic(), 0.0, 0
        self.quarter = 0

    def update(self, label: str, done: int | None = None, total: int | None = None,
               unit: str = "") -> None:
        """Set the count of ``label`` (``done`` None: one more); a new label or total starts
        anew."""
        if label != self.label or total != self.total or (done is not None and done < self.done):
            self.start(label, total, unit)
        self.done = self.done + 1 if done is None else done
        self.tick()

    def text(self, now: float) -> str:
        elapsed = now - self.started
        if self.total:
            share = min(1.0, self.done / self.total)
            bar = "#" * int(share * 20) + "-" * (20 - int(share * 20))
            left = (elapsed / self.done * (self.total - self.done)) if self.done else None
            eta = f"  {format_duration(left)} left" if left is not None and share < 1 else ""
            return (f"  {self.label} [{bar}] {self.done}/{self.total} {self.unit} {share:4.0%}"
                    f"  {format_duration(elapsed)}{eta}")
        count = f": {self.done} {self.unit}" if self.unit and self.done else ""
        return f"  {self.label}{count}  {format_duration(elapsed)}"

    def tick(self) -> None:
        if self.label is None:
            return
        now = time.monotonic()
        if self.tty:
            if now - self.last_draw >= self.REDRAW:
                self.out.write("\r\033[K" + self.text(now))
                self.out.flush()
                self.drawn, self.last_draw = True, now
            return
        if now - self.started < self.QUIET_FOR or now - self.last_draw < self.QUIET_FOR:
            return
        if self.total:
            quarter = int(4 * min(1.0, self.done / self.total))
            if quarter <= self.quarter or quarter >= 4:
                return
            self.quarter = quarter
        elif now - self.last_draw < 2 * self.QUIET_FOR:
            return
        self._print(self.text(now), now)

    def _print(self, text: str, now: float) -> None:
        print(text, file=self.out, flush=True)
        self.printed, self.last_draw = self.printed + 1, now

    def clear(self) -> None:
        """Make room for an ordinary line (on a terminal the next tick draws the bar again)."""
        if self.tty and self.drawn:
            self.out.write("\r\033[K")
            self.out.flush()
            self.drawn, self.last_draw = False, 0.0

    def finish(self) -> None:
        if self.label is None:
            return
        self.clear()  # in a pipe no 100 % line: the command's outcome line follows at once
        self.label = None
