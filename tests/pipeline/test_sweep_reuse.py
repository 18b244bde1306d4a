"""A sweep starts its jobs from the prepare result at HEAD only when their own prepare would
compute exactly it: same call, same container, nothing it reads changed since."""
import json

import pytest

from helpers import STAGES, clone_repository, git, sh
from pipeline import stages
from pipeline.sweep import reuse
from pipeline.sweep.model import Job, Sweep

IMAGE = ".datalad/environments/software/image"
PARAMS = {stage: f"params/{stage}.yaml" for stage in STAGES}


def commit_prepare_run(root, planned: stages.StageRun, image: str | None) -> str:
    """A commit with the outputs and the run record a prepare run leaves."""
    for path in planned.outputs():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(f"made by prepare: {path}\n")
    call = f"python3 code/container/adapter.py run {image} " if image else ""
    record = {"chain": [], "cmd": call + planned.papermill_command(), "dsid": "test", "exit": 0,
              "extra_inputs": [image] if image else [], "inputs": planned.inputs(),
              "outputs": planned.outputs(), "pwd": "."}
    message = (f"[DATALAD RUNCMD] {planned.message()}\n\n=== Do not change lines below ===\n"
               f"{json.dumps(record, indent=1)}\n^^^ Do not change lines above ^^^\n")
    sh(["git", "add", "--", *planned.outputs()], root)
    sh(["git", "commit", "--quiet", "-m", message], root)
    return git(root, "rev-parse", "HEAD")


def commit(root, path: str, text: str) -> None:
    (root / path).parent.mkdir(parents=True, exist_ok=True)
    (root / path).write_text(text)
    sh(["git", "add", "--", path], root)
    sh(["git", "commit", "--quiet", "-m", f"change {path}"], root)


def demo_sweep(jobs: tuple[Job, ...]) -> Sweep:
    return Sweep("demo", "sweeps/demo.yaml", PARAMS, jobs)


@pytest.fixture
def dataset(tmp_path):
    """The project's committed code with a prepare run (no container) at HEAD."""
    root = clone_repository(tmp_path / "ds")
    run = commit_prepare_run(root, stages.plan(root, "prepare"), None)
    return root, run


def reusable(root, job=Job("a"), container="none"):
    return reuse.reusable_prepare(root, demo_sweep((job,)), job,
                                  git(root, "rev-parse", "HEAD"), container)


def test_the_prepare_at_head_is_reused_when_only_later_stages_changed(dataset):
    root, run = dataset
    commit(root, "params/train.yaml", "classifier: random-forest\n")  # the story's last change
    commit(root, "sweeps/demo.yaml", "jobs: {a: {}}\n")
    assert reusable(root) == run
    # marked as the jobs' shared prepare: its ref points at HEAD, which both executors skip
    jobs = demo_sweep((Job("a", {"train": {"max_iter": 5}}), Job("b")))
    head, tree = git(root, "rev-parse", "HEAD"), git(root, "rev-parse", "HEAD^{tree}")
    reused = reuse.reuse_prepares(root, jobs, list(jobs.jobs), head, tree, "none")
    key = jobs.prepare_key(jobs.jobs[0], tree)
    assert reused == {key: run}  # one shared prepare for both jobs
    assert git(root, "rev-parse", f"refs/sweep-bases/demo/{key}") == head


@pytest.mark.parametrize("path", ["code/imageclf/images.py", "notebooks/prepare.ipynb",
                                  "params/prepare.yaml", "stages.yaml", "data/train.csv",
                                  "README.md"])
def test_a_change_that_could_matter_since_the_run_prepares_again(dataset, path):
    root, _ = dataset
    commit(root, path, (root / path).read_text() + "\n" if (root / path).exists() else "x\n")
    assert reusable(root) is None


def test_other_prepare_parameters_or_another_container_prepare_again(dataset):
    root, run = dataset
    assert reusable(root, Job("small", {"prepare": {"image_size": 64}})) is None
    assert reusable(root, container="software") is None  # the run had no container
    assert reusable(root, Job("same", {"train": {"max_iter": 5}})) == run


def test_a_run_in_the_container_is_reused_only_by_that_container(tmp_path):
    root = clone_repository(tmp_path / "ds")
    sh(["git", "config", "-f", ".datalad/config", "datalad.containers.software.image", IMAGE],
       root)  # what `make container` registers
    sh(["git", "commit", "--quiet", "-m", "container", ".datalad/config"], root)
    run = commit_prepare_run(root, stages.plan(root, "prepare"), IMAGE)
    assert reusable(root, container="software") == run
    assert reusable(root, container="none") is None


def test_uncommitted_changes_to_what_prepare_reads_prepare_again(dataset):
    root, run = dataset
    (root / "README.md").write_text("a user's notes\n")  # not prepare's: no matter
    assert reusable(root) == run
    (root / "params" / "prepare.yaml").write_text("image_size: 64\n")
    assert reusable(root) is None
