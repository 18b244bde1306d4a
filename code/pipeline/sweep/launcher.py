"""The sweep command, one way for every executor: check, plan, announce, run the jobs without a
result, merge them, report.

An executor (local.py: a pool of jobs here; slurm.py: SLURM array tasks) runs the planned jobs
and returns their outcomes; everything before and after is the same for both, and a Ctrl-C has
one path: the executor stops what runs, the launcher says what is kept.
"""
from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .. import checks, commands, lock, process, stages
from ..git import config, git, has_ref
from .jobs import Jobs, base_ref, stage_command, text_value
from .merge import job_results, merge
from .model import Job, Sweep, SweepError
from .progress import SweepProgress
from .reuse import reuse_prepares, reused_outputs
from .shell import Outcome


@dataclass
class Plan:
    """What a sweep will run: the jobs without a result, where they start, the shared prepares
    still to run (key -> its first job) and those reused from HEAD (key -> run commit)."""

    sweep: Sweep
    container: str
    todo: list[Job]
    start: str
    tree: str
    prepares: dict[str, Job] = field(default_factory=dict)
    reused: dict[str, str] = field(default_factory=dict)
    done: dict[str, float | None] = field(default_factory=dict)  # branch -> accuracy

    def key(self, job: Job) -> str:
        return self.sweep.prepare_key(job, self.tree)


def make_plan(root: Path, sweep: Sweep, container: str, mark: bool = True) -> Plan:
    """The jobs without a result; ``mark``: record prepare runs reused from HEAD as done (not
    in a dry run)."""
    done = job_results(root, sweep)  # after store.collect: every branch is here
    todo = [job for job in sweep.jobs if sweep.branch(job) not in done]
    start, tree = git(root, "rev-parse", "HEAD"), git(root, "rev-parse", "HEAD^{tree}")
    plan = Plan(sweep, container, todo, start, tree, done=done)
    plan.reused = reuse_prepares(root, sweep, todo, start, tree, container, mark=mark)
    for job in todo:
        key = plan.key(job)
        if key not in plan.reused and not has_ref(root, base_ref(sweep, key)):
            plan.prepares.setdefault(key, job)
    return plan


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


def check_values(root: Path, sweep: Sweep) -> None:
    """Each stage's params file and each value a job gives it, checked as `run` checks them,
    before any job starts: a misspelt name would fail every job, its reason only in each job's
    log. Each distinct value once (10,000 jobs hold a few dozen values)."""
    for stage in sweep.stages:
        first_giving: dict[tuple[str, str], Job | None] = {}  # (name, value) -> the first job
        for job in sweep.jobs:
            for name, value in job.stage_overrides(stage).items():
                first_giving.setdefault((name, text_value(value)), job)
        checked = [([], None), *(([given], job) for given, job in first_giving.items())]
        for overrides, job in checked:  # the params file alone, then each value with it
            try:
                stages.plan(root, stage, overrides, sweep.params[stage])
            except checks.StageError as error:
                which = f"job {job.name} ({stage})" if job else f"stage {stage}"
                raise SweepError(f"{sweep.source}: {which}: {error}") from None


def get_image(root: Path, container: str) -> None:
    """The jobs take the image from this dataset (by hard link) or its stores: get it here once,
    as the first single run would. Its working tree does not change."""
    image = config(root, f"datalad.containers.{container}.image", ".datalad/config")
    if container != "none" and image:
        with lock.hold(root, command=f"datalad get {image}"):
            commands.run(["datalad", "get", image], cwd=root)


def announce(plan: Plan, executor, jobs: Jobs) -> None:
    """What will run, as the commands a user would type in each job's clone."""
    sweep, todo = plan.sweep, plan.todo
    if not todo:
        print(f"sweep {sweep.name}: all {len(sweep.jobs)} jobs of {sweep.source} have a result.")
        return
    done = len(sweep.jobs) - len(todo)
    kept = f", {done} with a result already (kept)" if done else ""
    print(f"sweep {sweep.name}: {len(sweep.jobs)} jobs from {sweep.source}{kept}; "
          f"{executor.describe(plan)}; each in a throwaway clone (under {jobs.scratch}) on its "
          "own branch:", flush=True)
    for run in plan.reused.values():
        print(f"  {sweep.shared_stage}: the jobs start from your branch's {sweep.shared_stage} "
              f"run {run[:8]}: they would run the same call on the same inputs (nothing it "
              "reads changed since)")
    for job in todo[:3]:
        typed = "; ".join(shlex.join(stage_command(sweep, job, stage, plan.container))
                          for stage in sweep.job_stages)
        print(f"  {sweep.branch(job)}: {typed}")
    if len(todo) > 3:
        print(f"  ... and {len(todo) - 3} more")


def dry_run(root: Path, sweep: Sweep, executor, store, container: str,
            scratch: str | None = None) -> None:
    """What the executor would submit, printed; nothing is run or marked."""
    root = root.resolve()
    check_ready(root, sweep)
    check_values(root, sweep)
    executor.dry_run(make_plan(root, sweep, container, mark=False),
                     Jobs(root, sweep, container, store, scratch))


def launch(root: Path, sweep: Sweep, executor, store, container: str,
           scratch: str | None = None) -> list[Outcome]:
    """Run the jobs without a result with ``executor``, through ``store`` (stores.py), merge
    them into the branch checked out; return the failed ones."""
    root = root.resolve()
    check_ready(root, sweep)
    check_values(root, sweep)
    executor.require()
    checks.require_setup(root, container)
    get_image(root, container)
    jobs = Jobs(root, sweep, container, store, scratch)
    sweep_lock = lock.git_dir(root) / f"imageclf-sweep-{sweep.name}.lock"
    with lock.hold_file(sweep_lock, what=f"sweep {sweep.name}"):
        executor.check_leftovers(root, sweep)
        store.set_up()
        store.collect(sweep.name)  # results an interrupted sweep left in the output store
        plan = make_plan(root, sweep, container)
        # the prepare runs reused from HEAD (and their outputs), where the jobs look for them
        store.share_bases(sweep.name, reused_outputs(root, plan.reused))
        jobs.remove(jobs.scratch)  # what a killed sweep left: only this sweep's clones
        announce(plan, executor, jobs)
        jobs.sweep_event("planned", jobs=len(plan.todo), prepares=len(plan.prepares))
        progress = SweepProgress(sweep.name, len(sweep.jobs), executor.slots)
        for job in sweep.jobs:
            if sweep.branch(job) in plan.done:
                progress.known(job.name, plan.done[sweep.branch(job)])
        try:
            outcomes = executor.run(plan, jobs, progress) if plan.todo else []
        except KeyboardInterrupt as stop:
            with process.shielded():
                executor.cancel(jobs)
            raise interrupted(sweep, store, executor, stop) from None
        finally:
            progress.close()
        with lock.hold(root, command=f"sweep {sweep.name}: merge"), process.shielded():
            store.collect(sweep.name)
            merged = merge(root, sweep)
        jobs.sweep_event("merged", commit=merged, finished=sum(o.ok for o in outcomes),
                         failed=sum(not o.ok for o in outcomes))
    return report(outcomes)


def interrupted(sweep: Sweep, store, executor, stop: KeyboardInterrupt) -> SweepError:
    kept = len(job_results(store.results, sweep))
    error = SweepError(
        f"sweep {sweep.name} interrupted ({process.signal_name(stop)}): {kept} of "
        f"{len(sweep.jobs)} jobs have their branch {store.results_place}; {executor.stopped}. "
        "Run the same command again to run only the jobs without a result.")
    error.exit_code = process.exit_code(stop)
    return error


def report(outcomes: list[Outcome]) -> list[Outcome]:
    """The mean fixed cost of the finished jobs and each failure with its log; the failed ones."""
    finished = [o for o in outcomes if o.ok]
    if finished:
        mean = sum(o.fixed_seconds for o in finished) / len(finished)
        print(f"  fixed cost per job beyond its stages (clone, annex set-up, push, fsck): "
              f"{mean:.1f} s on average", flush=True)
    failed = [o for o in outcomes if not o.ok]
    for outcome in failed:
        print(f"FAILED {outcome.name}: {outcome.message}; log: {outcome.log}", file=sys.stderr)
    return failed
