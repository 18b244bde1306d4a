"""pipeline.compare: the one table of evaluations, filtered, sorted and written out."""
import json

import pandas as pd
import pytest

from pipeline import compare
from pipeline.errors import PipelineError
import run_records

tiny_history = run_records.tiny_history  # the session fixture, shared


def table() -> pd.DataFrame:
    return pd.DataFrame([
        {"refs": "main", "model": "SGD-100", "commit": "aaaa1111", "classifier": "sgd",
         "max_iter": 100, "accuracy": 0.76, "recall[golf ball]": 0.7},
        {"refs": "", "model": "SGD-10", "commit": "bbbb2222", "classifier": "sgd",
         "max_iter": 10, "accuracy": 0.72, "recall[golf ball]": None},
        {"refs": "randomforest", "model": "random forest", "commit": "cccc3333",
         "classifier": "random-forest", "max_iter": 10, "accuracy": 0.81, "recall[golf ball]": 0.8},
    ])


def test_select_filters_as_text_and_sorts_metrics_best_first():
    assert list(compare.select(table(), ["classifier=sgd"], None)["commit"]) == ["aaaa1111",
                                                                                 "bbbb2222"]
    assert list(compare.select(table(), ["max_iter=10"], "accuracy")["model"]) == [
        "random forest", "SGD-10"]
    assert list(compare.select(table(), [], "model")["model"]) == [
        "SGD-10", "SGD-100", "random forest"]  # text: ascending


def test_unknown_columns_are_the_users_to_fix():
    for where, sort in ((["colour=red"], None), ([], "speed")):
        with pytest.raises(PipelineError, match="Unknown column .* choose from refs, model"):
            compare.select(table(), where, sort)


def test_render_in_every_format():
    rows = table()
    assert json.loads(compare.render(rows, "json"))[1]["max_iter"] == 10
    assert compare.render(rows, "csv").splitlines()[0] == (
        "refs,model,commit,classifier,max_iter,accuracy,recall[golf ball]")
    brief = compare.render(rows, "table")
    assert "random forest" in brief and "recall" not in brief  # per-class figures: files only
    assert compare.render(rows, "markdown").splitlines()[3] == (
        "|  | SGD-10 | bbbb2222 | sgd | 10 | 0.72 |  |")


def test_to_markdown_writes_gaps_as_empty_cells():
    markdown = compare.to_markdown(pd.DataFrame([{"a": 1, "b": None}, {"a": None, "b": "x"}]))
    assert markdown == "| a | b |\n| --- | --- |\n| 1.0 |  |\n|  | x |\n"


def test_sweeps_are_named_by_their_job_refs():
    assert compare.sweep_of(["main", "sweep/grid/job-1", "sweep/grid/job-2"]) == "grid"
    assert compare.sweep_of(["sweep/b/1", "sweep/a/7"]) == "a b"
    assert compare.sweep_of(["sweep/grid", "main", "sweeps/x/1"]) == ""  # a sweep's merge tag


def test_evaluations_come_from_the_records(tiny_history):
    root, runs = tiny_history
    rows = compare.evaluations(root).to_dict("records")
    assert len(rows) == 1
    row = rows[0]
    assert row["commit"] == runs["evaluate"][:8]
    assert row["refs"] == "main sweep/grid/job-1 SGD-100" and row["sweep"] == "grid"
    assert row["model"] == "SGD-10"
    assert (row["classifier"], row["max_iter"], row["image_size"]) == ("sgd", 10, 32)
    assert row["categories"] == "golf ball, parachute" and row["container"] == "none"
    assert len(row["data"]) == 8 and row["accuracy"] == 0.75 and row["f1[golf ball]"] == 0.6667
    assert compare.evaluations(root, [f"{runs['evaluate']}..HEAD"]).empty
