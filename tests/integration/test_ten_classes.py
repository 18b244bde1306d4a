"""All ten Imagenette classes through the recorded stages, with the committed ten-class params
files (a small generated archive; `make bench` runs the full size)."""
import json
import sys

import yaml

from benchmark.generate import TEN_CLASSES
from helpers import clone_repository, git, sh
from imagenette_fixture import make_archive
from run_records import run_record


def test_ten_classes_are_prepared_trained_and_evaluated(tmp_path):
    archive = make_archive(tmp_path / "archive", {"train": 6, "val": 3}, folders=TEN_CLASSES)
    clone = clone_repository(tmp_path / "ds")
    sh([sys.executable, "-m", "pipeline", "data"], clone, IMAGENETTE_URL=archive.as_uri(),
       IMAGENETTE_DATASET=str(tmp_path / "imagenette"))
    run = [sys.executable, "-m", "pipeline", "run", "--container", "none"]
    sh([*run, "prepare", "-f", "params/ten-classes/prepare.yaml"], clone)
    sh([*run, "train", "-f", "params/ten-classes/train.yaml"], clone)
    sh([*run, "evaluate"], clone)

    names = yaml.safe_load((clone / "params/ten-classes/prepare.yaml").read_text())["categories"]
    assert sorted(names) == sorted(TEN_CLASSES)
    metrics = json.loads((clone / "metrics.json").read_text())
    assert metrics["labels"] == sorted(names.values()) and metrics["n_test_images"] == 30
    matrix = metrics["confusion_matrix"]
    assert len(matrix) == 10 and all(len(row) == 10 for row in matrix)
    prepare = run_record(clone, git(clone, "rev-parse", "HEAD~2"))
    assert "-f params/ten-classes/prepare.yaml" in prepare["cmd"]
    raw_inputs = [p for p in prepare["inputs"] if p.startswith("data/raw/")]
    assert len(raw_inputs) == 20  # 10 folders x 2 splits
