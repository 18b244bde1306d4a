"""All ten Imagenette classes through the recorded stages, with the committed ten-class params
files (a small generated archive; `make bench` runs the full size), then the ten-class notebook
on their results."""
import json
import sys

import nbformat
import yaml

from benchmark.generate import TEN_CLASSES
from helpers import clone_repository, git, sh
from imagenette_fixture import make_archive
from run_records import run_record


def notebook_text(path) -> str:
    """Every text output of an executed notebook, one string."""
    texts = []
    for cell in nbformat.read(path, as_version=4).cells:
        for output in cell.get("outputs", []):
            texts.append(output.get("text") or output.get("data", {}).get("text/plain", ""))
    return "\n".join(texts)


def test_ten_classes_are_prepared_trained_and_evaluated(tmp_path):
    archive = make_archive(tmp_path / "archive", {"train": 6, "val": 3}, folders=TEN_CLASSES)
    clone = clone_repository(tmp_path / "ds")
    sh([sys.executable, "-m", "pipeline", "data"], clone, IMAGENETTE_URL=archive.as_uri(),
       IMAGENETTE_DATASET=str(tmp_path / "imagenette"))
    run = [sys.executable, "-m", "pipeline", "run", "--container", "none"]
    sh([*run, "prepare", "-f", "params/ten-classes/prepare.yaml"], clone)
    sh([*run, "train", "-f", "params/ten-classes/train.yaml"], clone)
    sh([*run, "evaluate"], clone)
    fast = json.loads((clone / "metrics.json").read_text())
    sh([*run, "train", "-f", "params/ten-classes/best.yaml"], clone)
    sh([*run, "evaluate"], clone)

    names = yaml.safe_load((clone / "params/ten-classes/prepare.yaml").read_text())["categories"]
    assert sorted(names) == sorted(TEN_CLASSES)
    metrics = json.loads((clone / "metrics.json").read_text())
    assert metrics["labels"] == sorted(names.values()) and metrics["n_test_images"] == 30
    assert fast["labels"] == metrics["labels"]
    matrix = metrics["confusion_matrix"]
    assert len(matrix) == 10 and all(len(row) == 10 for row in matrix)
    train = run_record(clone, git(clone, "rev-parse", "HEAD~1"))
    assert "params/ten-classes/best.yaml" in train["inputs"]
    prepare = run_record(clone, git(clone, "rev-parse", "HEAD~4"))
    assert "-f params/ten-classes/prepare.yaml" in prepare["cmd"]
    raw_inputs = [p for p in prepare["inputs"] if p.startswith("data/raw/")]
    assert len(raw_inputs) == 20  # 10 folders x 2 splits

    # The notebook that teaches ten classes reads those results and the images' names.
    shown = tmp_path / "ten-classes.ipynb"
    sh(["papermill", "notebooks/ten-classes.ipynb", str(shown), "-k", "python3"], clone)
    text = notebook_text(shown)
    kept = int(text.split(" of 60 training rows keep their label")[0].split()[-1])
    assert 0 <= kept <= 60
    assert f"accuracy: {metrics['accuracy']:.4f} on 30 test images" in text
    assert "share of true" in text  # the table of the largest mistakes
    assert git(clone, "status", "--porcelain") == ""  # it only reads
