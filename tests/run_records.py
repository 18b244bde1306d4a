"""Read run records in the tests with the project's reader (pipeline.history), and a tiny
dataset whose history holds real ``datalad run`` records of the three stages."""
from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import pytest

from helpers import REPO, git, sh
from pipeline import history

# What each fake stage writes: papermill's parameters into its executed notebook, and its
# outputs. The runs are real datalad runs; only the work inside them is a stand-in.
FAKE_STAGE = '''import json, sys
stage = sys.argv[1]
params = {
    "prepare": {"image_size": 32, "categories": {"n1": "golf ball", "n2": "parachute"},
                "raw_dir": "data/raw/images", "test_csv": "data/test.csv", "train_split": "train"},
    "train": {"classifier": "sgd", "max_iter": 10, "random_state": 42, "train_csv": "data/test.csv",
              "model_file": "model.joblib"},
    "evaluate": {"test_csv": "data/test.csv", "model_file": "model.joblib"},
}[stage]
metrics = {"accuracy": 0.75,
           "per_class": {"golf ball": {"precision": 1.0, "recall": 0.5, "f1": 0.6667}}}
outputs = {"prepare": {"data/test.csv": "path,label\\na.jpg,golf ball\\n"},
           "train": {"model.joblib": "a trained model\\n"},
           "evaluate": {"accuracy.json": {"accuracy": 0.75}, "metrics.json": metrics}}[stage]
notebook = {"cells": [], "metadata": {"papermill": {"parameters": params}}, "nbformat": 4,
            "nbformat_minor": 5}
outputs[f"executed/{stage}.ipynb"] = notebook
for path, content in outputs.items():
    with open(path, "w") as out:
        out.write(content if isinstance(content, str) else json.dumps(content))
'''
STAGE_IO = {
    "prepare": (["notebooks/prepare.ipynb", "data/raw/images"], ["data/test.csv"]),
    "train": (["notebooks/train.ipynb", "data/test.csv"], ["model.joblib"]),
    "evaluate": (["notebooks/evaluate.ipynb", "data/test.csv", "model.joblib"],
                 ["accuracy.json", "metrics.json"]),
}


def make_tiny_history(root: Path) -> dict[str, str]:
    """A dataset with a subdataset data/raw and three runs (prepare, train, evaluate), tagged as
    the story tags them (ready4analysis on prepare, SGD-100 after the first evaluation), and a
    sweep's job branch holding the evaluation. Returns each stage's run commit."""
    sh(["datalad", "create", "-c", "text2git", str(root)], root.parent)
    git(root, "branch", "-M", "main")  # whatever git's default branch name is here
    sh(["datalad", "create", "-d", ".", "data/raw"], root)
    (root / "data/raw/images").write_text("the images\n")
    (root / "notebooks").mkdir()
    (root / "executed").mkdir()
    for stage in STAGE_IO:
        (root / f"notebooks/{stage}.ipynb").write_text('{"cells": []}\n')
    (root / "stage.py").write_text(FAKE_STAGE)
    shutil.copy(REPO / "stages.yaml", root)  # the stages' names, as in the project
    sh(["datalad", "save", "-r", "-m", "Notebooks, a stand-in for their work, and the data"], root)
    commits = {}
    for stage, (inputs, outputs) in STAGE_IO.items():
        args = ["datalad", "run", "-m", f"Run {stage}"]
        for path in inputs:
            args += ["--input", path]
        for path in [*outputs, f"executed/{stage}.ipynb"]:
            args += ["--output", path]
        sh([*args, f"python3 stage.py {stage}"], root)
        commits[stage] = git(root, "rev-parse", "HEAD")
        if stage == "prepare":
            git(root, "tag", history.READY)
    git(root, "tag", history.SGD_100)
    git(root, "branch", "sweep/grid/job-1")
    return commits


@functools.cache
def tiny_history_once() -> tuple[Path, dict[str, str]]:
    """One tiny history per test session, whichever test modules use it."""
    scratch = Path(tempfile.mkdtemp(prefix="imageclf-history-"))
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    return scratch / "ds", make_tiny_history(scratch / "ds")


@pytest.fixture
def tiny_history() -> tuple[Path, dict[str, str]]:
    """The tiny history (read only: tests share it): its root and each stage's run commit."""
    return tiny_history_once()


def run_record(clone: Path, rev: str = "HEAD") -> dict:
    """The run record of commit ``rev`` (an AssertionError when it has none)."""
    record = history.run_record(clone, rev)
    assert record, f"{rev} is not a run commit"
    return record


def run_commits(clone: Path, rev_range: str = "HEAD") -> list[str]:
    """Commits with a run record, oldest first (pipeline.history.run_commits of one range)."""
    return history.run_commits(clone, [rev_range])


def output_hashes(clone: Path, paths: list[str]) -> dict[str, str]:
    """Git object ids of committed files: for an annexed file that is the link, i.e. its key."""
    return {path: git(clone, "rev-parse", f"HEAD:{path}") for path in paths}
