"""A sweep job's clone and push on small git-annex repositories (no datalad run, no stages);
the commands a job runs."""
import json
import threading

import pytest

from helpers import STAGES, sh
from pipeline.sweep import stores
from pipeline.sweep.jobs import Jobs, stage_command
from pipeline.sweep.merge import job_results
from pipeline.sweep.model import Job, Sweep
from test_sweep_sweepfile import GOLF, PARACHUTE, parse


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


def demo_sweep(names) -> Sweep:
    return Sweep("demo", "sweeps/demo.yaml", {s: f"params/{s}.yaml" for s in STAGES},
                 tuple(Job(name, {"train": {"max_iter": 1}}) for name in names))


def demo_jobs(dataset, names, store=None) -> Jobs:
    return Jobs(dataset, demo_sweep(names), "none", store or stores.InDataset(dataset))


def push(jobs: Jobs, clone, name: str, start=None) -> None:
    with jobs.shell(name) as shell:
        jobs.push(clone, f"refs/heads/sweep/demo/{name}", shell, start)


def job_clone(jobs, dataset, name: str, accuracy: float):
    """What a job leaves in its clone: a branch with an annexed output and accuracy.json."""
    folder = jobs.scratch / name
    with jobs.shell(name) as shell:
        jobs.clone(folder, "HEAD", f"sweep/demo/{name}", shell)
    (folder / "model.bin").write_bytes(name.encode() * 1000)
    (folder / "accuracy.json").write_text(json.dumps({"accuracy": accuracy}))
    sh(["git", "annex", "add", "--quiet", "model.bin"], folder)
    sh(["git", "add", "accuracy.json"], folder)
    sh(["git", "commit", "--quiet", "-m", f"job {name}"], folder)
    return folder


def test_jobs_finishing_together_push_one_after_the_other(dataset):
    jobs = demo_jobs(dataset, ["a", "b", "c"])
    clones = {name: job_clone(jobs, dataset, name, 0.5) for name in "abc"}
    start = threading.Barrier(3)
    errors = []

    def push_together(name):
        start.wait()
        try:
            push(jobs, clones[name], name)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=push_together, args=(name,)) for name in clones]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert list(job_results(dataset, jobs.sweep)) == [f"sweep/demo/{name}" for name in "abc"]
    for name in "abc":
        # the annexed output is in the dataset and git-annex there knows it
        where = sh(["git", "annex", "whereis", "--branch", f"sweep/demo/{name}"],
                   dataset).stdout
        assert "1 copy" in where and "here" in where, where
    # the clones are private and dead: the dataset never hears of them
    assert "sweep job" not in sh(["git", "annex", "info", "--fast"], dataset).stdout
    for folder in clones.values():
        jobs.remove(folder)
        assert not folder.exists()
    assert dataset.joinpath("README").read_text() == "dataset\n"


def test_a_job_runs_the_commands_of_a_single_run():
    demo = parse(f"""
params: {{train: params/best/train.yaml}}
jobs:
  pair: {{prepare: {{categories: {{{GOLF}: golf ball, {PARACHUTE}: parachute}}}},
          train: {{C: 1.0, augment: none, flip: True}}}}
""")
    job = demo.jobs[0]
    assert stage_command(demo, job, "train", "software") == [
        "python", "-m", "pipeline", "run", "train", "-f", "params/best/train.yaml",
        "-p", "C", "1.0", "-p", "augment", "none", "-p", "flip", "True"]
    assert stage_command(demo, job, "prepare", "none") == [
        "python", "-m", "pipeline", "run", "prepare", "-p", "categories",
        f'{{"{GOLF}": "golf ball", "{PARACHUTE}": "parachute"}}', "--container", "none"]
    assert stage_command(demo, job, "evaluate", "software") == [
        "python", "-m", "pipeline", "run", "evaluate"]
