"""The SLURM section of ``make bench`` (``python -m benchmark --only slurm``): one sweep through
``--executor slurm`` against the local executor with ``-j 2``, each in a fresh clone, in the
container: the total time of each and what the scheduler costs per job on top.

Both executors run the same job code with two jobs at once (this machine's two cores: SLURM
gives each 1-CPU task a core), so the difference is SLURM's: sbatch, the wait for a free slot,
a task's start (slurmd, the batch script, a Python start) and the launcher's polling.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from pipeline import commands

from . import timing
from .measure import BenchmarkError
from .sweep import bench_clone

SLOTS = 2  # jobs at once in both: -j 2 locally, two 1-CPU tasks on the two-core node


def cluster_answers() -> bool:
    probe = shutil.which("squeue") and subprocess.run(["squeue", "-h"], capture_output=True)
    return bool(probe) and probe.returncode == 0


def require_cluster() -> None:
    if not cluster_answers():
        raise BenchmarkError("the slurm section needs a running SLURM: code/cluster/slurm.sh "
                             'start, then eval "$(code/cluster/slurm.sh env)"')


def sweep_args(sweep_file: str, container: str, executor: str) -> list[str]:
    args = ["-m", "pipeline", "sweep", sweep_file, "--container", container]
    return args + (["--executor", "slurm"] if executor == "slurm" else ["-j", str(SLOTS)])


def task_start_delays(spans: list[tuple[float, float]], submitted: float) -> list[float]:
    """For each task, how long it waited after a slot was free: the first ``SLOTS`` from the
    submission, each later one from the end of the task whose slot it took (the k-th end)."""
    starts = sorted(start for start, _ in spans)
    ends = sorted(end for _, end in spans)
    free = [submitted] * SLOTS + ends
    return [max(0.0, start - free[index]) for index, start in enumerate(starts)]


def one_run(root: Path, scratch: Path, sweep_file: str, container: str, executor: str,
            log: Path) -> dict:
    clone = bench_clone(root, scratch / executor)
    try:
        timed = timing.require_ok(timing.run_timed(
            sweep_args(sweep_file, container, executor), clone, log),
            f"the sweep with --executor {executor}", log)
        name = Path(sweep_file).stem
        figures = {"executor": executor, "seconds": round(timed.seconds, 1),
                   **job_costs(clone, name)}
        if executor == "slurm":
            spans = timing.task_spans(clone, f"imageclf-sweep-{name}")
            submitted = timing.sweep_events(clone, name, "submitted")[-1]["time"]
            delays = task_start_delays(spans, submitted)
            figures.update(tasks=len(spans),
                           start_delay_mean=round(sum(delays) / max(len(delays), 1), 2),
                           first_start_after_submit=round(min(s for s, _ in spans) - submitted, 2)
                           if spans else None)
        return figures
    finally:
        commands.remove_tree(clone)


def job_costs(clone: Path, name: str) -> dict:
    """Per job, from the jobs' event streams: its time beyond its stages (the fixed cost:
    clone, set-up, push), and of that the copy of the container image into the clone (free by
    hard link from the dataset, a real copy from a RIA store)."""
    streams = timing.job_streams(clone, name).values()
    fixed = [seconds for seconds in map(timing.fixed_seconds, streams) if seconds is not None]
    image = [timing.phase_seconds(stream, {"image"}) for stream in streams]
    return {"fixed_per_job": mean(fixed), "image_per_job": mean(image)}


def mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def measure(root: Path, sweep_file: str, container: str = "software",
            log: Path | None = None) -> dict:
    """The sweep locally with -j 2, then through SLURM, each in a fresh clone of ``root``."""
    require_cluster()
    with tempfile.TemporaryDirectory(prefix="slurm-bench-", dir=root.parent) as scratch:
        log = log or Path(scratch) / "slurm-bench.log"
        local = one_run(root, Path(scratch), sweep_file, container, "local", log)
        slurm = one_run(root, Path(scratch), sweep_file, container, "slurm", log)
    jobs = count_jobs(root, sweep_file)
    extra = (slurm["seconds"] - local["seconds"]) * SLOTS / jobs
    return {"sweep": sweep_file, "container": container, "jobs": jobs, "local": local,
            "slurm": slurm, "extra_per_job": round(extra, 1)}


def count_jobs(root: Path, sweep_file: str) -> int:
    from pipeline.sweep import sweepfile

    return len(sweepfile.load(root, sweep_file).jobs)


def rows(result: dict) -> list[tuple]:
    local, slurm = result["local"], result["slurm"]
    return [
        (f"sweep {result['sweep']} ({result['jobs']} jobs, {result['container']}): local -j 2 "
         "against SLURM", "", f"{local['seconds']} s -> {slurm['seconds']} s",
         f"{slurm['seconds'] / local['seconds']:.2f}x the local time", None),
        ("SLURM's extra cost per job (job-slot seconds)", "", f"{result['extra_per_job']:+.1f} s",
         f"a task starts {slurm['start_delay_mean']:.1f} s after its slot is free; the first "
         f"{slurm['first_start_after_submit']:.1f} s after sbatch", None),
        ("a job's fixed cost beyond its stages, local (in the dataset) -> SLURM (RIA stores)",
         "", f"{local['fixed_per_job']} s -> {slurm['fixed_per_job']} s",
         f"of which the container image's copy into the clone: {local['image_per_job']} s -> "
         f"{slurm['image_per_job']} s", None),
    ]
