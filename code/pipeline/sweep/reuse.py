"""A sweep's jobs start from the prepare result the user's branch already holds, when that is
exactly what their prepare would compute.

After the tutorial, HEAD holds a prepare run with the default parameters; a sweep of train
settings would run the same command on the same inputs again and get the same bytes (the stages
are deterministic). That run is reused when its record is the job's prepare call (same command,
container, inputs and outputs) and nothing that could change its result changed since: every
path that differs between the run and HEAD must be an output of a later run, a params file of a
later stage, or a sweep file. Anything else (code, stages.yaml, the container, data/raw, a README
edit) and the prepare runs again, as before. The result is marked as the jobs' shared prepare
(``refs/sweep-bases/NAME/KEY`` pointing at HEAD), so both executors skip it the same way.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

from .. import declaration, history, lock, process, stages
from ..checks import StageError
from ..git import config, git, has_ref
from .jobs import base_ref, text_value
from .model import Job, Sweep

SWEEP_FILES = "sweeps/"


def expected_call(root: Path, sweep: Sweep, job: Job) -> stages.StageRun | None:
    shared = sweep.shared_stage
    overrides = [(name, text_value(value)) for name, value in job.stage_overrides(shared).items()]
    try:
        return stages.plan(root, shared, overrides, sweep.params[shared])
    except StageError:
        return None  # the job's own prepare will say what is wrong


def same_call(record: dict, planned: stages.StageRun, image: str | None) -> bool:
    """The record is this prepare call, in this container (``image``; None: no container)."""
    command = planned.papermill_command()
    commands = {command, stages.escape_placeholders(command)}
    if image is None:
        matches = record.get("cmd") in commands and not record.get("extra_inputs")
    else:
        matches = (record.get("extra_inputs") == [image]
                   and any(record.get("cmd", "").endswith(" " + c) for c in commands))
    return (matches and record.get("inputs") == planned.inputs()
            and record.get("outputs") == planned.outputs())


def touches(path: str, own: list[str]) -> bool:
    """``path`` is one of ``own``, inside one, or holds one (the data/raw subdataset)."""
    return any(path == p or path.startswith(p.rstrip("/") + "/") or p.startswith(path + "/")
               for p in own)


def unaffected(root: Path, sweep: Sweep, run: str, record: dict, head: str) -> bool:
    """Nothing the run's result depends on changed between ``run`` and ``head``: what changed
    are later runs' outputs, later stages' params, sweep files. Its own files are also unchanged
    in the working tree, from which the expected call was read."""
    later_outputs = {path for commit in history.run_commits(root, [f"{run}..{head}"])
                     for path in (history.run_record(root, commit) or {}).get("outputs", [])}
    declared = declaration.read(root)
    allowed = later_outputs | {declared[s].params for s in sweep.job_stages} | {
        sweep.params[s] for s in sweep.job_stages}
    own = [*record.get("inputs", []), *record.get("outputs", []), declaration.FILE]
    for path in git(root, "diff", "--name-only", "--no-renames", run, head).splitlines():
        if touches(path, own) or not (path in allowed or path.startswith(SWEEP_FILES)):
            return False
    uncommitted = git(root, "status", "--porcelain", "--untracked-files=no").splitlines()
    return not any(touches(line[3:], own) for line in uncommitted)


def reusable_prepare(root: Path, sweep: Sweep, job: Job, head: str,
                     container: str) -> str | None:
    """The run commit whose prepare result at ``head`` this job can start from, or None."""
    run = history.current_run(root, head, sweep.shared_stage)
    record = history.run_record(root, run) if run else None
    planned = expected_call(root, sweep, job) if record else None
    if planned is None:
        return None
    image = None if container == "none" else config(
        root, f"datalad.containers.{container}.image", ".datalad/config")
    if not same_call(record, planned, image) or not unaffected(root, sweep, run, record, head):
        return None
    return run


def reuse_prepares(root: Path, sweep: Sweep, todo: list[Job], head: str, tree: str,
                   container: str, mark: bool = True) -> dict[str, str]:
    """Shared prepare key -> the run at HEAD its jobs start from; ``mark``: record each as the
    shared prepare done (its ref, under the dataset's lock), so that no executor runs it."""
    reused: dict[str, str] = {}
    for job in todo:
        key = sweep.prepare_key(job, tree)
        ref = base_ref(sweep, key)
        if key in reused or has_ref(root, ref):
            continue
        run = reusable_prepare(root, sweep, job, head, container)
        if run and not mark:
            reused[key] = run
        elif run:
            with lock.hold(root, command=f"sweep {sweep.name}: reuse prepare {run[:8]}"):
                # the jobs take its outputs from this dataset: their content must be here
                outputs = history.run_record(root, run)["outputs"]
                got = subprocess.run(["datalad", "get", "--", *outputs], cwd=root,
                                     env=process.tool_env(), stdin=subprocess.DEVNULL,
                                     capture_output=True)
                if got.returncode == 0:
                    git(root, "update-ref", ref, head)
                    reused[key] = run
    return reused


def reused_outputs(root: Path, reused: dict[str, str]) -> list[str]:
    """The outputs of the prepare runs the jobs start from (their content is in the dataset)."""
    return sorted({path for run in set(reused.values())
                   for path in history.run_record(root, run)["outputs"]})
