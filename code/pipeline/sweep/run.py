"""The sweep command: check, announce, run the jobs without a result, merge them, report.

One commit on the user's branch records every finished job branch as a parent (what
``git merge -s ours`` records: jobs wrote the same paths, so an octopus merge of their contents
would conflict) and is tagged ``sweep/NAME``, so that one ref reaches every result.
"""
from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from .. import checks, commands, lock
from . import Job, Sweep, SweepError, stores
from .gitbatch import fsck_trees, plumbing, read_objects
from .jobs import Outcome, Runner, git, has_result, stage_command
from .reuse import reuse_prepares, reused_outputs


def accuracy_of(text: bytes | None) -> float | None:
    """accuracy.json's accuracy (jobs.accuracy_at's reading, from bytes already read)."""
    try:
        return float(json.loads(text)["accuracy"])
    except (ValueError, KeyError, TypeError):
        return None


def job_results(root: Path, sweep: Sweep) -> dict[str, float | None]:
    """Each job branch with a result (jobs.has_result) and its accuracy, in the sweep's order."""
    branches = [sweep.branch(job) for job in sweep.jobs]
    found = read_objects(root, [f"refs/heads/{b}:accuracy.json" for b in branches])
    return {b: accuracy_of(text) for b, text in zip(branches, found) if text is not None}


def unmerged_heads(root: Path, sweep: Sweep) -> dict[str, tuple[str, str]]:
    """Job branches HEAD does not reach yet -> (commit, tree), from one ``git for-each-ref``."""
    listed = plumbing(root, "for-each-ref", "--no-merged=HEAD",
                      "--format=%(refname:strip=2) %(objectname) %(tree)",
                      f"refs/heads/sweep/{sweep.name}")
    return {name: (commit, tree) for name, commit, tree in
            (line.split() for line in listed.splitlines())}


def merge(root: Path, sweep: Sweep) -> str | None:
    """One commit on the user's branch with every finished job branch as a parent, tagged
    ``sweep/NAME`` (``git merge -s ours``: jobs wrote the same paths, an octopus would conflict).
    Built with plumbing so the user's index and working tree stay as they are. A constant
    number of git processes for any number of jobs (one per branch made the merge of 10,000
    jobs take most of an hour)."""
    results, unmerged = job_results(root, sweep), unmerged_heads(root, sweep)
    new = [b for b in results if b in unmerged]
    if not new:
        return None
    # A sweep killed between a push and its fsck left the location log behind.
    fsck_trees(root, [unmerged[b][1] for b in new])
    head, branch = git(root, "rev-parse", "HEAD"), git(root, "symbolic-ref", "--quiet", "HEAD")
    lines = [f"{b}: accuracy {results[b]}" for b in new]
    message = (f"Sweep {sweep.name}: {len(new)} job branch(es) from {sweep.source}\n\n"
               "Each parent after the first is a job's branch (git merge -s ours: this tree is "
               "the branch's own).\n\n" + "\n".join(lines) + "\n")
    # The message on stdin, parents by id: a message naming 10,000 branches is over the 128 KiB
    # a single argument may have.
    parents = [arg for b in new for arg in ("-p", unmerged[b][0])]
    commit = plumbing(root, "commit-tree", f"{head}^{{tree}}", "-p", head, *parents, "-F", "-",
                      stdin=message)
    print(f"  recording {len(new)} job branch(es) as parents of one commit on your branch (what "
          f"`git merge -s ours {' '.join(new[:2])}{' ...' if len(new) > 2 else ''}` records; "
          "your working tree is not touched)", flush=True)
    plumbing(root, "update-ref", "-m", f"sweep {sweep.name}", branch, commit, head)
    plumbing(root, "tag", "--force", sweep.tag, commit)
    print(f"  {branch.removeprefix('refs/heads/')} {commit[:8]}: merge of {len(new)} job "
          f"branch(es), tagged {sweep.tag}", flush=True)
    return commit


def check_ready(root: Path, sweep: Sweep) -> None:
    """What the jobs read must be committed; the merge needs a branch checked out."""
    if not git(root, "symbolic-ref", "--quiet", "HEAD"):
        raise SweepError("HEAD is detached: check out the branch the sweep's merge commit should "
                         "go on (git switch main), then run the sweep again.")
    for path in (sweep.source, *sweep.params.values()):
        if not git(root, "rev-parse", "--verify", "--quiet", f"HEAD:{path}"):
            raise SweepError(f"{path} is not committed, and the jobs clone what is: "
                             f"`datalad save -m 'why' {path}`, then run the sweep again.")
        if git(root, "status", "--porcelain", "--", path):
            raise SweepError(f"{path} has changes that are not committed, and the jobs clone what "
                             f"is: `datalad save -m 'why' {path}` (or undo them), then run again.")


def get_image(root: Path, container: str) -> None:
    """The jobs take the image from this dataset (by hard link): get it here once, as the first
    single run would. Its working tree does not change."""
    image = git(root, "config", "-f", ".datalad/config", "--get",
                f"datalad.containers.{container}.image")
    if image:
        with lock.hold(root, command=f"datalad get {image}"):
            commands.run(["datalad", "get", image], cwd=root)


def announce(sweep: Sweep, todo: list[Job], runner: Runner, container: str,
             reused: dict[str, str] | None = None) -> None:
    """What will run, as the commands a user would type in each job's clone."""
    done = len(sweep.jobs) - len(todo)
    kept = f", {done} with a result already (kept)" if done else ""
    if not todo:
        print(f"sweep {sweep.name}: all {len(sweep.jobs)} jobs of {sweep.source} have a result.")
        return
    keys = {sweep.prepare_key(job, "") for job in todo}
    print(f"sweep {sweep.name}: {len(sweep.jobs)} jobs from {sweep.source}{kept}; running "
          f"{len(todo)}, {runner.parallel} at a time, each in a throwaway clone (under "
          f"{runner.scratch}) on its own branch; {len(keys) - len(reused or {})} prepare run(s) "
          "shared by them:", flush=True)
    print_reused(reused or {})
    for job in todo[:3]:
        typed = "; ".join(shlex.join(stage_command(sweep, job, stage, container))
                          for stage in ("train", "evaluate"))
        print(f"  sweep/{sweep.name}/{job.name}: {typed}")
    if len(todo) > 3:
        print(f"  ... and {len(todo) - 3} more")


def print_reused(reused: dict[str, str]) -> None:
    for run in reused.values():
        print(f"  prepare: the jobs start from your branch's prepare run {run[:8]}: they would "
              "run the same call on the same inputs (nothing it reads changed since)")


def run(root: Path, sweep: Sweep, parallel: int, container: str,
        scratch: str | None = None, ria: str | None = None) -> list[Outcome]:
    """Run the jobs without a result, merge, and return the failed ones; ``ria``: through RIA
    stores in that folder instead of pushing into the dataset (stores.py)."""
    check_ready(root, sweep)
    checks.require_setup(root, container)
    if container != "none":
        get_image(root, container)
    sweep_lock = lock.git_dir(root) / f"imageclf-sweep-{sweep.name}.lock"
    with lock.hold_file(sweep_lock, what=f"sweep {sweep.name}"):
        store = stores.for_sweep(root, ria)
        store.set_up()
        store.collect(sweep.name)  # results an interrupted sweep left in the output store
        runner = Runner(root, sweep, container, parallel, scratch, store=store)
        runner.remove(runner.scratch)  # what a killed sweep left: only this sweep's clones
        results = job_results(root, sweep)
        todo = [job for job in sweep.jobs if sweep.branch(job) not in results]
        head, tree = git(root, "rev-parse", "HEAD"), git(root, "rev-parse", "HEAD^{tree}")
        reused = reuse_prepares(root, sweep, todo, head, tree, container)
        # those reused prepare runs (and their outputs), where the jobs look for them
        store.share_bases(sweep.name, reused_outputs(root, reused))
        announce(sweep, todo, runner, container, reused)
        for job in sweep.jobs:
            if sweep.branch(job) in results:
                runner.progress.known(job.name, results[sweep.branch(job)])
        try:
            outcomes = runner.run(todo, head, tree) if todo else []
        except KeyboardInterrupt as stop:
            kept = sum(has_result(store.results, sweep.branch(job)) for job in sweep.jobs)
            error = SweepError(
                f"sweep {sweep.name} interrupted ({getattr(stop, 'signal_name', 'SIGINT')}): "
                f"{kept} of {len(sweep.jobs)} jobs have their branch in the dataset; the others "
                "stopped and left no clone, branch or container behind. Run the same command "
                "again to run only the jobs without a result.")
            error.exit_code = getattr(stop, "exit_code", 130)
            raise error from None
        with lock.hold(root, command=f"sweep {sweep.name}: merge"), commands.shielded():
            store.collect(sweep.name)
            merge(root, sweep)
    return report_outcomes(outcomes)


def report_outcomes(outcomes: list[Outcome]) -> list[Outcome]:
    """Print the mean fixed cost of the finished jobs and each failure with its log (both
    executors); return the failed ones."""
    finished = [o for o in outcomes if o.ok]
    if finished:
        mean = sum(o.fixed_seconds for o in finished) / len(finished)
        print(f"  fixed cost per job beyond its stages (clone, annex set-up, push, fsck): "
              f"{mean:.1f} s on average", flush=True)
    failed = [o for o in outcomes if not o.ok]
    for outcome in failed:
        print(f"FAILED {outcome.name}: {outcome.message}; log: {outcome.log}", file=sys.stderr)
    return failed
