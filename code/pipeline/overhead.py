"""What ``datalad containers-run`` costs per stage over the same papermill call run directly.

Measured in one run, in a scratch clone of the dataset (its history is thrown away), with the
images and the container image fetched beforehand so that no transfer is timed: for each stage,
first the recorded ``datalad containers-run``, then the identical papermill command straight
from this environment, outputs unlocked beforehand so that both write the same files. Each pair
is measured ``repeats`` times and the fastest of each kept, which damps warm-up effects.
"""
from __future__ import annotations

import shlex
import subprocess
import tempfile
import time
from pathlib import Path

from . import commands, declaration, process, stages

RAW_IMAGES = "data/raw/imagenette2-160"


def timed(args: list[str] | str, cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(args, cwd=cwd, env=process.tool_env(), check=True, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   shell=isinstance(args, str))
    return time.perf_counter() - started


def fetch_images(root: Path, stdout=subprocess.DEVNULL) -> None:
    """Get the images into ``root``'s data/raw (as prepare would): a clone of ``root`` then copies
    them from there. Without it, a clone's data/raw would have to extract the archive itself from
    an input dataset it reaches only through a relative path that is valid from ``root`` alone."""
    commands.run(["datalad", "get", RAW_IMAGES], cwd=root, quiet=True, stdout=stdout,
                 stderr=subprocess.STDOUT)


def measure(root: Path, container: str = stages.CONTAINER, repeats: int = 2) -> list[dict]:
    scratch = Path(tempfile.mkdtemp(prefix="imageclf-overhead-"))
    try:
        fetch_images(root)
        clone = scratch / "ds"
        commands.run(["datalad", "clone", str(root), str(clone)])
        commands.run(["datalad", "get", RAW_IMAGES, ".datalad/environments"], cwd=clone,
                     stdout=subprocess.DEVNULL)
        rows = []
        for stage in declaration.names(clone):
            planned = stages.plan(clone, stage)
            recorded, direct = float("inf"), float("inf")
            for _ in range(repeats):
                recorded = min(recorded, timed(planned.datalad_command(container), clone))
                commands.run(["datalad", "unlock", *planned.outputs()], cwd=clone, quiet=True,
                             stdout=subprocess.DEVNULL)
                direct = min(direct, timed(shlex.split(planned.papermill_command()), clone))
                commands.run(["git", "reset", "--hard", "--quiet"], cwd=clone, quiet=True)
            rows.append({"stage": stage, "papermill": direct, "containers_run": recorded,
                         "overhead": recorded - direct})
            print(f"{stage:<9} papermill {direct:6.1f} s   containers-run {recorded:6.1f} s   "
                  f"overhead {recorded - direct:+5.1f} s", flush=True)
        return rows
    finally:
        commands.remove_tree(scratch)
