"""What a sweep hands SLURM, without a cluster: the sbatch script, its arrays and their split
at MaxArraySize, and the checks before submitting (a real cluster:
tests/integration/test_slurm_sweeps.py)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import STAGES
from pipeline.sweep import slurm_batch
from pipeline.sweep.model import Job, Sweep, SweepError

PAIR = Sweep("pair", "sweeps/pair.yaml", {s: f"params/{s}.yaml" for s in STAGES},
             (Job("a b", {"train": {"max_iter": 5}}),))


def test_the_script_asks_for_the_resources_and_runs_the_task_entry_point():
    resources = slurm_batch.Resources(partition="short", time="0:10:00", cpus=2, mem="1G")
    text = slurm_batch.script(Path("/data/my ds"), PAIR,
                              Path("/data/my ds/.git/logs/plan.json"), resources)
    header = [line for line in text.splitlines() if line.startswith("#SBATCH")]
    assert header == ["#SBATCH --job-name=imageclf-sweep-pair", "#SBATCH --partition=short",
                      "#SBATCH --time=0:10:00", "#SBATCH --cpus-per-task=2", "#SBATCH --mem=1G",
                      "#SBATCH --output=/data/my ds/.git/logs/%x-%A_%a.out",
                      "#SBATCH --chdir=/data/my ds"]
    assert "PYTHONPATH='/data/my ds/code'" in text
    assert "--partition" not in slurm_batch.script(Path("/d"), PAIR, Path("/d/p.json"),
                                                   slurm_batch.Resources())


@pytest.mark.parametrize("args, task_id, index", [([], "3", "3"), (["job", "1001"], "4", "1005")])
def test_a_task_finds_its_place_in_the_plan_from_its_array_index_and_the_arrays_offset(
        tmp_path, monkeypatch, args, task_id, index):
    """The script run by bash as sbatch would, its Python replaced by one that prints its
    arguments."""
    fake = tmp_path / "python"
    fake.write_text('#!/bin/sh\necho "$@"\n')
    fake.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(fake))
    script = tmp_path / "sweep.sbatch"
    script.write_text(slurm_batch.script(tmp_path, PAIR, tmp_path / "my plan.json",
                                         slurm_batch.Resources()))
    done = subprocess.run(["bash", str(script), *(args or ["job"])], capture_output=True,
                          text=True, env={**os.environ, "SLURM_ARRAY_TASK_ID": task_id})
    assert done.stdout.split() == ["-m", "pipeline.sweep.slurm_task",
                                   str(tmp_path / "my"), "plan.json", "job", index]


def test_jobs_are_submitted_after_the_prepares_and_alone_without_any():
    script = Path("/d/sweep.sbatch")
    first, second = slurm_batch.sbatch_commands(script, 2, 5)
    assert first == ["sbatch", "--parsable", "--array=0-1", "/d/sweep.sbatch", "prepare", "0"]
    assert second == ["sbatch", "--parsable", "--array=0-4", "--dependency=afterany:PREPARE_IDS",
                      "/d/sweep.sbatch", "job", "0"]
    assert slurm_batch.sbatch_commands(script, 0, 3) == [
        ["sbatch", "--parsable", "--array=0-2", "/d/sweep.sbatch", "job", "0"]]


def test_a_sweep_over_max_array_size_is_several_arrays_covering_each_task_once():
    split = slurm_batch.arrays(3, 2500, max_size=1001)
    assert [(a.phase, a.offset, a.count) for a in split] == [
        ("prepare", 0, 3), ("job", 0, 1001), ("job", 1001, 1001), ("job", 2002, 498)]
    assert all(a.count <= 1001 for a in split)
    commands = slurm_batch.sbatch_commands(Path("/s"), 3, 2500, max_size=1001)
    assert [c[2] for c in commands] == ["--array=0-2", "--array=0-1000", "--array=0-1000",
                                        "--array=0-497"]
    assert [c[-1] for c in commands] == ["0", "0", "1001", "2002"]
    assert slurm_batch.arrays(0, 1001, max_size=1001) == [slurm_batch.Array("job", 0, 1001)]


def test_max_array_size_is_read_from_the_cluster_and_defaults_to_slurms(monkeypatch):
    shown = "MaxArraySize            = 40001\nMaxJobCount             = 10000\n"
    monkeypatch.setattr(slurm_batch.shutil, "which", lambda name: "/usr/bin/" + name)
    monkeypatch.setattr(slurm_batch, "slurm",
                        lambda args: subprocess.CompletedProcess(args, 0, shown, ""))
    assert slurm_batch.max_array_size() == 40001
    monkeypatch.setattr(slurm_batch, "slurm",
                        lambda args: subprocess.CompletedProcess(args, 1, "", "no controller"))
    assert slurm_batch.max_array_size() == slurm_batch.MAX_ARRAY_SIZE


def test_without_sbatch_the_message_says_how_to_get_a_cluster(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(SweepError, match="code/cluster/slurm.sh start"):
        slurm_batch.require_slurm()
