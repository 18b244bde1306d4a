"""What the container's isolation costs per stage, and that it does not grow with the dataset.

In a scratch clone of the dataset (the container image fetched), the adapter that every
``datalad containers-run`` calls runs a command that does nothing (``true``) with the train
stage's outputs declared, as datalad calls it: the fastest of a few runs, in each engine that
answers here, before and after 100,000 small files (1,000 folders of 100) are committed to the
clone. The difference is what isolating one stage costs per 100,000 files; the target is 0.3 s.
A whole ``datalad containers-run`` of the same command is timed too: datalad's own status and
save read every file, whatever the container does, and that difference is shown for scale.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from pipeline import commands, stages
from pipeline.process import tool_env

EXTRA_FILES = 100_000
PER_FOLDER = 100
REPEATS = 5
ADDED_MAX_S = 0.3  # per stage, with EXTRA_FILES more tracked files
IMAGE_DIR = ".datalad/environments/software/image"


def engines() -> list[str]:
    """The engines that can run a container here: podman, and docker if its daemon answers."""
    found = []
    if shutil.which("podman"):
        found.append("podman")
    if shutil.which("docker") and subprocess.run(["docker", "info"], capture_output=True,
                                                 stdin=subprocess.DEVNULL).returncode == 0:
        found.append("docker")
    return found


def adapter_call(root: Path) -> list[str]:
    outputs = stages.plan(root, "train").outputs()
    return ["python3", "code/container/adapter.py", "run", IMAGE_DIR, "--outputs", *outputs,
            "--", "true"]


def fastest(args: list[str], cwd: Path, engine: str, repeats: int = REPEATS) -> float:
    env = {**tool_env(), "CONTAINER_ENGINE": engine, "PYTHONPATH": str(cwd / "code")}
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(args, cwd=cwd, env=env, check=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - started)
    return best


def add_files(clone: Path, count: int = EXTRA_FILES) -> None:
    """``count`` small tracked files in folders of PER_FOLDER, committed with plain git, past
    git-annex's filter (which takes many minutes for them; they are small text files that the
    dataset keeps in git anyway)."""
    for index in range(count):
        folder = clone / "extra" / f"d{index // PER_FOLDER:04d}"
        if index % PER_FOLDER == 0:
            folder.mkdir(parents=True)
        (folder / f"f{index % PER_FOLDER:03d}.txt").write_text(f"{index}\n")
    unfiltered = ["-c", "filter.annex.process=", "-c", "filter.annex.clean=",
                  "-c", "filter.annex.smudge="]
    subprocess.run(["git", *unfiltered, "add", "extra"], cwd=clone, check=True, env=tool_env())
    subprocess.run(["git", "commit", "-q", "-m", f"{count} extra files"], cwd=clone, check=True,
                   env=tool_env())
    os.sync()  # the files' write-back must not slow the first engine measured after them


def containers_run() -> list[str]:
    return stages.datalad_call("isolation benchmark", [], [], "true")


def measure(root: Path, scratch: Path) -> dict:
    clone = scratch / "isolation"
    commands.run(["datalad", "clone", str(root), str(clone)], quiet=True,
                 stdout=subprocess.DEVNULL)
    commands.run(["datalad", "get", IMAGE_DIR], cwd=clone, quiet=True, stdout=subprocess.DEVNULL)
    adapter, recorded = adapter_call(clone), containers_run()
    found = engines()
    rows = {engine: {} for engine in found}
    for label in ("small", "large"):
        if label == "large":
            print(f"  committing {EXTRA_FILES:,} extra files ...", flush=True)
            add_files(clone)
        for engine in found:
            fastest(adapter, clone, engine, repeats=1)  # the image loaded, caches warm
            rows[engine][f"adapter_{label}"] = round(fastest(adapter, clone, engine), 2)
            rows[engine][f"containers_run_{label}"] = round(
                fastest(recorded, clone, engine, repeats=1), 2)
            print(f"  {engine}, {label}: adapter {rows[engine][f'adapter_{label}']} s, "
                  f"containers-run {rows[engine][f'containers_run_{label}']} s", flush=True)
    for row in rows.values():
        row["added"] = round(row["adapter_large"] - row["adapter_small"], 2)
        row["containers_run_added"] = round(row["containers_run_large"]
                                            - row["containers_run_small"], 2)
    tracked = len(subprocess.run(["git", "ls-files"], cwd=clone, capture_output=True,
                                 text=True).stdout.splitlines())
    return {"extra_files": EXTRA_FILES, "tracked_files": tracked, "engines": rows}


def rows(results: dict) -> list[tuple]:
    """The table's rows: the adapter's added time per engine, against the target."""
    table = []
    for engine, row in results["engines"].items():
        table.append((f"isolation per stage, {engine}: +{results['extra_files']:,} files", "",
                      f"{row['adapter_small']} s -> {row['adapter_large']} s",
                      f"{row['added']:+.2f} s (target <= {ADDED_MAX_S} s)",
                      row["added"] <= ADDED_MAX_S))
        table.append((f"  whole containers-run, {engine} (datalad's status and save)", "",
                      f"{row['containers_run_small']} s -> {row['containers_run_large']} s",
                      f"{row['containers_run_added']:+.2f} s", None))
    return table
