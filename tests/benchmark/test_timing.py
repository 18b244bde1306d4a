"""benchmark.timing: phases timed from outside a sweep (the lock's holders, SLURM's output
files) and how a phase grows with the number of jobs."""
import io
import os
import time

import pytest

from benchmark import timing
from pipeline import sweep
from pipeline.sweep import jobs
from pipeline import lock


def test_the_lock_watcher_times_each_holder_of_the_dataset_lock(tmp_path):
    (tmp_path / ".git").mkdir()
    with timing.LockWatcher(tmp_path, every=0.01) as watcher:
        for command in ("sweep s: push refs/heads/sweep/s/a", "sweep s: push refs/heads/sweep/s/b",
                        "sweep s: merge"):
            with lock.hold(tmp_path, command=command):
                time.sleep(0.2)
            time.sleep(0.05)
    assert [held.command for held in watcher.held] == [
        "sweep s: push refs/heads/sweep/s/a", "sweep s: push refs/heads/sweep/s/b",
        "sweep s: merge"]
    assert len(watcher.seconds(": push ")) == 2 and len(watcher.seconds(": merge")) == 1
    assert all(seconds >= 0.2 for seconds in watcher.seconds("sweep s"))


def test_task_spans_come_from_slurms_output_files(tmp_path):
    folder = tmp_path / ".git" / "imageclf-logs" / "sweeps" / "s" / "slurm"
    folder.mkdir(parents=True)
    before = time.time()
    for index in range(3):
        out = folder / f"imageclf-sweep-s-12_{index}.out"
        out.write_text("job done\n")
        os.utime(out, (before + 100 + index, before + 100 + index))
    (folder / "imageclf-sweep-other-13_0.out").write_text("another sweep's\n")
    spans = sorted(timing.task_spans(tmp_path, "imageclf-sweep-s"))
    assert [end for _, end in spans] == pytest.approx([before + 100, before + 101, before + 102])
    assert all(before - 1 <= start <= time.time() for start, _ in spans)  # created just now


def test_growth_is_the_log_log_slope_and_carries_the_projection():
    assert timing.growth([25, 50, 100, 200], [10, 20, 40, 80]) == pytest.approx(1.0)
    assert timing.growth([25, 200], [1, 64]) == pytest.approx(2.0)
    assert timing.growth([25, 200], [3, 3]) == pytest.approx(0.0)
    assert timing.growth([25, 200], [0, 3]) is None
    assert timing.projected(200, 80, 1.0, 10_000) == pytest.approx(4000)
    assert timing.projected(200, 4, 2.0, 10_000) == pytest.approx(10_000)
    assert timing.projected(200, 4, None, 10_000) is None


def test_a_jobs_push_is_timed_from_the_commands_its_log_records(tmp_path):
    """The log as jobs.Runner.sh writes it: a push to the output store (flock'ed git push), then
    a command that is not a push."""
    (tmp_path / ".git").mkdir()
    demo = sweep.Sweep("s", "sweeps/s.yaml", {s: f"params/{s}.yaml" for s in sweep.STAGES},
                       (sweep.Job("a", {}),))
    runner = jobs.Runner(tmp_path, demo, "none", 1, out=io.StringIO())
    log_file = tmp_path / "a.log"
    with open(log_file, "w") as log:
        runner.sh(["flock", str(tmp_path / "push.lock"), "sh", "-c", "sleep 0.3", "git", "push",
                   "--quiet"], tmp_path, log)
        runner.sh(["sh", "-c", "sleep 0.5"], tmp_path, log)
    assert timing.logged_seconds(log_file, timing.is_push) == pytest.approx(0.3, abs=0.15)
    assert timing.logged_seconds(log_file, lambda command: True) == pytest.approx(0.8, abs=0.25)
    assert timing.is_push("git annex copy --quiet --to imageclf-output-storage --not --in x")
    assert not timing.is_push("git annex copy --quiet --from origin")
