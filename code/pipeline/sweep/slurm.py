"""``sweep --executor slurm``: the sweep's jobs as SLURM array tasks, followed and merged here.

Two arrays are submitted with ``sbatch``: one task per shared prepare, then one task per job
(``--dependency=afterany`` on the first). Each task runs ``python -m pipeline.sweep.slurm_task``,
that is the local executor's own job code (jobs.Runner), and leaves a status file. This process
follows the tasks with ``squeue`` and those files (no accounting needed) on the local sweep's
progress line, then merges the job branches as a local sweep does (run.merge).
"""
from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .. import checks, commands, lock
from . import Sweep, SweepError
from .jobs import BASE_REFS, Outcome, Runner, accuracy_at, git, has_result, stage_command
from .reuse import reuse_prepares
from .run import check_ready, get_image, merge, print_reused, report_outcomes
from .slurm_task import read_status, status_path, sweep_to_plan

POLL = 1.0  # seconds between two looks at squeue and the status files
SQUEUE_TRIES = 30  # squeue failing this many times in a row: the controller is gone


@dataclass(frozen=True)
class Resources:
    """What each task asks SLURM for (sbatch's own option names)."""

    partition: str | None = None
    time: str = "1:00:00"
    cpus: int = 1
    mem: str = "4G"


def job_name(sweep: Sweep) -> str:
    return f"imageclf-sweep-{sweep.name}"


def script(root: Path, sweep: Sweep, plan_file: Path, resources: Resources) -> str:
    """The sbatch script: resources in its header, the task's work in one line."""
    folder = plan_file.parent
    header = [f"--job-name={job_name(sweep)}", f"--time={resources.time}",
              f"--cpus-per-task={resources.cpus}", f"--mem={resources.mem}",
              f"--output={folder}/%x-%A_%a.out", f"--chdir={root}"]
    if resources.partition:
        header.insert(1, f"--partition={resources.partition}")
    python = Path(sys.executable)
    lines = ["#!/bin/bash", *(f"#SBATCH {option}" for option in header),
             f"# sweep {sweep.name} ({sweep.source}): one array task per shared prepare "
             "(`prepare`), then one per job",
             "# (`job`); each runs the job code of a local sweep in a throwaway clone and pushes "
             "its branch",
             "# to the dataset under its lock (pipeline/sweep/jobs.py). $1: prepare or job.",
             "set -euo pipefail",
             f"export PATH={shlex.quote(str(python.parent))}:\"$PATH\" "
             f"PYTHONPATH={shlex.quote(str(root / 'code'))}",
             f"exec {shlex.quote(str(python))} -m pipeline.sweep.slurm_task "
             f"{shlex.quote(str(plan_file))} \"$1\" \"$SLURM_ARRAY_TASK_ID\""]
    return "\n".join(lines) + "\n"


def sbatch_commands(script_file: Path, prepares: int, jobs: int) -> list[list[str]]:
    """The two submissions; PREPARE_ID stands for the first one's job id in the second."""
    submit = []
    if prepares:
        submit.append(["sbatch", "--parsable", f"--array=0-{prepares - 1}", str(script_file),
                       "prepare"])
    after = ["--dependency=afterany:PREPARE_ID"] if prepares else []
    submit.append(["sbatch", "--parsable", f"--array=0-{jobs - 1}", *after, str(script_file),
                   "job"])
    return submit


def slurm(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, text=True, capture_output=True, stdin=subprocess.DEVNULL)


def require_slurm() -> None:
    if not shutil.which("sbatch") or not shutil.which("squeue"):
        raise SweepError("--executor slurm needs SLURM's sbatch and squeue on PATH: run from the "
                         "cluster's login node, or on this machine start a test cluster "
                         "(code/cluster/slurm.sh start, then export SLURM_CONF as it says).")
    probe = slurm(["squeue", "-h", "-o", "%i"])
    if probe.returncode != 0:
        raise SweepError(f"SLURM does not answer ({probe.stderr.strip()}): is the controller "
                         "running and SLURM_CONF set? (code/cluster/slurm.sh status)")


def still_queued(sweep: Sweep, root: Path) -> list[str]:
    """Job ids of this dataset's sweep NAME that SLURM still has (a launcher killed earlier)."""
    listed = slurm(["squeue", "-h", "-n", job_name(sweep), "-o", "%F %Z"]).stdout.split("\n")
    return sorted({line.split()[0] for line in listed
                   if len(line.split()) == 2 and Path(line.split()[1]) == root})


class Follower:
    """Both arrays: which tasks run, which have ended, with what outcome."""

    def __init__(self, runner: Runner, plan: dict, ids: dict[str, str], status_dir: Path):
        self.runner, self.plan, self.ids, self.status_dir = runner, plan, ids, status_dir
        self.reported: set[tuple[str, int]] = set()
        self.outcomes: list[Outcome] = []
        self.failed_squeue = 0
        self.preparing: set[int] = set()

    def queued(self) -> dict[str, str] | None:
        """``ARRAYID_INDEX`` -> state letter of every task SLURM still has; None if no answer."""
        answer = slurm(["squeue", "-h", "-r", "-j", ",".join(self.ids.values()), "-o", "%i %t"])
        if answer.returncode != 0:
            if "Invalid job id" in answer.stderr:  # every task has ended and been forgotten
                return {}
            self.failed_squeue += 1
            if self.failed_squeue >= SQUEUE_TRIES:
                raise SweepError(f"squeue fails ({answer.stderr.strip()}): the SLURM controller "
                                 f"is gone; the tasks ({', '.join(self.ids.values())}) may still "
                                 "run: follow them with squeue, then run the sweep again.")
            return None
        self.failed_squeue = 0
        return dict(line.split() for line in answer.stdout.splitlines() if len(line.split()) == 2)

    def ended_without_status(self, phase: str, index: int, name: str) -> Outcome:
        out = self.status_dir.parent / (f"{job_name(self.runner.sweep)}-{self.ids[phase]}"
                                        f"_{index}.out")
        return Outcome(name, False, log=out, message="the task ended without reporting "
                       "(cancelled, or over its --time or --mem: see its SLURM output)")

    def look(self) -> bool:
        """Report what changed; True while any task has not ended."""
        queued = self.queued()
        if queued is None:
            return True
        progress, waiting = self.runner.progress, False
        for phase in ("prepare", "job"):
            for index, task in enumerate(self.plan[phase]):
                if (phase, index) in self.reported:
                    continue
                name = task["key"] if phase == "prepare" else task["job"]
                state = queued.get(f"{self.ids[phase]}_{index}")
                outcome = read_status(status_path(self.status_dir, phase, name))
                if outcome is None and state is None:  # ended: its file may have come just now
                    outcome = read_status(status_path(self.status_dir, phase, name)) or \
                        self.ended_without_status(phase, index, name)
                if outcome is None:
                    waiting = True
                    if state == "R" and phase == "job":
                        progress.started(name)
                    elif state == "R" and index not in self.preparing:
                        self.preparing.add(index)
                        progress.preparing(+1)
                    continue
                self.reported.add((phase, index))
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
        progress.parallel = max(progress.parallel, len(progress.running))
        progress.tick()
        return waiting


def cancel(ids: dict[str, str], runner: Runner) -> None:
    """Ctrl-C: cancel both arrays, wait until SLURM has ended their tasks, remove the clones."""
    slurm(["scancel", *ids.values()])
    for _ in range(120):
        if not slurm(["squeue", "-h", "-j", ",".join(ids.values()), "-o", "%i"]).stdout.strip():
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


def run(root: Path, sweep: Sweep, container: str, resources: Resources,
        scratch: str | None = None, dry_run: bool = False) -> list[Outcome]:
    """Submit the jobs without a result as array tasks, follow them, merge; the failed ones."""
    root = root.resolve()
    check_ready(root, sweep)
    runner = Runner(root, sweep, container, 1, scratch)
    folder = runner.logs / "slurm"
    plan_file = folder / "plan.json"
    todo = [job for job in sweep.jobs if not has_result(root, sweep.branch(job))]
    start, tree = git(root, "rev-parse", "HEAD"), git(root, "rev-parse", "HEAD^{tree}")
    reused = reuse_prepares(root, sweep, todo, start, tree, container, mark=not dry_run)
    keys: dict[str, object] = {}
    for job in todo:
        keys.setdefault(sweep.prepare_key(job, tree), job)
    prepares = [{"key": key, "job": job.name} for key, job in keys.items()
                if key not in reused and not git(root, "rev-parse", "--verify", "--quiet",
                           f"{BASE_REFS}/{sweep.name}/{key}")]
    plan = {"root": str(root), "sweep": sweep_to_plan(sweep), "container": container,
            "scratch": scratch, "start": start, "status": str(folder / "status"),
            "prepare": prepares,
            "job": [{"job": job.name, "key": sweep.prepare_key(job, tree)} for job in todo]}
    text = script(root, sweep, plan_file, resources)
    if dry_run:
        print(f"# {plan_file.parent / 'sweep.sbatch'} ({len(prepares)} prepare task(s), "
              f"{len(todo)} job task(s); the plan goes to {plan_file}):")
        print(text, end="")
        for command in sbatch_commands(folder / "sweep.sbatch", len(prepares), len(todo)):
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
        runner.remove(runner.scratch)  # what a killed sweep left: only this sweep's clones
        announce(sweep, todo, plan, runner, resources)
        print_reused(reused)
        for job in sweep.jobs:
            if not any(j is job for j in todo):
                branch = f"refs/heads/{sweep.branch(job)}"
                runner.progress.known(job.name, accuracy_at(root, branch))
        outcomes = follow(runner, plan, plan_file, text, folder) if todo else []
        with lock.hold(root, command=f"sweep {sweep.name}: merge"), commands.shielded():
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
    ids: dict[str, str] = {}
    try:
        for command in sbatch_commands(script_file, len(plan["prepare"]), len(plan["job"])):
            command = [arg.replace("PREPARE_ID", ids.get("prepare", "")) for arg in command]
            print("  $ " + shlex.join(command), flush=True)
            submitted = slurm(command)
            if submitted.returncode != 0:
                raise SweepError(f"sbatch refused the sweep: {submitted.stderr.strip()} (the "
                                 f"script: {script_file}; change --partition, --time, --cpus or "
                                 "--mem to what the cluster offers)")
            ids[command[-1]] = submitted.stdout.strip().split(";")[0]
        runner.progress.say(f"  submitted: job {' and '.join(ids.values())} "
                            f"(squeue -j {','.join(ids.values())}); logs in {runner.logs}")
        follower = Follower(runner, plan, ids, status_dir)
        while follower.look():
            time.sleep(POLL)
        return follower.outcomes
    except KeyboardInterrupt as stop:
        with commands.shielded():
            cancel(ids, runner)
        kept = sum(has_result(runner.root, runner.sweep.branch(job)) for job in runner.sweep.jobs)
        error = SweepError(
            f"sweep {runner.sweep.name} interrupted ({getattr(stop, 'signal_name', 'SIGINT')}): "
            f"its SLURM tasks are cancelled; {kept} of {len(runner.sweep.jobs)} jobs have their "
            "branch in the dataset. Run the same command again to run only the jobs without a "
            "result.")
        error.exit_code = getattr(stop, "exit_code", 130)
        raise error from None
    finally:
        runner.progress.close()
