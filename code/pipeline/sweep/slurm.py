"""``sweep --executor slurm``: the sweep's jobs as SLURM array tasks, followed and merged here.

Arrays are submitted with ``sbatch`` (slurm_batch.py): one task per shared prepare, then one
task per job (``--dependency=afterany`` on the prepares; several arrays of each where the sweep
is larger than the cluster's MaxArraySize). Each task runs ``python -m
pipeline.sweep.slurm_task``, that is the local executor's own job code (jobs.Runner), and
leaves a status file. This process
follows the tasks with ``squeue`` and those files (no accounting needed) on the local sweep's
progress line, then merges the job branches as a local sweep does (run.merge).
"""
from __future__ import annotations

import json
import os
import shlex
import time
from pathlib import Path

from .. import checks, commands, lock
from . import Sweep, SweepError, stores
from .jobs import BASE_REFS, Outcome, Runner, git, stage_command
from .reuse import reuse_prepares, reused_outputs
from .run import check_ready, get_image, job_results, merge, print_reused, report_outcomes
from .slurm_batch import (Array, Resources, arrays, job_name, max_array_size, require_slurm,
                          sbatch_commands, script, slurm, still_queued)
from .slurm_task import read_status, status_name, status_path, sweep_to_plan

POLL = 1.0  # seconds between two looks at squeue and the status files
SQUEUE_TRIES = 30  # squeue failing this many times in a row: the controller is gone


class Follower:
    """Every array: which tasks run, which have ended, with what outcome. One squeue and one
    listing of the status folder per look, whatever the number of tasks."""

    PACK_EVERY = 500  # finished jobs between two packings of the output store's refs

    def __init__(self, runner: Runner, plan: dict, submitted: list[tuple[Array, str]],
                 status_dir: Path):
        self.runner, self.status_dir = runner, status_dir
        self.ids = [job_id for _, job_id in submitted]
        # (phase, index in the plan) -> (name, the array's job id, the index in that array)
        self.pending = {(array.phase, array.offset + local): (
            task["key"] if array.phase == "prepare" else task["job"], job_id, local)
            for array, job_id in submitted for local in range(array.count)
            for task in (plan[array.phase][array.offset + local],)}
        self.outcomes: list[Outcome] = []
        self.packed = 0
        self.failed_squeue = 0
        self.preparing: set[int] = set()

    def queued(self) -> dict[str, str] | None:
        """``ARRAYID_INDEX`` -> state letter of every task SLURM still has; None if no answer."""
        answer = slurm(["squeue", "-h", "-r", "-j", ",".join(self.ids), "-o", "%i %t"])
        if answer.returncode != 0:
            if "Invalid job id" in answer.stderr:  # every task has ended and been forgotten
                return {}
            self.failed_squeue += 1
            if self.failed_squeue >= SQUEUE_TRIES:
                raise SweepError(f"squeue fails ({answer.stderr.strip()}): the SLURM controller "
                                 f"is gone; the tasks ({', '.join(self.ids)}) may still "
                                 "run: follow them with squeue, then run the sweep again.")
            return None
        self.failed_squeue = 0
        return dict(line.split() for line in answer.stdout.splitlines() if len(line.split()) == 2)

    def ended_without_status(self, name: str, job_id: str, local: int) -> Outcome:
        out = self.status_dir.parent / f"{job_name(self.runner.sweep)}-{job_id}_{local}.out"
        return Outcome(name, False, log=out, message="the task ended without reporting "
                       "(cancelled, or over its --time or --mem: see its SLURM output)")

    def outcome(self, phase: str, name: str, written: set[str], ended: bool,
                where: tuple[str, int]) -> Outcome | None:
        # the file's name first: building 10,000 paths a second was most of a look's time
        if not ended and status_name(phase, name) not in written:
            return None
        path = status_path(self.status_dir, phase, name)
        if path.name in written:
            return read_status(path)
        # squeue no longer has it: its file may have come after the listing
        return read_status(path) or self.ended_without_status(name, *where)

    def look(self) -> bool:
        """Report what changed; True while any task has not ended."""
        queued = self.queued()
        if queued is None:
            return True
        written = set(os.listdir(self.status_dir))  # after squeue: a task writes, then ends
        progress = self.runner.progress
        for (phase, index), (name, job_id, local) in list(self.pending.items()):
            state = queued.get(f"{job_id}_{local}")
            outcome = self.outcome(phase, name, written, state is None, (job_id, local))
            if outcome is None:
                if state == "R" and phase == "job":
                    progress.started(name)
                elif state == "R" and index not in self.preparing:
                    self.preparing.add(index)
                    progress.preparing(+1)
                continue
            del self.pending[phase, index]
            if phase == "prepare":
                if index in self.preparing:
                    self.preparing.discard(index)
                    progress.preparing(-1)
                if not outcome.ok:
                    progress.say(f"  FAILED  prepare {name}: {outcome.message} "
                                 f"(log: {outcome.log})")
                continue
            self.outcomes.append(outcome)
            progress.finished(outcome)
        if len(self.outcomes) // self.PACK_EVERY > self.packed:
            self.packed = len(self.outcomes) // self.PACK_EVERY
            self.runner.store.pack_refs()
        progress.parallel = max(progress.parallel, len(progress.running))
        progress.tick()
        return bool(self.pending)


def cancel(ids: list[str], runner: Runner) -> None:
    """Ctrl-C: cancel every array, wait until SLURM has ended their tasks, remove the clones."""
    if ids:
        slurm(["scancel", *ids])
    for _ in range(120 if ids else 0):
        if not slurm(["squeue", "-h", "-j", ",".join(ids), "-o", "%i"]).stdout.strip():
            break
        time.sleep(0.5)
    runner.remove(runner.scratch)


def announce(sweep: Sweep, todo: list, plan: dict, runner: Runner, resources: Resources) -> None:
    """What will be submitted, as the commands a user would type in each job's clone."""
    done = len(sweep.jobs) - len(todo)
    kept = f", {done} with a result already (kept)" if done else ""
    if not todo:
        print(f"sweep {sweep.name}: all {len(sweep.jobs)} jobs of {sweep.source} have a result.")
        return
    print(f"sweep {sweep.name}: {len(sweep.jobs)} jobs from {sweep.source}{kept}; submitting "
          f"{len(todo)} as SLURM array tasks ({resources.cpus} CPU, {resources.mem}, "
          f"{resources.time} each) after {len(plan['prepare'])} shared prepare task(s); each "
          f"job in a throwaway clone (under {runner.scratch}) on its own branch:", flush=True)
    for job in todo[:3]:
        typed = "; ".join(shlex.join(stage_command(sweep, job, stage, plan["container"]))
                          for stage in ("train", "evaluate"))
        print(f"  sweep/{sweep.name}/{job.name}: {typed}")
    if len(todo) > 3:
        print(f"  ... and {len(todo) - 3} more")


def make_plan(runner: Runner, container: str, scratch: str | None,
              dry_run: bool = False) -> tuple[list, dict, dict]:
    """The jobs without a result, the plan the tasks read (the sweep, the starting commit, the
    stores, the prepares still missing and the jobs) and the prepare runs reused from HEAD."""
    root, sweep = runner.root, runner.sweep
    done = job_results(root, sweep)
    todo = [job for job in sweep.jobs if sweep.branch(job) not in done]
    start, tree = git(root, "rev-parse", "HEAD"), git(root, "rev-parse", "HEAD^{tree}")
    reused = reuse_prepares(root, sweep, todo, start, tree, container, mark=not dry_run)
    keys: dict[str, object] = {}
    for job in todo:
        keys.setdefault(sweep.prepare_key(job, tree), job)
    prepares = [{"key": key, "job": job.name} for key, job in keys.items()
                if key not in reused and not git(root, "rev-parse", "--verify", "--quiet",
                           f"{BASE_REFS}/{sweep.name}/{key}")]
    plan = {"root": str(root), "sweep": sweep_to_plan(sweep), "container": container,
            "scratch": scratch, "ria": str(runner.store.folder), "start": start,
            "status": str(runner.logs / "slurm" / "status"), "prepare": prepares,
            "job": [{"job": job.name, "key": sweep.prepare_key(job, tree)} for job in todo]}
    return todo, plan, reused


def run(root: Path, sweep: Sweep, container: str, resources: Resources,
        scratch: str | None = None, dry_run: bool = False,
        ria: str | None = None) -> list[Outcome]:
    """Submit the jobs without a result as array tasks, follow them, merge; the failed ones.
    Results come through RIA stores: ``ria``, else the dataset's .git/imageclf-ria."""
    root = root.resolve()
    check_ready(root, sweep)
    store = stores.for_sweep(root, ria, always=True)
    runner = Runner(root, sweep, container, 1, scratch, store=store)
    folder = runner.logs / "slurm"
    plan_file = folder / "plan.json"
    text = script(root, sweep, plan_file, resources)
    if dry_run:
        todo, plan, _ = make_plan(runner, container, scratch, dry_run=True)
        print(f"# {plan_file.parent / 'sweep.sbatch'} ({len(plan['prepare'])} prepare task(s), "
              f"{len(todo)} job task(s); the plan goes to {plan_file}):")
        print(text, end="")
        for command in sbatch_commands(folder / "sweep.sbatch", len(plan["prepare"]),
                                       len(todo), max_array_size()):
            print("# $ " + shlex.join(command))
        return []
    require_slurm()
    checks.require_setup(root, container)
    if container != "none":
        get_image(root, container)
    sweep_lock = lock.git_dir(root) / f"imageclf-sweep-{sweep.name}.lock"
    with lock.hold_file(sweep_lock, what=f"sweep {sweep.name}"):
        left = still_queued(sweep, root)
        if left:
            raise SweepError(f"SLURM still has tasks of sweep {sweep.name} from this dataset "
                             f"(job {', '.join(left)}): wait for them to end (squeue) or cancel "
                             f"them (scancel {' '.join(left)}), then run the sweep again.")
        store.set_up()
        store.collect(sweep.name)  # results of an interrupted sweep, still in the output store
        todo, plan, reused = make_plan(runner, container, scratch)
        # prepare runs reused from HEAD (and their outputs), where tasks look for them
        store.share_bases(sweep.name, reused_outputs(root, reused))
        runner.remove(runner.scratch)  # what a killed sweep left: only this sweep's clones
        announce(sweep, todo, plan, runner, resources)
        print_reused(reused)
        done = job_results(root, sweep)
        for job in sweep.jobs:
            if sweep.branch(job) in done:
                runner.progress.known(job.name, done[sweep.branch(job)])
        outcomes = follow(runner, plan, plan_file, text, folder) if todo else []
        with lock.hold(root, command=f"sweep {sweep.name}: merge"), commands.shielded():
            store.collect(sweep.name)
            merge(root, sweep)
    return report_outcomes(outcomes)


def follow(runner: Runner, plan: dict, plan_file: Path, text: str, folder: Path) -> list[Outcome]:
    """Write the plan and script, submit both arrays, follow them until every task has ended."""
    status_dir = Path(plan["status"])
    if status_dir.exists():
        commands.remove_tree(status_dir)
    status_dir.mkdir(parents=True)  # also the folder of --output: sbatch needs it to exist
    runner.logs.mkdir(parents=True, exist_ok=True)
    plan_file.write_text(json.dumps(plan, indent=1, ensure_ascii=False))
    script_file = folder / "sweep.sbatch"
    script_file.write_text(text)
    submitted: list[tuple[Array, str]] = []
    try:
        for array in arrays(len(plan["prepare"]), len(plan["job"]), max_array_size()):
            prepares = ":".join(job_id for a, job_id in submitted if a.phase == "prepare")
            command = [arg.replace("PREPARE_IDS", prepares) for arg in
                       array.command(script_file) if prepares or "PREPARE_IDS" not in arg]
            print("  $ " + shlex.join(command), flush=True)
            answer = slurm(command)
            if answer.returncode != 0:
                raise SweepError(f"sbatch refused the sweep: {answer.stderr.strip()} (the "
                                 f"script: {script_file}; change --partition, --time, --cpus or "
                                 "--mem to what the cluster offers)")
            submitted.append((array, answer.stdout.strip().split(";")[0]))
        ids = [job_id for _, job_id in submitted]
        runner.progress.say(f"  submitted: job {' and '.join(ids)} "
                            f"(squeue -j {','.join(ids)}); logs in {runner.logs}")
        follower = Follower(runner, plan, submitted, status_dir)
        while follower.look():
            time.sleep(POLL)
        return follower.outcomes
    except KeyboardInterrupt as stop:
        with commands.shielded():
            cancel([job_id for _, job_id in submitted], runner)
        kept = len(job_results(runner.store.results, runner.sweep))
        error = SweepError(
            f"sweep {runner.sweep.name} interrupted ({getattr(stop, 'signal_name', 'SIGINT')}): "
            f"its SLURM tasks are cancelled; {kept} of {len(runner.sweep.jobs)} jobs have their "
            f"branch in the output store ({stores.OUTPUT}). Run the same command again to run "
            "only the jobs without a result.")
        error.exit_code = getattr(stop, "exit_code", 130)
        raise error from None
    finally:
        runner.progress.close()
