"""Progress bars (tqdm's) that suit both a terminal and a log.

On a terminal, tqdm redraws the bar in place. In a pipe (CI logs, ``| tee``) a bar becomes a
few plain lines in the same format, at 25, 50 and 75 % (a bar without a total: every 30 s), at
most one every 15 s, and none at all for what is over within 15 s: a log reads as a lesson, not
as thousands of redraws.
"""
from __future__ import annotations

import sys
import time

from tqdm import tqdm

tqdm.monitor_interval = 0  # no monitor thread: bars are updated and closed by their owner

WITH_TOTAL = ("  {desc} [{bar:20}] {n_fmt}/{total_fmt} {unit} {percentage:3.0f}%  {elapsed}"
              "{postfix}")
WITHOUT_TOTAL = "  {desc}: {n_fmt} {unit}  {elapsed}"
BAR_CHARACTERS = "-#"  # ASCII: the same in every terminal and log


def bar_format(total: int | None, unit: str) -> str:
    return WITH_TOTAL if total else (WITHOUT_TOTAL if unit else "  {desc}  {elapsed}")


def time_left(done: int, total: int | None, elapsed: float) -> str:
    """``01:23 left`` while a bar with a total is under way and has a rate (tqdm puts it after
    a comma); else ''."""
    if not total or not done or done >= total:
        return ""
    return f"{tqdm.format_interval(elapsed / done * (total - done))} left"


def meter(label: str, done: int, total: int | None, unit: str, elapsed: float,
          even: bool = True) -> str:
    """A bar's line as tqdm formats it; ``even``: its items take about the same time each, so
    the time left is worth showing (a notebook's cells do not)."""
    return tqdm.format_meter(done, total, elapsed, prefix=label, unit=unit,
                             bar_format=bar_format(total, unit), ascii=BAR_CHARACTERS,
                             postfix=time_left(done, total, elapsed) if even else "")


class ProgressLine:
    """One progress bar at a time: a new label or total starts a new one."""

    QUIET_FOR = 15.0  # seconds a pipe sees nothing of a bar, and at least between two lines
    REDRAW = 0.2

    def __init__(self, out=None, tty: bool | None = None) -> None:
        self.out = out or sys.stdout
        self.tty = self.out.isatty() if tty is None else tty
        self.label = None
        self.bar: tqdm | None = None

    def start(self, label: str, total: int | None, unit: str, even: bool = True) -> None:
        self.finish()
        self.label, self.total, self.unit, self.even = label, total, unit, even
        self.done, self.started, self.last_draw, self.quarter = 0, time.monotonic(), 0.0, 0
        if self.tty:
            self.bar = tqdm(total=total, desc=label, unit=unit, file=self.out, leave=False,
                            mininterval=self.REDRAW, bar_format=bar_format(total, unit),
                            ascii=BAR_CHARACTERS, dynamic_ncols=True)

    def update(self, label: str, done: int | None = None, total: int | None = None,
               unit: str = "", even: bool = True) -> None:
        """Set the count of ``label`` (``done`` None: one more); a new label or total starts
        anew. ``even``: see :func:`meter`."""
        if label != self.label or total != self.total or (done is not None and done < self.done):
            self.start(label, total, unit, even)
        self.done = self.done + 1 if done is None else done
        self.tick()

    def tick(self) -> None:
        if self.label is None:
            return
        now = time.monotonic()
        if self.bar is not None:
            if now - self.last_draw >= self.REDRAW:
                self.bar.n = self.done
                if self.even:
                    self.bar.set_postfix_str(time_left(self.done, self.total, now - self.started),
                                             refresh=False)
                self.bar.refresh()
                self.last_draw = now
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
        print(meter(self.label, self.done, self.total, self.unit, now - self.started, self.even),
              file=self.out, flush=True)
        self.last_draw = now

    def clear(self) -> None:
        """Make room for an ordinary line (on a terminal the next tick draws the bar again)."""
        if self.bar is not None:
            self.bar.clear()
            self.last_draw = 0.0

    def finish(self) -> None:
        if self.label is None:
            return
        if self.bar is not None:  # in a pipe no 100 % line: the outcome line follows at once
            self.bar.close()
            self.bar = None
        self.label = None
