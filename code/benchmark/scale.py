"""The scaling section of the benchmark (``python -m benchmark --only scale``; not in CI: about
25 minutes here): sweeps of 25, 50, 100 and 200 cheap jobs through ``--executor slurm``, each
in a fresh clone, every phase timed from outside; then the git-side phases (merge, compare,
summary) again on 1,000 and more fabricated job branches (benchmark/branches.py).

Phases: submit (command start to the arrays submitted), run (first task start to last task
end), push (each job's push to the output store, from the job's log: its annexed outputs, then
its branch under the store's flock, the wait for it included), merge (the launcher's time
holding the lock for the merge commit), compare (``python -m pipeline compare`` over every job
branch) and summary (``sweep NAME --summary``).

The jobs are SGD with max_iter 1 or 2 and random_state 1..N on the default class pair, run
with ``--container none`` (the .venv): the container would add about 2 s per stage and job
and these sweeps measure the sweep machinery, not the stages.
"""
from __future__ import annotations

import io
import subprocess
import time
from contextlib import redirect_stdout
from pathlib import Path

from pipeline import commands, process
from pipeline.sweep import merge, summary

from . import branches, timing
from .measure import BenchmarkError
from .slurm import require_cluster
from .sweep import bench_clone

SIZES = (25, 50, 100, 200)
SYNTHETIC = (1000, 2000)  # fabricated job branches for the git-side phases
TARGET = 10_000
PHASES = ("submit", "run", "push total", "push per job", "merge", "compare", "summary",
          "launcher CPU")
GIT_SIDE = ("merge", "compare", "summary")
# What the FAIRly-big workflow's README (psychoinformatics-de/fairly-big-processing-workflow,
# "Merging branches") reports, for comparison with the projection.
FAIRLY_BIG = ("FAIRly-big (UK Biobank, ~42,700 job branches): `git merge` of batches of 5,000 "
              "branches took 15, 22, 32, 40, 49, 58 and 66 min, each batch slower than the last")


def sweep_text(count: int) -> str:
    """A sweep file of ``count`` jobs: SGD, max_iter 1 or 2, random_state 1..count."""
    jobs = "".join(f"  job-{index:05d}: {{train: {{max_iter: {1 + index % 2}, "
                   f"random_state: {index}}}}}\n" for index in range(1, count + 1))
    return (f"# {count} cheap jobs for the scaling benchmark (benchmark/scale.py)\n"
            f"description: SGD with max_iter 1 or 2 and random_state 1..{count}.\n"
            "set:\n  train: {classifier: sgd, features: raw}\n"
            f"jobs:\n{jobs}")


def commit_sweep(clone: Path, count: int) -> str:
    """sweeps/scale-N.yaml, committed in the bench clone only."""
    path = f"sweeps/scale-{count}.yaml"
    (clone / path).write_text(sweep_text(count))
    subprocess.run(["datalad", "save", "-m", f"Scaling benchmark: {count} jobs", path],
                   cwd=clone, env=process.tool_env(), check=True, capture_output=True)
    return path


def job_branches(clone: Path, name: str) -> list[str]:
    listed = subprocess.run(["git", "for-each-ref", "--format=%(refname:short)",
                             f"refs/heads/sweep/{name}/"], cwd=clone, capture_output=True,
                            text=True, check=True).stdout.split()
    return listed


def git_side(clone: Path, sweep_file: str, name: str, log: Path) -> dict:
    """compare over every job branch of sweep ``name``, and its summary, each timed."""
    compare = timing.require_ok(timing.run_timed(
        ["-m", "pipeline", "compare", "--format", "csv", *job_branches(clone, name)], clone, log),
        "compare", log)
    summarized = timing.require_ok(timing.run_timed(
        ["-m", "pipeline", "sweep", sweep_file, "--summary"], clone, log), "the summary", log)
    return {"compare": compare.seconds, "summary": summarized.seconds}


def one_size(root: Path, scratch: Path, count: int, log: Path,
             synthetic_counts: tuple[int, ...] = ()) -> dict:
    """A sweep of ``count`` jobs in a fresh clone, every phase timed; then, in the same clone,
    merge and summary of ``synthetic_counts`` fabricated copies of one of its jobs."""
    clone = bench_clone(root, scratch / f"scale-{count}")
    try:
        sweep_file = commit_sweep(clone, count)
        name = Path(sweep_file).stem
        with timing.LockWatcher(clone) as held:
            timed = timing.require_ok(timing.run_timed(
                ["-m", "pipeline", "sweep", sweep_file, "--executor", "slurm", "--container",
                 "none"], clone, log), f"the sweep of {count} jobs", log)
        spans = timing.task_spans(clone, f"imageclf-sweep-{name}")
        if not spans:
            raise BenchmarkError(f"no SLURM output file of sweep {name} under {clone}/.git")
        # RIA jobs push to the output store (annexed outputs, then the branch under its
        # flock), not into the dataset: their own event streams time it
        pushes = [timing.phase_seconds(stream, {"push"})
                  for stream in timing.job_streams(clone, name).values()]
        submitted = timing.sweep_events(clone, name, "submitted")
        figures = {"jobs": count, "total": timed.seconds, "launcher CPU": timed.cpu_seconds,
                   "submit": timed.since_start(submitted[0]) if submitted else 0.0,
                   "run": max(end for _, end in spans) - min(start for start, _ in spans),
                   "push total": sum(pushes), "push per job": sum(pushes) / max(len(pushes), 1),
                   "pushes": len(pushes), "merge": sum(held.seconds(": merge")),
                   "branches": len(job_branches(clone, name))}
        figures.update(git_side(clone, sweep_file, name, log))
        template = job_branches(clone, name)
        figures["synthetic"] = synthetic(clone, template[0], synthetic_counts) if template else []
        return {key: round(value, 2) if isinstance(value, float) else value
                for key, value in figures.items()}
    finally:
        commands.remove_tree(clone)


def synthetic(clone: Path, template: str, counts: tuple[int, ...]) -> list[dict]:
    """merge and summary on ``counts`` fabricated copies of the job branch ``template``."""
    figures = []
    for count in counts:
        sweep = branches.fabricate(clone, f"synthetic-{count}", count, template)
        row = {"jobs": count}
        began = time.perf_counter()
        with redirect_stdout(io.StringIO()):
            merge.merge(clone, sweep)
        row["merge"] = time.perf_counter() - began
        began = time.perf_counter()
        summary.table(clone, sweep)
        row["summary"] = time.perf_counter() - began
        figures.append({key: round(value, 2) for key, value in row.items()})
    return figures


def measure(root: Path, log: Path, sizes: tuple[int, ...] = SIZES,
            synthetic_counts: tuple[int, ...] = SYNTHETIC) -> dict:
    require_cluster()
    scratch = Path(root.parent / f"scale-bench-{int(time.time())}")
    scratch.mkdir()
    try:
        measured = []
        for count in sizes:
            print(f"   {count} jobs ...", flush=True)
            last = count == sizes[-1]
            measured.append(one_size(root, scratch, count, log,
                                     synthetic_counts if last else ()))
            row = measured[-1]
            print(f"   {count} jobs: " + ", ".join(f"{phase} {row[phase]:.1f} s"
                                                for phase in ("total", *PHASES)), flush=True)
    finally:
        commands.remove_tree(scratch)
    return {"sizes": list(sizes), "measured": measured, "synthetic": measured[-1]["synthetic"],
            "slopes": slopes(measured), "target": TARGET}


def slopes(measured: list[dict]) -> dict:
    sizes = [row["jobs"] for row in measured]
    return {phase: timing.growth(sizes, [row[phase] for row in measured]) for phase in PHASES}


def render(result: dict) -> str:
    """Phase x N, the log-log slope from the smallest to the largest N, the projection."""
    measured, target = result["measured"], result["target"]
    head = ["phase (s)", *(f"N={row['jobs']}" for row in measured), "slope",
            f"N={target:,} (projected)"]
    lines = [head]
    for phase in PHASES:
        slope = result["slopes"][phase]
        last = measured[-1]
        guess = timing.projected(last["jobs"], last[phase], slope, target)
        if phase == "push per job":
            guess = last[phase]  # per job: its own figure, not a total
        lines.append([phase, *(f"{row[phase]:.2f}" for row in measured),
                      "" if slope is None else f"{slope:.2f}",
                      "" if guess is None else f"{guess:,.0f}"])
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    text = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)) for line in lines]
    for row in result["synthetic"]:
        text.append(f"fabricated {row['jobs']:,} job branches: merge {row['merge']:.1f} s, "
                    f"summary {row['summary']:.1f} s")
    text.append(FAIRLY_BIG)
    return "\n".join(text)
