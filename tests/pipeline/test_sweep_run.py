"""The sweep command's checks and its merge commit, on small git-annex repositories."""
import io

import pytest

from helpers import git, sh
from pipeline import sweep
from pipeline.sweep import jobs as sweep_jobs, run as sweep_run
from test_sweep_jobs import dataset, demo_sweep, job_clone  # noqa: F401 - dataset is a fixture


def test_one_commit_records_every_job_branch_and_is_tagged(dataset):  # noqa: F811
    jobs = demo_sweep(["a", "b", "missing"])
    runner = sweep_jobs.Runner(dataset, jobs, "none", 2, out=io.StringIO())
    runner.logs.mkdir(parents=True)
    for name, accuracy in (("a", 0.7), ("b", 0.8)):
        clone = job_clone(runner, dataset, name, accuracy)
        with open(runner.logs / f"{name}.log", "a") as log:
            runner.push(clone, f"refs/heads/sweep/demo/{name}", log)
        runner.remove(clone)
    (dataset / "untracked.txt").write_text("the user's own work\n")
    tree = git(dataset, "rev-parse", "HEAD^{tree}")
    start = git(dataset, "rev-parse", "HEAD")

    commit = sweep_run.merge(dataset, jobs)
    assert git(dataset, "rev-parse", "main") == commit == git(dataset, "rev-parse", "sweep/demo")
    parents = git(dataset, "log", "-1", "--format=%P", commit).split()
    assert parents == [start, git(dataset, "rev-parse", "sweep/demo/a"),
                       git(dataset, "rev-parse", "sweep/demo/b")]
    assert git(dataset, "rev-parse", "HEAD^{tree}") == tree
    assert (dataset / "untracked.txt").exists() and not (dataset / "accuracy.json").exists()
    assert "sweep/demo/b: accuracy 0.8" in git(dataset, "log", "-1", "--format=%B", commit)
    # nothing new: no second commit
    assert sweep_run.merge(dataset, jobs) is None
    assert git(dataset, "rev-parse", "HEAD") == commit


def test_a_sweep_needs_its_files_committed_and_a_branch_checked_out(dataset):  # noqa: F811
    jobs = demo_sweep(["a"])
    with pytest.raises(sweep.SweepError, match="sweeps/demo.yaml is not committed"):
        sweep_run.check_ready(dataset, jobs)
    for path in (jobs.source, *jobs.params.values()):
        (dataset / path).parent.mkdir(exist_ok=True)
        (dataset / path).write_text("{}\n")
    sh(["git", "add", "."], dataset)
    sh(["git", "commit", "--quiet", "-m", "sweep and params"], dataset)
    sweep_run.check_ready(dataset, jobs)
    (dataset / "params" / "train.yaml").write_text("max_iter: 3\n")
    with pytest.raises(sweep.SweepError, match="params/train.yaml has changes that are not"):
        sweep_run.check_ready(dataset, jobs)
    sh(["git", "checkout", "--quiet", "--detach"], dataset)
    with pytest.raises(sweep.SweepError, match="HEAD is detached"):
        sweep_run.check_ready(dataset, jobs)
