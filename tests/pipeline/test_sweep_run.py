"""The sweep command's checks and its merge commit, on small git-annex repositories."""
import io
import json
import subprocess

import pandas as pd
import pytest

from benchmark import branches
from helpers import git, sh, tool_env
from pipeline import sweep
from pipeline.sweep import jobs as sweep_jobs, run as sweep_run, summary
from test_compare import many_jobs, tiny_history  # noqa: F401 - fixtures
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


def fast_import_jobs(root, names_accuracies) -> None:
    """Finished job branches (accuracy.json on top of main) made in one git process."""
    stream = []
    for name, accuracy in names_accuracies:
        text = json.dumps({"accuracy": accuracy})
        message = f"job {name}\n"
        stream += [f"commit refs/heads/sweep/demo/{name}",
                   "committer Test <test@example.invalid> 1700000000 +0000",
                   f"data {len(message)}", message, "from refs/heads/main",
                   "M 100644 inline accuracy.json", f"data {len(text)}", text, ""]
    subprocess.run(["git", "fast-import", "--quiet"], cwd=root, env=tool_env(root),
                   input="\n".join(stream) + "\n", text=True, check=True)


def test_the_merge_of_many_job_branches_records_each_finished_one_once_in_order(dataset):  # noqa: F811
    """The merge reads every branch with a constant number of git processes; what it records is
    what one query per branch says (has_result, merge-base --is-ancestor, accuracy_at)."""
    names = [f"j{index:03d}" for index in range(80)]
    jobs = demo_sweep([*names, "missing", "unfinished"])
    runner = sweep_jobs.Runner(dataset, jobs, "none", 2, out=io.StringIO())
    runner.logs.mkdir(parents=True)
    # j000: its output is in the dataset, which has no record of it (as after a sweep killed
    # between a push and its fsck)
    clone = job_clone(runner, dataset, "j000", 0.5)
    with open(runner.logs / "j000.log", "a") as log:
        runner.push(clone, "refs/heads/sweep/demo/j000", log)
    runner.remove(clone)
    key = git(dataset, "annex", "find", "--branch", "sweep/demo/j000", "--format=${key}")
    git(dataset, "annex", "setpresentkey", key, git(dataset, "config", "annex.uuid"), "0")
    fast_import_jobs(dataset, [(name, round(0.6 + index / 1000, 3))
                               for index, name in enumerate(names[1:40])])
    git(dataset, "branch", "sweep/demo/unfinished", "main")  # no accuracy.json: no result
    where = ["git", "annex", "whereis", "--branch", "sweep/demo/j000"]
    assert "(0 copies)" in sh(where, dataset, check=False).stdout

    start = git(dataset, "rev-parse", "HEAD")
    first = sweep_run.merge(dataset, jobs)
    parents = git(dataset, "log", "-1", "--format=%P", first).split()
    assert parents == [start] + [git(dataset, "rev-parse", f"sweep/demo/{n}") for n in names[:40]]
    message = git(dataset, "log", "-1", "--format=%B", first)
    assert "sweep/demo/j000: accuracy 0.5\nsweep/demo/j001: accuracy 0.6\n" in message
    assert "sweep/demo/j039: accuracy 0.638" in message and "unfinished" not in message
    assert "(1 copy)" in git(dataset, *where[1:]) and "here" in git(dataset, *where[1:])

    # the rest finish later: the second merge records only them, not the merged ones again
    fast_import_jobs(dataset, [(name, 0.7) for name in names[40:]])
    second = sweep_run.merge(dataset, jobs)
    parents = git(dataset, "log", "-1", "--format=%P", second).split()
    assert parents == [first] + [git(dataset, "rev-parse", f"sweep/demo/{n}") for n in names[40:]]
    assert sweep_run.job_results(dataset, jobs) == {
        f"sweep/demo/{name}": sweep_jobs.accuracy_at(dataset, f"refs/heads/sweep/demo/{name}")
        for name in names}
    assert sweep_run.merge(dataset, jobs) is None


def test_the_summary_of_many_jobs_shows_each_jobs_own_result(many_jobs):  # noqa: F811
    root, fabricated = many_jobs
    jobs = sweep.Sweep(fabricated.name, fabricated.source, fabricated.params,
                       (*fabricated.jobs, sweep.Job("no-result", {"train": {"random_state": -1}})))
    frame = summary.table(root, jobs)
    assert list(frame["job"]) == [job.name for job in jobs.jobs]
    for index, job in enumerate(fabricated.jobs):
        row = frame.iloc[index]
        assert row["accuracy"] == branches.accuracy_of(index, len(fabricated.jobs))
        assert row["commit"] == git(root, "rev-parse", jobs.branch(job))[:8]
        assert row["random_state"] == str(index)
    assert pd.isna(frame.iloc[-1]["accuracy"]) and frame.iloc[-1]["commit"] == ""
