"""The SLURM executor's parts that need no cluster: how it follows the tasks by their event
streams, and the plan a task reads (a real cluster: tests/integration/test_slurm_sweeps.py)."""
import subprocess
from types import SimpleNamespace

import pytest

from helpers import STAGES
from pipeline.sweep import slurm, slurm_task
from pipeline.sweep.jobs import Jobs
from pipeline.sweep.model import Job, Sweep, SweepError
from pipeline.sweep.progress import SweepProgress
from pipeline.sweep.shell import Outcome
from pipeline.sweep.slurm_batch import Array

PAIR = Sweep("pair", "sweeps/pair.yaml", {s: f"params/{s}.yaml" for s in STAGES},
             (Job("a b", {"train": {"max_iter": 5}}),
              Job("cats", {"prepare": {"categories": {"n1": "golf ball"}}})))


def test_a_task_reads_the_same_sweep_from_the_plan():
    assert slurm_task.sweep_from_plan(slurm_task.sweep_to_plan(PAIR)) == PAIR


def follower(tmp_path, monkeypatch, squeue: list[str], jobs: int = 5):
    """A Follower of one prepare and ``jobs`` jobs split into arrays of 2 (ids 10, 20, 21, ...),
    squeue answering ``squeue``'s lines."""
    names = [f"j{index}" for index in range(jobs)]
    plan = {"prepare": [{"key": "k", "job": "j0"}],
            "job": [{"job": name, "key": "k"} for name in names]}
    submitted = [(Array("prepare", 0, 1), "10")] + [
        (Array("job", offset, min(2, jobs - offset)), str(20 + offset // 2))
        for offset in range(0, jobs, 2)]
    answer = subprocess.CompletedProcess([], 0, stdout="\n".join(squeue), stderr="")
    asked = []
    monkeypatch.setattr(slurm, "slurm", lambda args: asked.append(args) or answer)
    packs = []
    store = SimpleNamespace(pack_refs=lambda: packs.append(len(packs)))
    runner = Jobs(tmp_path, PAIR, "none", store)
    runner.logs.mkdir(parents=True)
    progress = SweepProgress("pair", jobs, 2, tty=False, out=open(tmp_path / "out", "w"))
    follow = slurm.Follower(runner, progress, plan, submitted)
    return follow, runner, packs, asked


def test_the_follower_maps_every_arrays_tasks_to_their_jobs_and_names_a_silent_ones_output(
        tmp_path, monkeypatch):
    # j3 is task 1 of the second job array (id 21); j4 task 0 of the third (22)
    follow, runner, packs, asked = follower(tmp_path, monkeypatch, ["21_1 R", "22_0 PD"])
    monkeypatch.setattr(follow, "PACK_EVERY", 2)
    runner.record(Outcome("prepare-k", True))
    for name in ("j0", "j1", "j2"):
        runner.record(Outcome(name, True, 3.0, 0.5))
    with runner.shell("j3") as shell:  # running: its stream has commands, no outcome yet
        shell.sh(["true"], tmp_path)
    assert follow.look() is True
    assert asked == [["squeue", "-h", "-r", "-j", "10,20,21,22", "-o", "%i %t"]]
    assert [o.name for o in follow.outcomes] == ["j0", "j1", "j2"]
    assert follow.outcomes[0] == Outcome("j0", True, 3.0, 0.5)
    assert follow.progress.running == {"j3"}
    assert sorted(follow.pending) == [("job", 3), ("job", 4)]
    assert packs == [0]  # the output store's refs packed after 2 finished jobs

    # both end; j3 reported its outcome, j4 did not (cancelled): its own SLURM output is named
    runner.record(Outcome("j3", True, 3.0, 0.6))
    monkeypatch.setattr(slurm, "slurm", lambda args: subprocess.CompletedProcess(
        [], 1, stdout="", stderr="slurm_load_jobs error: Invalid job id specified"))
    assert follow.look() is False
    assert [o.ok for o in follow.outcomes] == [True] * 4 + [False]
    assert follow.outcomes[-1].log == runner.logs / "slurm" / "imageclf-sweep-pair-22_0.out"
    assert "ended without reporting" in follow.outcomes[-1].message
    assert packs == [0, 1]


def test_the_follower_waits_while_squeue_does_not_answer_and_gives_up_after_many_tries(
        tmp_path, monkeypatch):
    follow, _, _, _ = follower(tmp_path, monkeypatch, [], jobs=1)
    monkeypatch.setattr(slurm, "slurm", lambda args: subprocess.CompletedProcess(
        [], 1, stdout="", stderr="Unable to contact slurm controller"))
    for _ in range(slurm.SQUEUE_TRIES - 1):
        assert follow.look() is True
    assert follow.outcomes == []
    with pytest.raises(SweepError, match="controller is gone"):
        follow.look()
