"""benchmark.timing: phases timed from outside a sweep (the lock's holders, SLURM's output
files) and how a phase grows with the number of jobs."""
import os
import time

import pytest

from benchmark import timing
from helpers import STAGES
from pipeline import lock
from pipeline.sweep.jobs import Jobs
from pipeline.sweep.model import Job, Sweep


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


def test_a_jobs_phases_are_timed_from_its_event_stream(tmp_path):
    """The stream as a job's shell writes it: a push (flock'ed git push), a set-up command, then
    its outcome; the shared prepares' streams are not jobs'."""
    demo = Sweep("s", "sweeps/s.yaml", {s: f"params/{s}.yaml" for s in STAGES}, (Job("a", {}),))
    runner = Jobs(tmp_path, demo, "none", store=None)
    with runner.shell("a") as shell:
        shell.sh(["flock", str(tmp_path / "push.lock"), "sh", "-c", "sleep 0.3"], tmp_path,
                 "push")
        shell.sh(["sh", "-c", "sleep 0.5"], tmp_path)
        shell.outcome(True, 0.5)
    with runner.shell("prepare-k") as shell:
        shell.sh(["sh", "-c", "sleep 0.2"], tmp_path, "push")
    streams = timing.job_streams(tmp_path, "s")
    assert list(streams) == ["a"]
    assert timing.phase_seconds(streams["a"], {"push"}) == pytest.approx(0.3, abs=0.15)
    assert timing.phase_seconds(streams["a"], {"push", "set-up"}) == pytest.approx(0.8, abs=0.25)
    assert timing.fixed_seconds(streams["a"]) == pytest.approx(0.8, abs=0.25)  # no stage ran


def test_the_sweeps_own_events_say_when_it_was_submitted(tmp_path):
    demo = Sweep("s", "sweeps/s.yaml", {s: f"params/{s}.yaml" for s in STAGES}, (Job("a", {}),))
    runner = Jobs(tmp_path, demo, "none", store=None)
    before = time.time()
    runner.sweep_event("submitted", executor="slurm", ids=["12"])
    found = timing.sweep_events(tmp_path, "s", "submitted")
    assert [event["ids"] for event in found] == [["12"]]
    started = timing.Timed(0, 1.0, 0.1, began=before - 2)
    assert 2 <= started.since_start(found[0]) < 3
