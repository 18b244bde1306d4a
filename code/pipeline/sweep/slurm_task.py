"""One SLURM array task of a sweep: ``python -m pipeline.sweep.slurm_task PLAN PHASE INDEX``.

The sbatch script that ``sweep --executor slurm`` writes runs this in every task. PLAN (JSON,
written by slurm.py) holds the sweep, the starting commit and the tasks; PHASE is ``prepare``
(one shared prepare per task) or ``job`` (the later stages of one job, after the prepares).
The work is the local executor's own (jobs.py: the same clone, stages, push, through the RIA
stores the plan names); its outcome is the last event of the task's stream, which the
launcher reads.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

from .. import events
from ..git import has_ref
from . import stores
from .jobs import Jobs, base_ref
from .model import Job, Sweep
from .shell import JobFailed, Outcome, Stopped

PHASES = ("prepare", "job")


def sweep_to_plan(sweep: Sweep) -> dict:
    return {"name": sweep.name, "source": sweep.source, "params": sweep.params,
            "description": sweep.description,
            "jobs": [{"name": job.name, "overrides": job.overrides} for job in sweep.jobs]}


def sweep_from_plan(spec: dict) -> Sweep:
    jobs = tuple(Job(job["name"], job["overrides"]) for job in spec["jobs"])
    return Sweep(spec["name"], spec["source"], spec["params"], jobs, spec["description"])


def run_task(plan: dict, phase: str, index: int) -> Outcome:
    sweep = sweep_from_plan(plan["sweep"])
    task = plan[phase][index]
    job = next(job for job in sweep.jobs if job.name == task["job"])
    root = Path(plan["root"])
    jobs = Jobs(root, sweep, plan["container"], stores.for_sweep(root, plan.get("ria")),
                plan.get("scratch"))
    # scancel (and a task over its --time) sends SIGTERM to every process of the task: the
    # running command ends, the job stops as on Ctrl-C and removes its clone.
    signal.signal(signal.SIGTERM, lambda *_: jobs.processes.stop.set())
    name = f"prepare-{task['key']}" if phase == "prepare" else job.name
    try:
        if phase == "prepare":
            jobs.run_base(task["key"], job, plan["start"])
            found = events.last(jobs.events_path(name), "outcome")  # none: it ran earlier
            return Outcome.from_event(found) if found else jobs.record(Outcome(name, True))
        ref = base_ref(sweep, task["key"])
        if not has_ref(jobs.store.results, ref):
            return jobs.base_failed(job, JobFailed("its prepare failed or did not run",
                                                   jobs.logs / f"prepare-{task['key']}.log"))
        return jobs.run_job(job, ref)
    except JobFailed as error:  # a prepare's: its stream has the outcome already
        return Outcome(name, False, log=error.log, message=str(error))
    except Stopped:
        return jobs.record(Outcome(name, False, message="stopped (cancelled, or over its "
                                                        "--time)"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.sweep.slurm_task",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("plan", type=Path)
    parser.add_argument("phase", choices=PHASES)
    parser.add_argument("index", type=int, nargs="?",
                        default=int(os.environ.get("SLURM_ARRAY_TASK_ID", "-1")))
    args = parser.parse_args(argv)
    plan = json.loads(args.plan.read_text())
    if not 0 <= args.index < len(plan[args.phase]):
        parser.error(f"no {args.phase} task {args.index} in {args.plan}")
    outcome = run_task(plan, args.phase, args.index)
    print(f"{args.phase} {outcome.name}: {'done' if outcome.ok else 'FAILED: ' + outcome.message}")
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())
