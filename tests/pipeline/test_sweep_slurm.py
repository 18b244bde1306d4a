"""The SLURM executor's parts that need no cluster: how it follows the tasks, the plan a task
reads, the status files, and the command's checks (a real cluster:
tests/integration/test_slurm_sweeps.py)."""
import argparse
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from pipeline import sweep
from pipeline.sweep import slurm, slurm_cli, slurm_task
from pipeline.sweep.jobs import Outcome
from pipeline.sweep.progress import SweepProgress
from pipeline.sweep.slurm_batch import Array

PAIR = sweep.Sweep("pair", "sweeps/pair.yaml", {s: f"params/{s}.yaml" for s in sweep.STAGES},
                   (sweep.Job("a b", {"train": {"max_iter": 5}}),
                    sweep.Job("cats", {"prepare": {"categories": {"n1": "golf ball"}}})))


def test_a_task_reads_the_same_sweep_from_the_plan():
    assert slurm_task.sweep_from_plan(slurm_task.sweep_to_plan(PAIR)) == PAIR


def test_a_status_file_round_trips_and_a_missing_one_reads_as_none(tmp_path):
    outcome = Outcome("a b", True, 12.5, 0.75, tmp_path / "a.log", stage_seconds=10.0)
    path = slurm_task.status_path(tmp_path, "job", "a b")
    assert slurm_task.read_status(path) is None
    slurm_task.write_status(path, outcome)
    assert slurm_task.read_status(path) == outcome
    assert [p.name for p in tmp_path.iterdir()] == ["job-a b.json"]  # no partial file left


def command(**options) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("-j", "--jobs", type=int, default=1)
    slurm_cli.add_options(parser)
    args = parser.parse_args([])
    vars(args).update(options, root=Path("."), container="none", scratch=None, ria=None)
    return args


@pytest.mark.parametrize("options, says", [
    ({"dry_run": True}, "add --executor slurm"),
    ({"executor": "slurm", "jobs": 2}, "-j is the local executor's"),
    ({"executor": "slurm", "cpus": 0}, "--cpus needs"),
])
def test_options_that_do_not_fit_say_what_to_change(options, says):
    with pytest.raises(sweep.SweepError, match=says):
        slurm_cli.run(command(**options), PAIR)


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
    status = tmp_path / "status"
    status.mkdir()
    packs = []
    runner = SimpleNamespace(sweep=PAIR, progress=SweepProgress("pair", jobs, 2, tty=False,
                                                                  out=open(tmp_path / "out", "w")),
                             store=SimpleNamespace(pack_refs=lambda: packs.append(len(packs))),
                             packs=packs)
    return slurm.Follower(runner, plan, submitted, status), status, asked


def test_the_follower_maps_every_arrays_tasks_to_their_jobs_and_names_a_silent_ones_output(
        tmp_path, monkeypatch):
    # j3 is task 1 of the second job array (id 21); j4 task 0 of the third (22)
    follow, status, asked = follower(tmp_path, monkeypatch, ["21_1 R", "22_0 PD"])
    monkeypatch.setattr(follow, "PACK_EVERY", 2)
    slurm_task.write_status(slurm_task.status_path(status, "prepare", "k"), Outcome("k", True))
    for name in ("j0", "j1", "j2"):
        slurm_task.write_status(slurm_task.status_path(status, "job", name),
                                Outcome(name, True, 3.0, 0.5))
    assert follow.look() is True
    assert asked == [["squeue", "-h", "-r", "-j", "10,20,21,22", "-o", "%i %t"]]
    assert [o.name for o in follow.outcomes] == ["j0", "j1", "j2"]
    assert follow.runner.progress.running == {"j3"}
    assert sorted(follow.pending) == [("job", 3), ("job", 4)]
    assert follow.runner.packs == [0]  # the output store's refs packed after 2 finished jobs

    # both end; j3 wrote its status, j4 did not (cancelled): its own SLURM output is named
    slurm_task.write_status(slurm_task.status_path(status, "job", "j3"),
                            Outcome("j3", True, 3.0, 0.6))
    monkeypatch.setattr(slurm, "slurm", lambda args: subprocess.CompletedProcess(
        [], 1, stdout="", stderr="slurm_load_jobs error: Invalid job id specified"))
    assert follow.look() is False
    assert [o.ok for o in follow.outcomes] == [True] * 4 + [False]
    assert follow.outcomes[-1].log == tmp_path / "imageclf-sweep-pair-22_0.out"
    assert "ended without reporting" in follow.outcomes[-1].message
    assert follow.runner.packs == [0, 1]


def test_the_follower_waits_while_squeue_does_not_answer_and_gives_up_after_many_tries(
        tmp_path, monkeypatch):
    follow, _, _ = follower(tmp_path, monkeypatch, [], jobs=1)
    monkeypatch.setattr(slurm, "slurm", lambda args: subprocess.CompletedProcess(
        [], 1, stdout="", stderr="Unable to contact slurm controller"))
    for _ in range(slurm.SQUEUE_TRIES - 1):
        assert follow.look() is True
    assert follow.outcomes == []
    with pytest.raises(sweep.SweepError, match="controller is gone"):
        follow.look()
