"""The anatomy of a sweep job, the same for every executor (local pool, SLURM task).

A job clones the store's dataset (stores.py) into a throwaway folder, checks out its own branch
from the shared prepare's result and types the commands a single run uses (``python -m pipeline
run STAGE -f FILE -p NAME VALUE``), each a run record; the branch and its annexed outputs are
then pushed to the store. Jobs with the same prepare parameters start from one prepare result
(a hidden ref ``refs/sweep-bases/NAME/KEY``). The user's working tree is never touched; the
launcher merges the job branches afterwards.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from .. import commands, events, lock, process
from ..git import config, git, has_ref
from ..inputdata import SUBDATASET
from .model import Job, Sweep
from .shell import JobFailed, JobShell, Outcome, Processes, Stopped

SCRATCH_FOLDER = "imageclf-sweeps"  # under the dataset's .git unless --scratch names another
BASE_REFS = "refs/sweep-bases"
LOG_FOLDER = "imageclf-logs/sweeps"


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


def accuracy_at(repo: Path, ref: str) -> float | None:
    try:
        return float(json.loads(git(repo, "show", f"{ref}:accuracy.json"))["accuracy"])
    except (ValueError, KeyError, TypeError):
        return None


def base_ref(sweep: Sweep, key: str) -> str:
    return f"{BASE_REFS}/{sweep.name}/{key}"


class Jobs:
    """The jobs of one sweep: where their clones and logs go, and how each one runs."""

    def __init__(self, root: Path, sweep: Sweep, container: str, store,
                 scratch: str | None = None) -> None:
        self.root, self.sweep, self.container, self.store = root.resolve(), sweep, container, store
        git_dir = lock.git_dir(self.root)
        top = Path(scratch).resolve() / f"{SCRATCH_FOLDER}-{self.root.name}" if scratch else (
            git_dir / SCRATCH_FOLDER)
        self.scratch = top / sweep.name
        self.logs = git_dir / LOG_FOLDER / sweep.name
        self.processes = Processes()

    def shell(self, name: str) -> JobShell:
        self.logs.mkdir(parents=True, exist_ok=True)
        return JobShell(name, self.logs, self.processes)

    def stage_env(self, clone: Path) -> dict:
        """The clone's own committed code runs its stages; VERBOSE: the log gets everything."""
        env = process.tool_env()
        env.update(PYTHONPATH=str(clone / "code"), VERBOSE="1", PYTHONDONTWRITEBYTECODE="1")
        return env

    def remove(self, folder: Path) -> None:
        if folder.exists():
            commands.remove_tree(folder)

    # -- anatomy of a job -------------------------------------------------------------------
    def clone(self, folder: Path, start: str, branch: str, shell: JobShell) -> None:
        """A throwaway clone on ``branch`` from ``start``, from the dataset or the input store."""
        self.remove(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        shell.sh(["git", "clone", "--quiet", "--no-checkout", str(self.store.source),
                  str(folder)], folder.parent)
        self.store.connect(shell, folder)
        if start.startswith("refs/"):  # a shared prepare's result, under the same name here
            shell.sh(["git", "fetch", "--quiet", self.store.base_remote, f"{start}:{start}"],
                     folder)
        shell.sh(["git", "checkout", "--quiet", "-b", branch, start], folder)
        # Private and dead: git-annex never records this clone as holding anything. Hard links
        # (same file system) make getting the image and pushing the outputs free of copies;
        # annexed objects are read-only, and unlocking an output copies it.
        shell.sh(["git", "config", "annex.private", "true"], folder)
        shell.sh(["git", "config", "annex.hardlink", "true"], folder)
        shell.sh(["git", "annex", "init", "--quiet", *self.store.init_options,
                  f"sweep job {branch}"], folder)
        shell.sh(["git", "annex", "dead", "here"], folder)
        image = config(folder, f"datalad.containers.{self.container}.image", ".datalad/config")
        self.store.ready(shell, folder, start, image if self.container != "none" else "")

    def install_input_data(self, clone: Path, shell: JobShell) -> None:
        """data/raw for the shared stage: installed from the dataset's own data/raw (datalad
        tries the origin's subdataset first), which knows the input dataset as a second source."""
        shell.sh(["datalad", "get", "--no-data", SUBDATASET], clone, phase="inputs")
        source = git(self.root / SUBDATASET, "remote", "get-url", "origin")
        if source and "://" not in source and not Path(source).is_absolute():
            source = str((self.root / SUBDATASET / source).resolve())
        if source:
            shell.sh(["git", "remote", "add", "input", source], clone / SUBDATASET)
        shell.sh(["git", "config", "annex.hardlink", "true"], clone / SUBDATASET)

    def run_stages(self, job: Job, clone: Path, stages: tuple[str, ...], shell: JobShell,
                   cores: str | None = None) -> None:
        """``cores``: the job's share of the cores (taskset), which its container inherits."""
        for stage in stages:
            args = stage_command(self.sweep, job, stage, self.container)
            shell.sh([sys.executable, *args[1:]], clone, phase="stage",
                     env=self.stage_env(clone), pinned=cores)

    def push(self, clone: Path, ref: str, shell: JobShell, start: str | None = None) -> None:
        """The branch and its annexed outputs (those new since ``start``; without it, all) to the
        store; once started, a push finishes even on Ctrl-C, so a branch is there whole or not
        at all."""
        if self.processes.stop.is_set():
            raise Stopped()
        self.store.push(shell, clone, ref, start, f"sweep {self.sweep.name}: push {ref}")

    def run_base(self, key: str, job: Job, start: str) -> str:
        """The shared stage once for every job with these parameters of it; the result's ref."""
        ref = base_ref(self.sweep, key)
        if has_ref(self.store.results, ref):
            return ref
        name = f"prepare-{key}"
        folder = self.scratch / name
        with self.shell(name) as shell:
            try:
                self.clone(folder, start, f"sweep-base/{key}", shell)
                self.install_input_data(folder, shell)
                self.run_stages(job, folder, (self.sweep.shared_stage,), shell)
                self.push(folder, ref, shell, start)
                shell.outcome(True)
                return ref
            except JobFailed as error:
                shell.outcome(False, message=str(error))
                raise JobFailed(f"its prepare failed: {error}", shell.log_path) from None
            finally:
                self.remove(folder)

    def run_job(self, job: Job, start: str, cores: str | None = None) -> Outcome:
        """The job's own stages on its branch from ``start`` (the shared prepare's ref)."""
        branch = self.sweep.branch(job)
        if self.processes.stop.is_set():
            raise Stopped()
        folder = self.scratch / job.name
        with self.shell(job.name) as shell:
            try:
                self.clone(folder, start, branch, shell)
                self.run_stages(job, folder, self.sweep.job_stages, shell, cores)
                self.push(folder, f"refs/heads/{branch}", shell, start)
                return shell.outcome(True, accuracy_at(self.store.results,
                                                       f"refs/heads/{branch}"))
            except JobFailed as error:
                return shell.outcome(False, message=str(error))
            finally:
                self.remove(folder)

    def events_path(self, name: str) -> Path:
        return self.logs / f"{name}.{events.SUFFIX}"

    def sweep_event(self, kind: str, **fields) -> None:
        """An event of the sweep as a whole (its submission, its merge), in
        ``LOGS/../NAME.jsonl`` beside the folder of its jobs' streams."""
        stream = events.EventLog(self.logs.parent / f"{self.sweep.name}.{events.SUFFIX}")
        stream.emit(kind, sweep=self.sweep.name, time=time.time(), **fields)
        stream.close()

    def record(self, outcome: Outcome) -> Outcome:
        """An outcome no command of the job reported (it never ran, or it was stopped)."""
        stream = events.EventLog(self.events_path(outcome.name))
        stream.emit("outcome", **outcome.event())
        stream.close()
        return outcome

    def base_failed(self, job: Job, error: JobFailed) -> Outcome:
        """A job whose shared prepare failed: nothing of it ran; that prepare's log says why."""
        self.events_path(job.name).unlink(missing_ok=True)
        return self.record(Outcome(job.name, False, log=error.log, message=str(error)))
