"""pipeline.history on a tiny dataset with real datalad run records (tests/run_records.py)."""
import pytest

from helpers import git
from pipeline import history
import run_records

tiny_history = run_records.tiny_history  # the session fixture, shared


def test_a_record_names_its_stage_by_notebook_or_executed_output():
    assert history.stage_of({"inputs": ["params/train.yaml", "notebooks/train.ipynb"],
                             "outputs": ["model.joblib"]}) == "train"
    assert history.stage_of({"inputs": ["data/x.csv"], "outputs": ["executed/evaluate.ipynb"]}) \
        == "evaluate"
    assert history.stage_of({"inputs": ["other/notebooks/train.ipynb"], "outputs": ["x"]}) is None
    assert history.stage_of(None) is None


def test_stage_runs_and_records(tiny_history):
    root, runs = tiny_history
    for stage, commit in runs.items():
        assert history.stage_runs(root, stage, ["HEAD"]) == [commit]
        assert history.stage_of(history.run_record(root, commit)) == stage
    assert history.run_commits(root, ["HEAD"]) == list(runs.values())  # oldest first
    assert history.stage_runs(root, "train", [f"{runs['train']}..HEAD"]) == []
    assert history.run_record(root, "HEAD~3") is None  # the commit that added the notebooks
    assert history.run_record(root, "no-such-ref") is None
    assert history.current_run(root, "sweep/grid/job-1", "evaluate") == runs["evaluate"]


def test_producers_follow_the_records(tiny_history):
    root, runs = tiny_history
    assert history.producer(root, "HEAD", "model.joblib") == runs["train"]
    assert history.producer(root, runs["evaluate"], "data/test.csv") == runs["prepare"]
    assert history.producer(root, runs["prepare"], "model.joblib") is None  # not made yet
    assert history.producer(root, "HEAD", "notebooks/train.ipynb") is None  # never an output
    assert history.upstream_runs(root, runs["evaluate"]) == {"prepare": runs["prepare"],
                                                             "train": runs["train"]}


def test_files_parameters_and_data_at_a_commit(tiny_history):
    root, runs = tiny_history
    assert history.file_at(root, runs["train"], "model.joblib") == "a trained model"
    assert history.file_at(root, runs["prepare"], "model.joblib") is None
    recorded = history.notebook_parameters(root, runs["train"], "executed/train.ipynb")
    assert recorded["max_iter"] == 10
    assert history.run_parameters(root, runs["prepare"])["image_size"] == 32
    assert history.run_parameters(root, None) == {}
    assert history.json_outputs(root, runs["evaluate"])["per_class"]["golf ball"]["recall"] == 0.5
    assert history.data_version(root, runs["prepare"]) == git(root, "rev-parse", "HEAD:data/raw")
    assert history.data_version(root, runs["train"]) == ""  # it read no subdataset
    assert history.container_image(root, "HEAD", history.run_record(root, "HEAD")) == "none"


def test_refs_and_the_story_names(tiny_history):
    root, runs = tiny_history
    assert set(history.refs(root, "tags")) == {history.READY, history.SGD_100}
    assert {"main", "sweep/grid/job-1"} <= set(history.refs(root, "heads"))
    assert history.has_ref(root, history.READY) and not history.has_ref(root, history.BRANCH)
    # SGD-10 is what runs between ready4analysis and SGD-100; the other models have no refs.
    assert history.story_names(root) == {runs["prepare"]: "ready4analysis",
                                         runs["train"]: "SGD-10", runs["evaluate"]: "SGD-10"}


def test_a_revision_that_names_no_commit_is_refused(tiny_history):
    root, runs = tiny_history
    history.require_revisions(root, [f"{runs['prepare']}..HEAD", "HEAD", "HEAD~1...HEAD"])
    with pytest.raises(history.HistoryError, match="'nosuch' names no commit here"):
        history.require_revisions(root, ["HEAD..nosuch"])
