"""The sweep section of ``make bench`` (``python -m benchmark --only sweep``): one sweep with
``-j 1`` and ``-j 2``, the speedup and the fixed cost per job (clone, annex set-up, push, fsck)
beyond the stages themselves.

Each measurement runs in a clone of its own (made here, deleted afterwards), so the dataset
gains no branch.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipeline import commands, process
from pipeline.inputdata import SUBDATASET

from . import timing
from .measure import BenchmarkError

TARGET_SPEEDUP = 1.6  # -j 2 against -j 1 on two cores
TARGET_FIXED = 5.0  # seconds per job beyond its stages


def bench_clone(root: Path, target: Path) -> Path:
    """A clone as a user makes one, its annex getting content by hard link from ``root``."""
    quiet = {"check": True, "env": process.tool_env(), "capture_output": True}
    subprocess.run(["datalad", "clone", str(root), str(target)], **quiet)
    subprocess.run(["git", "config", "annex.hardlink", "true"], cwd=target, **quiet)
    subprocess.run(["datalad", "get", "--no-data", SUBDATASET], cwd=target, **quiet)
    return target


def time_sweep(clone: Path, sweep_file: str, parallel: int, container: str) -> dict:
    began = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "pipeline", "sweep", sweep_file, "-j",
                             str(parallel), "--container", container], cwd=clone,
                            env={**process.tool_env(), "PYTHONPATH": str(clone / "code")},
                            stdin=subprocess.DEVNULL, capture_output=True, text=True)
    seconds = time.monotonic() - began
    if result.returncode != 0:
        raise BenchmarkError(f"the sweep with -j {parallel} failed ({result.returncode}):\n"
                           f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    fixed = [seconds for seconds in map(timing.fixed_seconds, timing.job_streams(
        clone, Path(sweep_file).stem).values()) if seconds is not None]
    return {"jobs_at_once": parallel, "seconds": round(seconds, 1),
            "fixed_per_job": round(sum(fixed) / len(fixed), 1) if fixed else None}


def measure(root: Path, sweep_file: str, container: str = "software") -> dict:
    """-j 1 and -j 2 of ``sweep_file`` in two fresh clones of ``root``."""
    runs = []
    with tempfile.TemporaryDirectory(prefix="sweep-bench-", dir=root.parent) as scratch:
        for parallel in (1, 2):
            clone = bench_clone(root, Path(scratch) / f"j{parallel}")
            try:
                runs.append(time_sweep(clone, sweep_file, parallel, container))
            finally:
                commands.remove_tree(clone)
    speedup = runs[0]["seconds"] / runs[1]["seconds"]
    fixed = max(run["fixed_per_job"] or 0.0 for run in runs)
    return {"sweep": sweep_file, "container": container, "runs": runs,
            "speedup": round(speedup, 2), "speedup_target": TARGET_SPEEDUP,
            "fixed_per_job": fixed, "fixed_target": TARGET_FIXED,
            "met": speedup >= TARGET_SPEEDUP and fixed <= TARGET_FIXED}


def render(result: dict) -> str:
    one, two = result["runs"]
    return "\n".join([
        f"sweep {result['sweep']} (container {result['container']}):",
        f"  -j 1: {one['seconds']:.1f} s   -j 2: {two['seconds']:.1f} s   speedup "
        f"{result['speedup']:.2f}x (target >= {TARGET_SPEEDUP}x)",
        f"  fixed cost per job beyond its stages: {result['fixed_per_job']:.1f} s "
        f"(target <= {TARGET_FIXED:.0f} s)   {'met' if result['met'] else 'NOT MET'}",
    ])

