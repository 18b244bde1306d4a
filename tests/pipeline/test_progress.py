import io

import pytest

from pipeline import progress


@pytest.fixture
def clock(monkeypatch):
    class Clock:
        now = 1000.0

        def __call__(self):
            return self.now

    fake = Clock()
    monkeypatch.setattr(progress.time, "monotonic", fake)
    return fake


def test_a_pipe_gets_progress_at_quarters_at_most_every_15_s_and_none_for_short_bars(clock):
    out = io.StringIO()
    bar = progress.ProgressLine(out, tty=False)
    for done in range(1, 101):  # 100 items in 10 s: over before the first line is due
        clock.now += 0.1
        bar.update("decoding images", done, 100, "images")
    bar.finish()
    assert out.getvalue() == ""

    for done in range(1, 101):  # 400 items in 400 s: lines at 25, 50 and 75 %
        clock.now += 1
        bar.update("decoding images", done, 400, "images")
    for done in range(101, 401):
        clock.now += 1
        bar.update("decoding images", done, 400, "images")
    bar.finish()
    lines = out.getvalue().splitlines()
    assert [line.split("]")[1].split()[0] for line in lines] == ["100/400", "200/400", "300/400"]
    assert lines[0] == ("  decoding images [#####---------------] 100/400 images  25%  01:39, "
                        "04:57 left")  # tqdm's meter: the bar, the count, elapsed, time left
    assert "\r" not in out.getvalue()


def test_a_terminal_gets_one_line_redrawn_in_place_and_cleared_for_output(clock):
    out = io.StringIO()
    bar = progress.ProgressLine(out, tty=True)
    clock.now += 1
    bar.update("fetching inputs", unit="files")
    clock.now += 1
    bar.update("fetching inputs", unit="files")
    drawn = out.getvalue()
    bar.clear()
    cleared = out.getvalue()[len(drawn):]
    assert "\n" not in out.getvalue()  # one line, redrawn in place (tqdm's carriage returns)
    assert drawn.rstrip().endswith("fetching inputs: 2 files  00:00")
    assert cleared.startswith("\r") and not cleared.strip()  # room made for an ordinary line


def test_a_bar_of_uneven_items_shows_no_time_left(clock):
    out = io.StringIO()
    bar = progress.ProgressLine(out, tty=False)
    for done in range(1, 13):
        clock.now += 10
        bar.update("running the notebook", done, 13, "cells", even=False)
    assert out.getvalue().splitlines()[0] == (
        "  running the notebook [######--------------] 4/13 cells  31%  00:30")
