"""The handbook's random forest and params/best/train.yaml on real images: the shared stand-in archive in CI
(IMAGENETTE_URL), or the official archive where it is reachable and a user asks for it."""
import json
import os
import sys

import pytest

from helpers import git, require, sh
from pipeline import history


@pytest.fixture
def real_data_clone(tmp_path, registered_dataset):
    url = os.environ.get("IMAGENETTE_URL", "")
    require(url.startswith("file:") and os.path.exists(url[len("file://"):]),
            "IMAGENETTE_URL=file://... pointing at imagenette2-160 data (CI: the shared stand-in)")
    clone = tmp_path / "ds"
    sh(["datalad", "clone", str(registered_dataset), str(clone)], tmp_path)
    sh([sys.executable, "-m", "pipeline", "data"], clone, IMAGENETTE_DATASET=str(tmp_path / "imagenette"))
    return clone


def test_random_forest_and_best_params_accuracy_on_real_images(real_data_clone):
    clone = real_data_clone
    run = [sys.executable, "-m", "pipeline", "run"]
    sh([*run, "prepare"], clone)
    assert len((clone / "data/test.csv").read_text().splitlines()) - 1 == 789
    sh([*run, "train", "-p", "classifier", "random-forest"], clone)
    sh([*run, "evaluate"], clone)
    accuracy = json.loads((clone / "accuracy.json").read_text())["accuracy"]
    print(f"random forest accuracy on the real images: {accuracy:.4f}")
    assert 0.79 <= accuracy <= 0.83

    # The named best configuration, as a user runs it: recorded, in the container.
    sh([*run, "train", "-f", "params/best/train.yaml"], clone)
    sh([*run, "evaluate"], clone)
    best = json.loads((clone / "accuracy.json").read_text())["accuracy"]
    print(f"params/best/train.yaml accuracy on the real images: {best:.4f}")
    assert best >= 0.92
    train = history.run_record(clone, history.git(clone, "rev-parse", "HEAD~1"))
    assert "params/best/train.yaml" in train["inputs"] and "-f params/best/train.yaml" in train["cmd"]

    # Recomputing the best model from its record changes no byte: datalad makes no new commit.
    head = git(clone, "rev-parse", "HEAD")
    sh(["datalad", "rerun", git(clone, "rev-parse", "HEAD~1")], clone)
    assert git(clone, "rev-parse", "HEAD") == head and git(clone, "status", "--porcelain") == ""
