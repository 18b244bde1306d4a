"""One SLURM array task of a sweep: ``python -m pipeline.sweep.slurm_task PLAN PHASE INDEX``.

The sbatch script that ``sweep --executor slurm`` writes runs this in every task. PLAN (JSON,
written by slurm.py) holds the sweep, the starting commit and the tasks; PHASE is ``prepare``
(one shared prepare per task) or ``job`` (train and evaluate of one job, after the prepares).
The work is the local executor's own (jobs.Runner: the same clone, stages, push, through the
RIA stores the plan names); this module
only picks the task and leaves its outcome as a status file that the launcher reads, because a
cluster without accounting (sacct) forgets a task's exit code once it has ended.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import json
import os
import signal
import sys
from pathlib import Path

from . import Job, Sweep, stores
from .jobs import BASE_REFS, JobFailed, Outcome, Runner, Stopped, git

PHASES = ("prepare", "job")


def sweep_to_plan(sweep: Sweep) -> dict:
    return {"name": sweep.name, "source": sweep.source, "params": sweep.params,
            "description": sweep.description,
            "jobs": [{"name": job.name, "overrides": job.overrides} for job in sweep.jobs]}


def sweep_from_plan(spec: dict) -> Sweep:
    jobs = tuple(Job(job["name"], job["overrides"]) for job in spec["jobs"])
    return Sweep(spec["name"], spec["source"], spec["params"], jobs, spec["description"])


def status_name(phase: str, name: str) -> str:
    return f"{phase}-{name}.json"


def status_path(status_dir: Path, phase: str, name: str) -> Path:
    return status_dir / status_name(phase, name)


def write_status(path: Path, outcome: Outcome) -> None:
    """Written whole or not at all: the launcher never reads half a file."""
    fields = dataclasses.asdict(outcome)
    fields["log"] = str(outcome.log) if outcome.log else None
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(fields))
    partial.replace(path)


def read_status(path: Path) -> Outcome | None:
    try:
        fields = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    fields["log"] = Path(fields["log"]) if fields.get("log") else None
    return Outcome(**fields)


def base_future(runner: Runner, key: str) -> concurrent.futures.Future:
    """The shared prepare's ref, as run_job takes it: there, or failed with its log named."""
    future: concurrent.futures.Future = concurrent.futures.Future()
    ref = f"{BASE_REFS}/{runner.sweep.name}/{key}"
    if git(runner.store.results, "rev-parse", "--verify", "--quiet", ref):
        future.set_result(ref)
    else:
        failed = JobFailed("its prepare failed or did not run")
        failed.log = runner.logs / f"prepare-{key}.log"
        future.set_exception(failed)
    return future


def run_task(plan: dict, phase: str, index: int) -> Outcome:
    sweep = sweep_from_plan(plan["sweep"])
    root = Path(plan["root"])
    task = plan[phase][index]
    job = next(job for job in sweep.jobs if job.name == task["job"])
    store = stores.for_sweep(root, plan.get("ria"))
    runner = Runner(root, sweep, plan["container"], 1, plan.get("scratch"), out=sys.stdout,
                    store=store)
    runner.logs.mkdir(parents=True, exist_ok=True)
    # scancel (and a task over its --time) sends SIGTERM to every process of the task: the
    # running command ends, the job stops as on Ctrl-C and removes its clone.
    signal.signal(signal.SIGTERM, lambda *_: runner.stop.set())
    if phase == "prepare":
        try:
            runner.run_base(task["key"], job, plan["start"])
            return Outcome(f"prepare-{task['key']}", True)
        except JobFailed as error:
            return Outcome(f"prepare-{task['key']}", False, log=error.log, message=str(error))
    return runner.run_job(job, base_future(runner, task["key"]))


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
    task = plan[args.phase][args.index]
    name = task["key"] if args.phase == "prepare" else task["job"]
    try:
        outcome = run_task(plan, args.phase, args.index)
    except Stopped:
        outcome = Outcome(name, False, message="stopped (cancelled, or over its --time)")
    if args.phase == "prepare":
        outcome = dataclasses.replace(outcome, name=name)
    write_status(status_path(Path(plan["status"]), args.phase, name), outcome)
    print(f"{args.phase} {name}: {'done' if outcome.ok else 'FAILED: ' + outcome.message}")
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())
