"""The local executor: shared prepares first, a failed prepare fails only its own jobs, each
running job on its share of the cores."""
from pathlib import Path
from types import SimpleNamespace

from pipeline.sweep import local
from pipeline.sweep.launcher import Plan
from pipeline.sweep.model import Job, Sweep
from pipeline.sweep.progress import SweepProgress
from pipeline.sweep.shell import JobFailed, Outcome, Processes

def test_jobs_running_together_get_their_own_share_of_the_cores(monkeypatch):
    monkeypatch.setattr(local.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    assert local.core_shares(2) == ["0,1", "2,3"]
    assert local.core_shares(3) == ["0", "1", "2,3"]
    assert local.core_shares(1) == [None]  # one job at a time: all cores
    assert local.core_shares(5) == [None] * 5  # more jobs than cores: no pinning


class FakeJobs:
    """What the executor calls of jobs.Jobs, recording the order of the calls."""

    def __init__(self):
        self.calls = []
        self.processes = Processes()

    def run_base(self, key, job, start):
        self.calls.append(("prepare", key))
        if key == "bad":
            raise JobFailed("its prepare failed: `x` failed", Path(f"prepare-{key}.log"))
        return f"refs/sweep-bases/demo/{key}"

    def run_job(self, job, start, cores=None):
        self.calls.append(("job", job.name, start))
        return Outcome(job.name, True, 2.0, 0.5)

    def base_failed(self, job, error):
        return Outcome(job.name, False, log=error.log, message=str(error))


def test_prepares_first_and_a_failed_prepare_fails_only_its_jobs(tmp_path):
    jobs_ = [Job("a", {"prepare": {"size": 1}}), Job("b", {"prepare": {"size": 1}}),
             Job("c", {"prepare": {"size": 2}})]
    sweep = Sweep("demo", "sweeps/demo.yaml", {"prepare": "p.yaml", "train": "t.yaml"},
                  tuple(jobs_))
    keys = {"a": "good", "b": "good", "c": "bad"}
    plan = Plan(sweep, "none", jobs_, "HEAD", "tree",
                prepares={"good": jobs_[0], "bad": jobs_[2]})
    plan.key = lambda job: keys[job.name]
    fake = FakeJobs()
    progress = SweepProgress("demo", 3, 1, out=open(tmp_path / "out", "w"), tty=False)
    outcomes = local.LocalExecutor(1).run(plan, fake, progress)
    assert fake.calls[:2] == [("prepare", "good"), ("prepare", "bad")]
    assert sorted((o.name, o.ok) for o in outcomes) == [("a", True), ("b", True), ("c", False)]
    failed = next(o for o in outcomes if not o.ok)
    assert failed.log == Path("prepare-bad.log") and "its prepare failed" in failed.message
    assert ("job", "a", "refs/sweep-bases/demo/good") in fake.calls
    assert SimpleNamespace(done=progress.done, failed=progress.failed) == SimpleNamespace(
        done=2, failed=1)
