"""A sweep's pushes and its merge on small git-annex repositories (no datalad run, no stages)."""
import io
import json
import threading

import pytest

from helpers import sh
from pipeline import sweep
from pipeline.sweep import jobs as sweep_jobs


@pytest.fixture
def dataset(tmp_path):
    """A git-annex repository on branch main with one commit."""
    root = tmp_path / "ds"
    root.mkdir()
    sh(["git", "init", "--quiet", "--initial-branch=main"], root)
    sh(["git", "annex", "init", "--quiet"], root)
    (root / "README").write_text("dataset\n")
    sh(["git", "add", "README"], root)
    sh(["git", "commit", "--quiet", "-m", "start"], root)
    return root


def demo_sweep(names) -> sweep.Sweep:
    return sweep.Sweep("demo", "sweeps/demo.yaml", {s: f"params/{s}.yaml" for s in sweep.STAGES},
                       tuple(sweep.Job(name, {"train": {"max_iter": 1}}) for name in names))


def job_clone(runner, dataset, name: str, accuracy: float):
    """What a job leaves in its clone: a branch with an annexed output and accuracy.json."""
    folder = runner.scratch / name
    with open(runner.logs / f"{name}.log", "w") as log:
        runner.clone(folder, "HEAD", f"sweep/demo/{name}", log)
    (folder / "model.bin").write_bytes(name.encode() * 1000)
    (folder / "accuracy.json").write_text(json.dumps({"accuracy": accuracy}))
    sh(["git", "annex", "add", "--quiet", "model.bin"], folder)
    sh(["git", "add", "accuracy.json"], folder)
    sh(["git", "commit", "--quiet", "-m", f"job {name}"], folder)
    return folder


def test_jobs_finishing_together_push_one_after_the_other(dataset):
    runner = sweep_jobs.Runner(dataset, demo_sweep(["a", "b", "c"]), "none", 3, out=io.StringIO())
    runner.logs.mkdir(parents=True)
    clones = {name: job_clone(runner, dataset, name, 0.5) for name in "abc"}
    start = threading.Barrier(3)
    errors = []

    def push(name):
        start.wait()
        try:
            with open(runner.logs / f"{name}.log", "a") as log:
                runner.push(clones[name], f"refs/heads/sweep/demo/{name}", log)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=push, args=(name,)) for name in clones]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for name in "abc":
        assert sweep_jobs.has_result(dataset, f"sweep/demo/{name}")
        # the annexed output is in the dataset and git-annex there knows it
        where = sh(["git", "annex", "whereis", "--branch", f"sweep/demo/{name}"],
                   dataset).stdout
        assert "1 copy" in where and "here" in where, where
    # the clones are private and dead: the dataset never hears of them
    assert "sweep job" not in sh(["git", "annex", "info", "--fast"], dataset).stdout
    for folder in clones.values():
        runner.remove(folder)
        assert not folder.exists()
    assert dataset.joinpath("README").read_text() == "dataset\n"


def test_jobs_running_together_get_their_own_share_of_the_cores(monkeypatch):
    monkeypatch.setattr(sweep_jobs.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    assert sweep_jobs.core_shares(2) == ["0,1", "2,3"]
    assert sweep_jobs.core_shares(3) == ["0", "1", "2,3"]
    assert sweep_jobs.core_shares(1) == [None]  # one job at a time: all cores
    assert sweep_jobs.core_shares(5) == [None] * 5  # more jobs than cores: no pinning
