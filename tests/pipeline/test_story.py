"""pipeline.story: the parameter edits it makes and the comparison it ends with."""
import pandas as pd
import pytest

from pipeline import story
from pipeline.errors import PipelineError

PARAMS = "# the story's settings\nclassifier: sgd        # sgd | random-forest\nmax_iter: 10\n"


def test_set_train_param_edits_one_line_and_keeps_comments(tmp_path):
    (tmp_path / "params").mkdir()
    path = tmp_path / "params/train.yaml"
    path.write_text(PARAMS)
    story.set_train_param(tmp_path, "classifier", "random-forest")
    assert path.read_text() == PARAMS.replace("classifier: sgd ", "classifier: random-forest ")
    with pytest.raises(PipelineError, match="no line `n_estimators: ...`"):
        story.set_train_param(tmp_path, "n_estimators", "10")


def test_comparison_rows_name_the_story_models_in_order():
    table = pd.DataFrame([  # as compare.evaluations gives it: oldest first, gaps as NaN
        {"refs": "", "model": "SGD-10", "commit": "3a220ac4", "classifier": "sgd",
         "max_iter": 10.0, "n_estimators": None, "accuracy": 0.7237},
        {"refs": "randomforest", "model": "random forest", "commit": "6f1242b0",
         "classifier": "random-forest", "max_iter": 100.0, "n_estimators": 100.0,
         "accuracy": 0.8162},
        {"refs": "", "model": "SGD-100", "commit": "17c248f0", "classifier": "sgd",
         "max_iter": 100.0, "n_estimators": None, "accuracy": 0.7},
        {"refs": "main", "model": "SGD-100", "commit": "27c248f0", "classifier": "sgd",
         "max_iter": 100.0, "n_estimators": None, "accuracy": 0.7655},
        {"refs": "sweep/grid/1", "model": "", "commit": "99999999", "classifier": "svm",
         "max_iter": None, "n_estimators": None, "accuracy": 0.9},
    ])
    assert story.comparison_rows(table) == [
        {"model": "SGD-10", "ref": "3a220ac4", "classifier": "sgd", "parameters": "max_iter=10",
         "accuracy": 0.7237},
        {"model": "SGD-100", "ref": "main", "classifier": "sgd", "parameters": "max_iter=100",
         "accuracy": 0.7655},  # the newest evaluation of a model
        {"model": "random forest", "ref": "randomforest", "classifier": "random-forest",
         "parameters": "n_estimators=100", "accuracy": 0.8162},
    ]
    assert story.comparison_rows(pd.DataFrame()) == []


def test_the_table_keeps_its_columns_when_a_ref_cell_holds_a_sweeps_branch_too():
    rows = [{"model": "SGD-10", "ref": "3a220ac4", "accuracy": "0.7237"},
            {"model": "SGD-100", "ref": "main sweep/handbook/SGD-100", "accuracy": "0.7655"}]
    lines = story.aligned(rows, ["model", "ref", "accuracy"])
    assert lines == ["model    ref                          accuracy",
                     "SGD-10   3a220ac4                       0.7237",
                     "SGD-100  main sweep/handbook/SGD-100    0.7655"]
