"""The sweep's progress: a plain line per finished job in a pipe, one line redrawn on a
terminal."""
import io

from pipeline.sweep import progress as sweep_progress
from pipeline.sweep.shell import Outcome


def test_progress_in_a_pipe_is_one_plain_line_per_finished_job():
    out = io.StringIO()
    line = sweep_progress.SweepProgress("demo", 3, 2, out, tty=False)
    line.known("old", 0.75)
    line.started("a")
    line.started("b")
    line.finished(Outcome("a", True, 20.0, 0.8, stage_seconds=17.0))
    line.finished(Outcome("b", False, 5.0, log="x.log", message="`run` failed"))
    line.close()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("  done    a: accuracy 0.8000  [20.0 s]")
    assert "(sweep demo: 2/3 done, 1 running" in lines[0] and "best 0.8000 (a)" in lines[0]
    assert lines[1].startswith("  FAILED  b: `run` failed (log: x.log)")
    assert lines[2] == "  sweep demo: 2/3 done, 0 running, 1 failed  00:00  best 0.8000 (a)"
    assert "\r" not in out.getvalue()


def test_progress_on_a_terminal_redraws_one_line_with_time_left():
    out = io.StringIO()
    line = sweep_progress.SweepProgress("demo", 5, 2, out, tty=True)
    line.started("a")
    line.finished(Outcome("a", True, 60.0, 0.5))
    text = out.getvalue()
    status = "sweep demo: 1/5 done, 0 running  00:00, about 02:00 left  best 0.5000 (a)"
    assert "\r  " + status in text  # tqdm redraws the line in place
    assert text.count("\n") == 1  # only the finished job's line stays


