"""benchmark/handbook: the handbook's three scripts, the baseline every figure is compared with,
run as the handbook runs them (one process each, from the dataset root)."""
import json
import subprocess
import sys

import joblib
import pandas as pd
import pytest

from helpers import project
from imagenette_fixture import write_tree

SCRIPTS = project() / "code" / "benchmark" / "handbook"


def step(root, script: str, *args: str) -> None:
    subprocess.run([sys.executable, str(SCRIPTS / script), *args], cwd=root, check=True)


def test_handbook_baseline_runs_its_three_steps_like_the_handbook(tmp_path):
    write_tree(tmp_path / "data" / "raw", {"train": 10, "val": 5})
    scripts = project() / "code" / "benchmark" / "handbook"
    for step in (["prepare.py"], ["train.py", "sgd", "10"], ["evaluate.py"]):
        subprocess.run([sys.executable, str(scripts / step[0]), *step[1:]], cwd=tmp_path,
                       check=True)
    table = pd.read_csv(tmp_path / "data" / "train.csv")
    # pandas' default index column
    assert list(table.columns) == ["Unnamed: 0", "filename", "label"]
    assert sorted(table["label"].unique()) == ["golf ball", "parachute"] and len(table) == 20
    assert table["filename"].str.startswith("data/raw/imagenette2-160/train/").all()
    assert type(joblib.load(tmp_path / "model.joblib")).__name__ == "SGDClassifier"
    assert 0 <= json.loads((tmp_path / "accuracy.json").read_text())["accuracy"] <= 1


@pytest.mark.parametrize("args, expected", [
    (["random-forest"], ("RandomForestClassifier", None)),
    (["sgd", "100"], ("SGDClassifier", 100)),
    (["sgd"], ("SGDClassifier", 10)),
])
def test_the_classifier_is_chosen_on_the_command_line_with_default_arguments(tmp_path, args,
                                                                             expected):
    write_tree(tmp_path / "data" / "raw", {"train": 6, "val": 2})
    step(tmp_path, "prepare.py")
    step(tmp_path, "train.py", *args)
    model = joblib.load(tmp_path / "model.joblib")
    assert (type(model).__name__, getattr(model, "max_iter", None)) == expected
    assert model.random_state is None  # the handbook seeds nothing


def test_evaluate_scores_the_test_table_with_the_saved_model(tmp_path):
    write_tree(tmp_path / "data" / "raw", {"train": 6, "val": 4})
    for script, args in (("prepare.py", []), ("train.py", ["sgd", "5"]), ("evaluate.py", [])):
        step(tmp_path, script, *args)
    test = pd.read_csv(tmp_path / "data" / "test.csv")
    assert len(test) == 8 and test["filename"].str.contains("/val/").all()
    accuracy = json.loads((tmp_path / "accuracy.json").read_text())["accuracy"]
    assert accuracy in {k / 8 for k in range(9)}  # a share of the 8 test images


def test_the_handbooks_prepare_takes_other_folders_on_its_command_line(tmp_path):
    write_tree(tmp_path / "data" / "raw", {"train": 4, "val": 2},
               folders=("n03445777", "n03888257", "n01440764"))
    script = SCRIPTS / "prepare.py"
    subprocess.run([sys.executable, str(script), "n01440764=tench", "n03445777=golf ball"],
                   cwd=tmp_path, check=True)
    table = pd.read_csv(tmp_path / "data" / "train.csv")
    assert sorted(table["label"].unique()) == ["golf ball", "tench"] and len(table) == 8
