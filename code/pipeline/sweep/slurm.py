"""The SLURM executor: a sweep's jobs as SLURM array tasks, followed from here.

Arrays are submitted with ``sbatch`` (slurm_batch.py): one task per shared prepare, then one
task per job (``--dependency=afterany`` on the prepares; several arrays of each where the sweep
is larger than the cluster's MaxArraySize). Each task runs ``python -m
pipeline.sweep.slurm_task``, that is the local executor's own job code (jobs.py), and leaves its
outcome as the last event of its stream (shell.py), because a cluster without accounting (sacct)
forgets a task's exit code once it has ended. This process follows the tasks with ``squeue`` and
those streams, on the sweep's progress line; the launcher merges as for a local sweep.
"""
from __future__ import annotations

import json
import os
import shlex
import time
from pathlib import Path

from .. import events
from .jobs import Jobs
from .model import Sweep, SweepError
from .shell import Outcome
from .slurm_batch import (Array, Resources, arrays, job_name, max_array_size, require_slurm,
                          sbatch_commands, script, slurm, still_queued)
from .slurm_task import sweep_to_plan

POLL = 1.0  # seconds between two looks at squeue and the jobs' streams
SQUEUE_TRIES = 30  # squeue failing this many times in a row: the controller is gone


class Follower:
    """Every array: which tasks run, which have ended, with what outcome. One squeue and one
    listing of the log folder per look, whatever the number of tasks."""

    PACK_EVERY = 500  # finished jobs between two packings of the output store's refs

    def __init__(self, jobs: Jobs, progress, plan: dict, submitted: list[tuple[Array, str]]):
        self.jobs, self.progress = jobs, progress
        self.ids = [job_id for _, job_id in submitted]
        # (phase, index in the plan) -> (stream name, the array's job id, the index in it)
        self.pending = {(array.phase, array.offset + local): (
            stream_name(array.phase, plan[array.phase][array.offset + local]), job_id, local)
            for array, job_id in submitted for local in range(array.count)}
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

    def outcome(self, name: str, written: set[str], ended: bool,
                where: tuple[str, int]) -> Outcome | None:
        """The task's outcome event, once there; one that ended without one failed."""
        stream = self.jobs.events_path(name)
        # the file's name first: building 10,000 paths a second was most of a look's time
        if stream.name not in written and not ended:
            return None
        found = events.last(stream, "outcome")
        if found is not None:
            return Outcome.from_event(found)
        if not ended:
            return None
        job_id, local = where
        log = self.jobs.logs / "slurm" / f"{job_name(self.jobs.sweep)}-{job_id}_{local}.out"
        return Outcome(name, False, log=log, message="the task ended without reporting "
                       "(cancelled, or over its --time or --mem: see its SLURM output)")

    def look(self) -> bool:
        """Report what changed; True while any task has not ended."""
        queued = self.queued()
        if queued is None:
            return True
        written = set(os.listdir(self.jobs.logs))  # after squeue: a task writes, then ends
        for (phase, index), (name, job_id, local) in list(self.pending.items()):
            state = queued.get(f"{job_id}_{local}")
            outcome = self.outcome(name, written, state is None, (job_id, local))
            if outcome is None:
                if state == "R" and phase == "job":
                    self.progress.started(name)
                elif state == "R" and index not in self.preparing:
                    self.preparing.add(index)
                    self.progress.preparing(+1)
                continue
            del self.pending[phase, index]
            if phase == "prepare":
                if index in self.preparing:
                    self.preparing.discard(index)
                    self.progress.preparing(-1)
                if not outcome.ok:
                    self.progress.say(f"  FAILED  {name}: {outcome.message} "
                                      f"(log: {outcome.log})")
                continue
            self.outcomes.append(outcome)
            self.progress.finished(outcome)
        if len(self.outcomes) // self.PACK_EVERY > self.packed:
            self.packed = len(self.outcomes) // self.PACK_EVERY
            self.jobs.store.pack_refs()
        self.progress.parallel = max(self.progress.parallel, len(self.progress.running))
        self.progress.tick()
        return bool(self.pending)


def stream_name(phase: str, task: dict) -> str:
    """The name of a task's log and event stream (jobs.py names them so)."""
    return f"prepare-{task['key']}" if phase == "prepare" else task["job"]


def task_plan(plan, jobs: Jobs, scratch: str | None) -> dict:
    """What the tasks read (plan.json): the sweep, where it starts, the stores, the tasks."""
    return {"root": str(jobs.root), "sweep": sweep_to_plan(plan.sweep),
            "container": plan.container, "scratch": scratch, "ria": str(jobs.store.folder),
            "start": plan.start,
            "prepare": [{"key": key, "job": job.name} for key, job in plan.prepares.items()],
            "job": [{"job": job.name, "key": plan.key(job)} for job in plan.todo]}


class SlurmExecutor:
    stopped = "the other SLURM tasks are cancelled and left no clone behind"

    def __init__(self, resources: Resources, scratch: str | None = None) -> None:
        self.resources, self.scratch = resources, scratch
        self.slots = 1  # grows to the number of tasks SLURM runs at once (Follower)
        self.ids: list[str] = []

    def describe(self, plan) -> str:
        r = self.resources
        return (f"submitting {len(plan.todo)} as SLURM array tasks ({r.cpus} CPU, {r.mem}, "
                f"{r.time} each) after {len(plan.prepares)} shared prepare task(s)")

    def require(self) -> None:
        require_slurm()

    def check_leftovers(self, root: Path, sweep: Sweep) -> None:
        left = still_queued(sweep, root)
        if left:
            raise SweepError(f"SLURM still has tasks of sweep {sweep.name} from this dataset "
                             f"(job {', '.join(left)}): wait for them to end (squeue) or cancel "
                             f"them (scancel {' '.join(left)}), then run the sweep again.")

    def files(self, jobs: Jobs) -> tuple[Path, Path, Path]:
        folder = jobs.logs / "slurm"
        return folder, folder / "plan.json", folder / "sweep.sbatch"

    def dry_run(self, plan, jobs: Jobs) -> None:
        """Print the sbatch script and the submissions; submit nothing."""
        folder, plan_file, script_file = self.files(jobs)
        print(f"# {script_file} ({len(plan.prepares)} prepare task(s), {len(plan.todo)} job "
              f"task(s); the plan goes to {plan_file}):")
        print(script(jobs.root, plan.sweep, plan_file, self.resources), end="")
        for command in sbatch_commands(script_file, len(plan.prepares), len(plan.todo),
                                       max_array_size()):
            print("# $ " + shlex.join(command))

    def run(self, plan, jobs: Jobs, progress) -> list[Outcome]:
        """Write the plan and script, submit the arrays, follow them until every task ended."""
        folder, plan_file, script_file = self.files(jobs)
        folder.mkdir(parents=True, exist_ok=True)  # --output's folder: sbatch needs it to exist
        tasks = task_plan(plan, jobs, self.scratch)
        for phase in ("prepare", "job"):  # a stream left by an earlier attempt is not news
            for task in tasks[phase]:
                jobs.events_path(stream_name(phase, task)).unlink(missing_ok=True)
        plan_file.write_text(json.dumps(tasks, indent=1, ensure_ascii=False))
        script_file.write_text(script(jobs.root, plan.sweep, plan_file, self.resources))
        submitted: list[tuple[Array, str]] = []
        for array in arrays(len(tasks["prepare"]), len(tasks["job"]), max_array_size()):
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
            self.ids.append(submitted[-1][1])
        jobs.sweep_event("submitted", executor="slurm", ids=self.ids)
        progress.say(f"  submitted: job {' and '.join(self.ids)} "
                     f"(squeue -j {','.join(self.ids)}); logs in {jobs.logs}")
        follower = Follower(jobs, progress, tasks, submitted)
        while follower.look():
            time.sleep(POLL)
        return follower.outcomes

    def cancel(self, jobs: Jobs) -> None:
        """Ctrl-C: cancel every array, wait until SLURM has ended their tasks, remove the
        clones."""
        if self.ids:
            slurm(["scancel", *self.ids])
        for _ in range(120 if self.ids else 0):
            if not slurm(["squeue", "-h", "-j", ",".join(self.ids), "-o", "%i"]).stdout.strip():
                break
            time.sleep(0.5)
        jobs.remove(jobs.scratch)
