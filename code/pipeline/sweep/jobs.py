"""Run a sweep's jobs the FAIRly-big way: a throwaway clone per job, results pushed back.

Each job clones the dataset into a scratch folder, declares the clone dead to git-annex (it
never appears as a place holding data) and shares the dataset's annexed objects through a
symlink, so that the image and the prepared pixels are not copied. On branch ``sweep/NAME/JOB``
it runs the stages with the commands a single run uses (``python -m pipeline run STAGE -f FILE
-p NAME VALUE``), each a run record; the branch is then pushed to the dataset under its lock,
where ``git annex fsck --fast`` records the new annexed outputs as present. Jobs with the same
prepare parameters start from one prepare result (a hidden ref ``refs/sweep-bases/NAME/KEY``).
The user's working tree is never touched; sweep_run.py merges the job branches afterwards.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import queue
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .. import commands, lock
from ..inputdata import SUBDATASET
from . import Job, Sweep
from .progress import SweepProgress

SCRATCH_FOLDER = "imageclf-sweeps"  # under the dataset's .git unless --scratch names another
BASE_REFS = "refs/sweep-bases"
LOG_FOLDER = "imageclf-logs/sweeps"


class JobFailed(Exception):
    """A command of a job failed; the message names it, the job's log has its output."""


class Stopped(Exception):
    """The sweep was interrupted: the job stops and keeps nothing."""


@dataclass
class Outcome:
    name: str
    ok: bool
    seconds: float = 0.0
    accuracy: float | None = None
    log: Path | None = None
    message: str = ""
    stage_seconds: float = 0.0  # of ``seconds``: the stages themselves; the rest is fixed cost

    @property
    def fixed_seconds(self) -> float:
        """Clone, annex set-up, push and fsck: what a job costs beyond its stages."""
        return self.seconds - self.stage_seconds


def core_shares(parallel: int) -> list[str | None]:
    """One share of this process's cores per job slot (``0``, ``1``; ``0-1``, ``2-3``...), so
    that jobs running together do not oversubscribe the cores: a job's random forest
    (n_jobs=-1) and its container see only its share. Results do not depend on it. None when
    there are fewer cores than slots, or one slot."""
    cores = sorted(os.sched_getaffinity(0))
    if parallel < 2 or parallel > len(cores) or not shutil.which("taskset"):
        return [None] * max(parallel, 1)
    bounds = [len(cores) * slot // parallel for slot in range(parallel + 1)]
    return [",".join(str(c) for c in cores[bounds[slot]:bounds[slot + 1]])
            for slot in range(parallel)]


def git(root: Path, *args: str) -> str:
    return commands.output(["git", *args], cwd=root)


def has_result(root: Path, branch: str) -> bool:
    """A job is done when its branch is in the dataset with an evaluation on it."""
    return bool(git(root, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}:accuracy.json"))


def accuracy_at(root: Path, ref: str) -> float | None:
    try:
        return float(json.loads(git(root, "show", f"{ref}:accuracy.json"))["accuracy"])
    except (ValueError, KeyError, TypeError):
        return None


def stage_command(sweep: Sweep, job: Job, stage: str, container: str) -> list[str]:
    """The command a user types for this stage of this job (a single run, in the clone)."""
    args = ["python", "-m", "pipeline", "run", stage]
    if sweep.params[stage] != f"params/{stage}.yaml":
        args += ["-f", sweep.params[stage]]
    for name, value in job.stage_overrides(stage).items():
        args += ["-p", name, text_value(value)]
    return args + (["--container", container] if container != "software" else [])


def text_value(value) -> str:
    """A value as ``-p`` takes it: mappings and lists as YAML (JSON is YAML), True as True."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class Runner:
    """The jobs of one sweep, run ``parallel`` at a time, stoppable by Ctrl-C at any moment."""

    def __init__(self, root: Path, sweep: Sweep, container: str, parallel: int,
                 scratch: str | None = None, out=None) -> None:
        self.root, self.sweep = root.resolve(), sweep
        self.container, self.parallel = container, parallel
        self.git_dir = lock.git_dir(self.root)
        top = Path(scratch).resolve() / f"{SCRATCH_FOLDER}-{self.root.name}" if scratch else (
            self.git_dir / SCRATCH_FOLDER)
        self.scratch = top / sweep.name
        self.logs = self.git_dir / LOG_FOLDER / sweep.name
        self.stop = threading.Event()
        self.push_guard = threading.Lock()  # lock.hold is re-entrant per process, not per thread
        self.live: set[subprocess.Popen] = set()
        self.live_guard = threading.Lock()
        self.progress = SweepProgress(sweep.name, len(sweep.jobs), parallel, out)
        self.free_cores = queue.SimpleQueue()
        for cores in core_shares(parallel):
            self.free_cores.put(cores)

    # -- one command of a job ---------------------------------------------------------------
    def sh(self, args: list[str], cwd: Path, log, env: dict | None = None,
           finish: bool = False) -> None:
        """Run a command of a job in a process group of its own, its output into the job's log.
        ``finish``: a step of a push, which completes even when the sweep is stopped."""
        if self.stop.is_set() and not finish:
            raise Stopped()
        began = time.monotonic()
        log.write(f"\n[{time.strftime('%H:%M:%S')}] $ {shlex.join(args)}    (in {cwd})\n")
        log.flush()
        process = subprocess.Popen(args, cwd=cwd, env=env or commands.tool_env(),
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        with self.live_guard:
            self.live.add(process)
            if self.stop.is_set() and not finish:  # started as Ctrl-C came: stop it too
                os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait()
        finally:
            with self.live_guard:
                self.live.discard(process)
        log.write(f"  ({time.monotonic() - began:.1f} s, exit code {process.returncode})\n")
        log.flush()
        if self.stop.is_set() and not finish:
            raise Stopped()
        if process.returncode != 0:
            raise JobFailed(f"`{shlex.join(args)}` failed (exit code {process.returncode})")

    def stage_env(self, clone: Path) -> dict:
        """The clone's own committed code runs its stages; VERBOSE: the log gets everything."""
        env = commands.tool_env()
        env.update(PYTHONPATH=str(clone / "code"), VERBOSE="1", PYTHONDONTWRITEBYTECODE="1")
        return env

    # -- anatomy of a job -------------------------------------------------------------------
    def clone(self, folder: Path, start: str, branch: str, log) -> None:
        """A throwaway clone on ``branch`` from ``start``, sharing the dataset's annexed objects."""
        self.remove(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        self.sh(["git", "clone", "--quiet", "--no-checkout", str(self.root), str(folder)],
                folder.parent, log)
        if start.startswith("refs/"):
            self.sh(["git", "fetch", "--quiet", "origin", start], folder, log)
            start = "FETCH_HEAD"
        self.sh(["git", "checkout", "--quiet", "-b", branch, start], folder, log)
        # Private and dead: git-annex never records this clone as holding anything. Hard links
        # (same file system) make getting the image and pushing the outputs free of copies;
        # annexed objects are read-only, and unlocking an output copies it.
        self.sh(["git", "config", "annex.private", "true"], folder, log)
        self.sh(["git", "config", "annex.hardlink", "true"], folder, log)
        self.sh(["git", "annex", "init", "--quiet", f"sweep job {branch}"], folder, log)
        self.sh(["git", "annex", "dead", "here"], folder, log)

    def install_input_data(self, clone: Path, log) -> None:
        """data/raw for prepare: installed from the dataset's own data/raw (datalad tries the
        origin's subdataset first), which knows the input dataset as a second source."""
        self.sh(["datalad", "get", "--no-data", SUBDATASET], clone, log)
        source = git(self.root / SUBDATASET, "remote", "get-url", "origin")
        if source and "://" not in source and not Path(source).is_absolute():
            source = str((self.root / SUBDATASET / source).resolve())
        if source:
            self.sh(["git", "remote", "add", "input", source], clone / SUBDATASET, log)
        self.sh(["git", "config", "annex.hardlink", "true"], clone / SUBDATASET, log)

    def stages(self, job: Job, clone: Path, stages: tuple[str, ...], log,
               cores: str | None = None) -> None:
        """``cores``: the job's share of the cores (taskset), which its container inherits."""
        pin = ["taskset", "--cpu-list", cores] if cores else []
        for stage in stages:
            args = stage_command(self.sweep, job, stage, self.container)
            self.sh([*pin, sys.executable, *args[1:]], clone, log, self.stage_env(clone))

    def push(self, clone: Path, ref: str, log) -> None:
        """The branch into the dataset, under its lock; fsck records its annexed outputs there."""
        if self.stop.is_set():
            raise Stopped()
        with self.push_guard, lock.hold(self.root, command=f"sweep {self.sweep.name}: push {ref}"):
            # Once started, a push finishes even on Ctrl-C (its group does not get the signal),
            # so a branch is in the dataset whole or not at all.
            self.sh(["git", "annex", "copy", "--quiet", "--to", "origin"], clone, log, finish=True)
            self.sh(["git", "push", "--quiet", "origin", f"HEAD:{ref}"], clone, log, finish=True)
            self.sh(["git", "annex", "fsck", "--fast", "--quiet", "--branch", ref], self.root, log,
                    finish=True)

    def remove(self, folder: Path) -> None:
        if folder.exists():
            commands.remove_tree(folder)

    def run_base(self, key: str, job: Job, start: str) -> str:
        """Prepare once for every job with these prepare parameters; the result's ref."""
        ref = f"{BASE_REFS}/{self.sweep.name}/{key}"
        if git(self.root, "rev-parse", "--verify", "--quiet", ref):
            return ref
        name = f"prepare-{key}"
        folder, log_path = self.scratch / name, self.logs / f"{name}.log"
        with open(log_path, "w") as log:
            try:
                self.progress.preparing(+1)
                self.clone(folder, start, f"sweep-base/{key}", log)
                self.install_input_data(folder, log)
                self.stages(job, folder, ("prepare",), log)
                self.push(folder, ref, log)
                return ref
            except JobFailed as error:
                failed = JobFailed(f"its prepare failed: {error}")
                failed.log = log_path
                raise failed from None
            finally:
                self.progress.preparing(-1)
                self.remove(folder)

    def run_job(self, job: Job, base: concurrent.futures.Future) -> Outcome:
        log_path = self.logs / f"{job.name}.log"
        branch = self.sweep.branch(job)
        try:
            start = base.result()
        except JobFailed as error:  # its prepare failed: that log says why
            return Outcome(job.name, False, log=error.log, message=str(error))
        if self.stop.is_set():
            raise Stopped()
        folder, began = self.scratch / job.name, time.monotonic()
        self.progress.started(job.name)
        with open(log_path, "w") as log:
            try:
                self.clone(folder, start, branch, log)
                stages_began = time.monotonic()
                cores = self.free_cores.get() if self.parallel > 1 else None
                try:
                    self.stages(job, folder, ("train", "evaluate"), log, cores)
                finally:
                    if cores:
                        self.free_cores.put(cores)
                stage_seconds = time.monotonic() - stages_began
                self.push(folder, f"refs/heads/{branch}", log)
                return Outcome(job.name, True, time.monotonic() - began,
                               accuracy_at(self.root, f"refs/heads/{branch}"), log_path,
                               stage_seconds=stage_seconds)
            except JobFailed as error:
                return Outcome(job.name, False, time.monotonic() - began, log=log_path,
                               message=str(error))
            finally:
                self.remove(folder)

    # -- all jobs ---------------------------------------------------------------------------
    def run(self, todo: list[Job], start: str, tree: str) -> list[Outcome]:
        self.logs.mkdir(parents=True, exist_ok=True)
        pool = concurrent.futures.ThreadPoolExecutor(self.parallel, thread_name_prefix="sweep")
        bases: dict[str, concurrent.futures.Future] = {}
        for job in todo:  # prepares first: the pool starts tasks in order, so no job waits in vain
            key = self.sweep.prepare_key(job, tree)
            if key not in bases:
                bases[key] = pool.submit(self.run_base, key, job, start)
        futures = {pool.submit(self.run_job, job, bases[self.sweep.prepare_key(job, tree)]): job
                   for job in todo}
        outcomes = []
        try:
            pending = set(futures)
            while pending:
                done, pending = concurrent.futures.wait(pending, timeout=0.5)
                for future in done:
                    outcomes.append(future.result())
                    self.progress.finished(outcomes[-1])
                self.progress.tick()
        except (KeyboardInterrupt, Stopped):
            with commands.shielded():
                self.interrupt(pool)
            raise
        finally:
            self.progress.close()
            pool.shutdown(wait=True, cancel_futures=True)
        return outcomes

    def interrupt(self, pool: concurrent.futures.ThreadPoolExecutor) -> None:
        """Ctrl-C: every running command gets SIGINT (a stage settles its run), then each job
        removes its clone; pushes already under way finish, so no branch is half there."""
        self.stop.set()
        with self.live_guard:
            running = [p for p in self.live if not self.is_push(p)]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGINT)
        pool.shutdown(wait=True, cancel_futures=True)

    @staticmethod
    def is_push(process: subprocess.Popen) -> bool:
        args = process.args
        return args[:2] == ["git", "push"] or args[:3] in (["git", "annex", "fsck"],
                                                           ["git", "annex", "copy"])
