"""The launcher: its checks, and one path for every executor, Ctrl-C included."""
import re

import pytest

from helpers import sh, stage_definitions
from pipeline import process
from pipeline.sweep import launcher, stores
from pipeline.sweep.model import Job, SweepError
from pipeline.sweep.shell import Outcome
from test_sweep_jobs import dataset, demo_sweep  # noqa: F401 - dataset is a fixture


def test_a_sweep_needs_its_files_committed_and_a_branch_checked_out(dataset):  # noqa: F811
    jobs = demo_sweep(["a"])
    with pytest.raises(SweepError, match="sweeps/demo.yaml is not committed"):
        launcher.check_ready(dataset, jobs)
    for path in (jobs.source, *jobs.params.values()):
        (dataset / path).parent.mkdir(exist_ok=True)
        (dataset / path).write_text("{}\n")
    sh(["git", "add", "."], dataset)
    sh(["git", "commit", "--quiet", "-m", "sweep and params"], dataset)
    launcher.check_ready(dataset, jobs)
    (dataset / "params" / "train.yaml").write_text("max_iter: 3\n")
    with pytest.raises(SweepError, match="params/train.yaml has changes that are not"):
        launcher.check_ready(dataset, jobs)
    sh(["git", "checkout", "--quiet", "--detach"], dataset)
    with pytest.raises(SweepError, match="HEAD is detached"):
        launcher.check_ready(dataset, jobs)




class FakeExecutor:
    """An executor that records what the launcher asks of it."""

    slots = 2
    stopped = "the fake jobs stopped"

    def __init__(self, run):
        self.calls, self._run = [], run

    def describe(self, plan):
        self.calls.append(("describe", [job.name for job in plan.todo], len(plan.prepares)))
        return "running them in a test"

    def require(self):
        self.calls.append(("require",))

    def check_leftovers(self, root, sweep):
        self.calls.append(("check_leftovers",))

    def run(self, plan, jobs, progress):
        self.calls.append(("run",))
        return self._run(plan, jobs)

    def cancel(self, jobs):
        self.calls.append(("cancel",))


@pytest.fixture
def ready(dataset):  # noqa: F811
    """The dataset with the sweep file and params committed and data/raw registered."""
    jobs = demo_sweep(["a", "b"])
    stage_definitions(dataset)  # the jobs' values are checked against the stages' notebooks
    for path in (jobs.source, *jobs.params.values()):
        (dataset / path).parent.mkdir(exist_ok=True)
        (dataset / path).write_text("{}\n")
    (dataset / ".gitmodules").write_text('[submodule "data/raw"]\n\tpath = data/raw\n')
    sh(["git", "add", "."], dataset)
    sh(["git", "commit", "--quiet", "-m", "sweep, params and data"], dataset)
    return dataset, jobs


def test_every_executor_gets_the_same_plan_and_the_same_report(ready, capsys):
    root, jobs = ready

    def finish(plan, _):
        return [Outcome("a", True, 10.0, 0.5, stage_seconds=8.0),
                Outcome("b", False, 3.0, message="`run` failed", log=root / "b.log")]

    executor = FakeExecutor(finish)
    failed = launcher.launch(root, jobs, executor, stores.InDataset(root), "none")
    assert [o.name for o in failed] == ["b"]
    assert [call[0] for call in executor.calls] == ["require", "check_leftovers", "describe",
                                                    "run"]
    assert executor.calls[2] == ("describe", ["a", "b"], 1)  # one shared prepare for both
    printed = capsys.readouterr()
    assert "sweep demo: 2 jobs from sweeps/demo.yaml; running them in a test;" in printed.out
    assert "fixed cost per job beyond its stages (clone, annex set-up, push, fsck): 2.0 s" in (
        printed.out)
    assert f"FAILED b: `run` failed; log: {root / 'b.log'}" in printed.err
    planned, merged = timing_events(root)
    assert planned["jobs"] == 2 and merged["failed"] == 1 and merged["commit"] is None


def test_an_interrupt_cancels_the_executor_and_says_what_is_kept(ready):
    root, jobs = ready

    def interrupted(plan, _):
        raise process.Interrupted("SIGTERM")

    executor = FakeExecutor(interrupted)
    with pytest.raises(SweepError) as error:
        launcher.launch(root, jobs, executor, stores.InDataset(root), "none")
    assert executor.calls[-1] == ("cancel",)
    assert str(error.value) == (
        "sweep demo interrupted (SIGTERM): 0 of 2 jobs have their branch in the dataset; the "
        "fake jobs stopped. Run the same command again to run only the jobs without a result.")
    assert error.value.exit_code == 143


@pytest.mark.parametrize("values, says", [
    ({"max_itr": 5}, "job b (train): Unknown parameter(s) max_itr for stage train"),
    ({"max_iter": 2.5}, "job b (train): Parameter max_iter of stage train must be of type int"),
    ({"classifier": "tree"}, "job b (train): Parameter classifier of stage train must be one of"),
])
def test_a_value_no_run_would_take_stops_the_sweep_before_any_job(ready, values, says):
    """A new-user try: every job failed, the reason only in each job's log."""
    root, jobs = ready
    misspelt = type(jobs)(jobs.name, jobs.source, jobs.params,
                          (jobs.jobs[0], Job("b", {"train": values})))
    executor = FakeExecutor(lambda plan, _: [])
    with pytest.raises(SweepError, match=f"sweeps/demo.yaml: {re.escape(says)}"):
        launcher.launch(root, misspelt, executor, stores.InDataset(root), "none")
    assert executor.calls == []  # nothing asked of the executor, no job started


def timing_events(root):
    from benchmark import timing

    return (timing.sweep_events(root, "demo", "planned")[-1],
            timing.sweep_events(root, "demo", "merged")[-1])
