"""A sweep's results and its merge commit, on small git-annex repositories."""
import json
import subprocess

from helpers import git, sh, tool_env
from pipeline.sweep import merge
from pipeline.sweep.jobs import accuracy_at
from test_sweep_jobs import dataset, demo_jobs, job_clone, push  # noqa: F401 - dataset: fixture


def test_one_commit_records_every_job_branch_and_is_tagged(dataset):  # noqa: F811
    runner = demo_jobs(dataset, ["a", "b", "missing"])
    jobs = runner.sweep
    for name, accuracy in (("a", 0.7), ("b", 0.8)):
        clone = job_clone(runner, dataset, name, accuracy)
        push(runner, clone, name)
        runner.remove(clone)
    (dataset / "untracked.txt").write_text("the user's own work\n")
    tree = git(dataset, "rev-parse", "HEAD^{tree}")
    start = git(dataset, "rev-parse", "HEAD")

    commit = merge.merge(dataset, jobs)
    assert git(dataset, "rev-parse", "main") == commit == git(dataset, "rev-parse", "sweep/demo")
    parents = git(dataset, "log", "-1", "--format=%P", commit).split()
    assert parents == [start, git(dataset, "rev-parse", "sweep/demo/a"),
                       git(dataset, "rev-parse", "sweep/demo/b")]
    assert git(dataset, "rev-parse", "HEAD^{tree}") == tree
    assert (dataset / "untracked.txt").exists() and not (dataset / "accuracy.json").exists()
    assert "sweep/demo/b: accuracy 0.8" in git(dataset, "log", "-1", "--format=%B", commit)
    # nothing new: no second commit
    assert merge.merge(dataset, jobs) is None
    assert git(dataset, "rev-parse", "HEAD") == commit


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
    what one query per branch says (accuracy.json there, merge-base --is-ancestor,
    accuracy_at)."""
    names = [f"j{index:03d}" for index in range(80)]
    runner = demo_jobs(dataset, [*names, "missing", "unfinished"])
    jobs = runner.sweep
    # j000: its output is in the dataset, which has no record of it (as after a sweep killed
    # between a push and its fsck)
    clone = job_clone(runner, dataset, "j000", 0.5)
    push(runner, clone, "j000")
    runner.remove(clone)
    key = git(dataset, "annex", "find", "--branch", "sweep/demo/j000", "--format=${key}")
    git(dataset, "annex", "setpresentkey", key, git(dataset, "config", "annex.uuid"), "0")
    fast_import_jobs(dataset, [(name, round(0.6 + index / 1000, 3))
                               for index, name in enumerate(names[1:40])])
    git(dataset, "branch", "sweep/demo/unfinished", "main")  # no accuracy.json: no result
    where = ["git", "annex", "whereis", "--branch", "sweep/demo/j000"]
    assert "(0 copies)" in sh(where, dataset, check=False).stdout

    start = git(dataset, "rev-parse", "HEAD")
    first = merge.merge(dataset, jobs)
    parents = git(dataset, "log", "-1", "--format=%P", first).split()
    assert parents == [start] + [git(dataset, "rev-parse", f"sweep/demo/{n}") for n in names[:40]]
    message = git(dataset, "log", "-1", "--format=%B", first)
    assert "sweep/demo/j000: accuracy 0.5\nsweep/demo/j001: accuracy 0.6\n" in message
    assert "sweep/demo/j039: accuracy 0.638" in message and "unfinished" not in message
    assert "(1 copy)" in git(dataset, *where[1:]) and "here" in git(dataset, *where[1:])

    # the rest finish later: the second merge records only them, not the merged ones again
    fast_import_jobs(dataset, [(name, 0.7) for name in names[40:]])
    second = merge.merge(dataset, jobs)
    parents = git(dataset, "log", "-1", "--format=%P", second).split()
    assert parents == [first] + [git(dataset, "rev-parse", f"sweep/demo/{n}") for n in names[40:]]
    assert merge.job_results(dataset, jobs) == {
        f"sweep/demo/{name}": accuracy_at(dataset, f"refs/heads/sweep/demo/{name}")
        for name in names}
    assert merge.merge(dataset, jobs) is None


