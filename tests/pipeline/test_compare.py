"""pipeline.compare: the one table of evaluations, filtered, sorted and written out."""
import json
import shutil

import pandas as pd
import pytest

from benchmark import branches
from helpers import git
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


@pytest.fixture
def many_jobs(tiny_history, tmp_path):
    """A copy of the tiny history with 30 fabricated finished job branches of sweep many, one
    job commit tagged (lightweight) and one with an annotated tag."""
    root = tmp_path / "ds"
    shutil.copytree(tiny_history[0], root, symlinks=True)
    sweep = branches.fabricate(root, "many", 30)
    git(root, "tag", "light", sweep.branch(sweep.jobs[3]))
    git(root, "tag", "-a", "-m", "annotated", "heavy", sweep.branch(sweep.jobs[4]))
    return root, sweep


def test_compare_finds_each_of_many_job_branches_with_its_own_result(many_jobs):
    root, sweep = many_jobs
    results = compare.results_of_branches(root)
    holding = compare.holders(root, results)
    for commit in {*results.values(), *git(root, "rev-list", "--all").split()}:
        # the index built once says what the per-commit query says
        assert holding.get(commit, []) == compare.refs_holding(root, commit, results), commit
    found = compare.evaluations(root, [sweep.branch(job) for job in sweep.jobs])
    rows = found[found["sweep"] == "many"]
    assert len(rows) == len(sweep.jobs)
    for index, (job, row) in enumerate(zip(sweep.jobs, rows.to_dict("records"))):
        tags = {3: " light", 4: " heavy"}.get(index, "")
        assert row["refs"] == sweep.branch(job) + tags
        assert row["accuracy"] == branches.accuracy_of(index, len(sweep.jobs))
        assert row["commit"] == git(root, "rev-parse", sweep.branch(job))[:8]
        assert (row["classifier"], row["max_iter"], row["image_size"]) == ("sgd", 10, 32)
        # read for all rows at once: what one git call per commit says
        commit = git(root, "rev-parse", sweep.branch(job))
        assert row["describe"] == git(root, "describe", "--tags", "--always", commit)
        assert row["date"] == git(root, "log", "-1", "--format=%cs", commit)
