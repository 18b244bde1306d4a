"""What a sweep hands SLURM: the sbatch script, its arrays (split at the cluster's MaxArraySize),
and the few SLURM commands the launcher calls (sbatch, squeue, scontrol)."""
from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .model import Sweep, SweepError

MAX_ARRAY_SIZE = 1001  # SLURM's default MaxArraySize: the highest array index is one less


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
             "# (`job`); each runs the job code of a local sweep in a throwaway clone of the RIA "
             "input store and",
             "# pushes its branch to the output store (pipeline/sweep/jobs.py, stores.py). $1: "
             "prepare or job.",
             "set -euo pipefail",
             f"export PATH={shlex.quote(str(python.parent))}:\"$PATH\" "
             f"PYTHONPATH={shlex.quote(str(root / 'code'))}",
             "# $2: the array's first task in the plan (a sweep larger than the cluster's "
             "MaxArraySize is several arrays)",
             f"exec {shlex.quote(str(python))} -m pipeline.sweep.slurm_task "
             f"{shlex.quote(str(plan_file))} \"$1\" "
             '"$((SLURM_ARRAY_TASK_ID + ${2:-0}))"']
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Array:
    """One submission: tasks ``offset`` to ``offset + count - 1`` of a phase in the plan, as
    array indices 0 to ``count - 1`` (SLURM refuses indices from its MaxArraySize on)."""

    phase: str
    offset: int
    count: int

    def command(self, script_file: Path) -> list[str]:
        after = ["--dependency=afterany:PREPARE_IDS"] if self.phase == "job" else []
        return ["sbatch", "--parsable", f"--array=0-{self.count - 1}", *after, str(script_file),
                self.phase, str(self.offset)]


def arrays(prepares: int, jobs: int, max_size: int = MAX_ARRAY_SIZE) -> list[Array]:
    """The prepares' arrays, then the jobs'; each at most ``max_size`` tasks."""
    return [Array(phase, offset, min(max_size, total - offset))
            for phase, total in (("prepare", prepares), ("job", jobs))
            for offset in range(0, total, max_size)]


def sbatch_commands(script_file: Path, prepares: int, jobs: int,
                    max_size: int = MAX_ARRAY_SIZE) -> list[list[str]]:
    """The submissions; PREPARE_IDS stands for the prepare arrays' job ids (``a:b``) in the
    jobs' dependency, which is left out when there is no prepare to wait for."""
    return [[arg for arg in array.command(script_file)
             if prepares or not arg.startswith("--dependency")]
            for array in arrays(prepares, jobs, max_size)]


def max_array_size() -> int:
    """The cluster's MaxArraySize (``scontrol show config``), SLURM's default if unknown."""
    shown = slurm(["scontrol", "show", "config"]).stdout if shutil.which("scontrol") else ""
    found = re.search(r"^MaxArraySize\s*=\s*(\d+)", shown, re.MULTILINE)
    return int(found.group(1)) if found else MAX_ARRAY_SIZE


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
