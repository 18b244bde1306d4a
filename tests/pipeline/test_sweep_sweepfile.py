"""Sweep files: jobs, grids and their names, checked against their schema; found by name."""
import shutil

import pytest
import yaml

from helpers import REPO, STAGES
from pipeline.errors import PipelineError
from pipeline.sweep import model, sweepfile

GOLF, PARACHUTE = "n03445777", "n03888257"


def parse(text: str, name: str = "demo") -> model.Sweep:
    return sweepfile.parse(yaml.safe_load(text), f"sweeps/{name}.yaml", name, STAGES)


def test_a_grid_makes_every_combination_named_by_its_values():
    demo = parse("""
grid:
  train:
    features: [raw, hog]
    classifier: [sgd, random-forest]
""")
    assert [job.name for job in demo.jobs] == [
        "features-raw_classifier-sgd", "features-raw_classifier-random-forest",
        "features-hog_classifier-sgd", "features-hog_classifier-random-forest"]
    assert demo.jobs[1].overrides == {"train": {"features": "raw", "classifier": "random-forest"}}
    assert demo.params == {s: f"params/{s}.yaml" for s in STAGES}
    assert demo.branch(demo.jobs[0]) == "sweep/demo/features-raw_classifier-sgd"
    assert demo.tag == "sweep/demo"


def test_named_jobs_shared_settings_and_base_params_files():
    demo = parse("""
params: {train: params/best/train.yaml}
set: {train: {max_iter: 100, random_state: 1}}
jobs:
  SGD-10: {train: {classifier: sgd, max_iter: 10}}
  forest: {train: {classifier: random-forest}}
""")
    assert demo.params["train"] == "params/best/train.yaml"
    assert demo.params["prepare"] == "params/prepare.yaml"
    ten, forest = demo.jobs
    assert ten.overrides == {"train": {"max_iter": 10, "random_state": 1, "classifier": "sgd"}}
    assert forest.stage_overrides("train")["max_iter"] == 100  # from set
    # what a table shows: only what differs between jobs
    assert demo.varying() == [("train", "max_iter"), ("train", "classifier")]


def test_listed_jobs_cross_the_grid():
    demo = parse("""
jobs:
  - {train: {classifier: sgd}}
  - {train: {classifier: svm}}
grid: {train: {C: [0.1, 10]}}
""")
    assert [job.name for job in demo.jobs] == ["classifier=sgd_C-0.1", "classifier=sgd_C-10",
                                               "classifier=svm_C-0.1", "classifier=svm_C-10"]
    assert demo.jobs[3].overrides == {"train": {"classifier": "svm", "C": 10}}


def test_class_pairs_are_named_by_their_labels_and_prepare_once_per_pair():
    demo = parse(f"""
set: {{train: {{classifier: sgd}}}}
grid:
  prepare:
    categories:
      - {{{GOLF}: golf ball, {PARACHUTE}: parachute}}
      - {{{PARACHUTE}: parachute, {GOLF}: golf ball}}
  train:
    max_iter: [5, 10]
""")
    names = [job.name for job in demo.jobs]
    assert names[0] == "categories-golf-ball+parachute_max_iter-5"
    assert names[2] == "categories-parachute+golf-ball_max_iter-5"
    keys = [demo.prepare_key(job, "tree") for job in demo.jobs]
    assert keys[0] == keys[1] != keys[2] == keys[3]
    assert demo.prepare_key(demo.jobs[0], "another tree") != keys[0]


@pytest.mark.parametrize("text, says", [
    ("jobs: {}", "names no job"),
    ("grid: {train: {max_iter: 10}}", "must be a list of values"),
    ("grid: {training: {max_iter: [10]}}", "'training' is not a stage"),
    ("jobs: {a: {train: [1]}}", "must map parameter names to values"),
    ("jobz: {a: {}}", "unknown key(s) jobz"),
    ("jobs: {a: {train: {x: 1}}, 'a ': {train: {x: 2}}}", "share the branch name(s) a"),
    ("set: {train: 3}\njobs: {a: {}}", "`set` must map stages"),
    ("- 1", "must hold a mapping"),
])
def test_bad_sweep_files_are_refused_with_what_to_change(text, says):
    with pytest.raises(PipelineError, match=None) as error:
        parse(text)
    assert says in str(error.value)


def test_names_become_branch_names_git_accepts():
    assert model.ref_safe("golf ball+parachute") == "golf-ball+parachute"
    assert model.ref_safe("a..b/c:d~e^f") == "a.b-c-d-e-f"
    assert model.ref_safe("x.lock") == "x"
    assert model.ref_safe("///") == "job"


def test_a_sweep_is_found_by_name_or_file(tmp_path):
    (tmp_path / "sweeps").mkdir()
    (tmp_path / "sweeps" / "demo.yaml").write_text("grid: {train: {max_iter: [1, 2]}}\n")
    shutil.copy(REPO / "stages.yaml", tmp_path)  # the stages a sweep file may name
    assert sweepfile.load(tmp_path, "demo").source == "sweeps/demo.yaml"
    assert len(sweepfile.load(tmp_path, str(tmp_path / "sweeps" / "demo.yaml")).jobs) == 2
    with pytest.raises(model.SweepError, match="name one of sweeps/demo.yaml"):
        sweepfile.load(tmp_path, "other")


def test_the_shipped_sweeps_parse():
    from helpers import project

    root = project()
    handbook = sweepfile.load(root, "handbook")
    assert [job.name for job in handbook.jobs] == ["SGD-10", "SGD-100", "random-forest"]
    assert len(sweepfile.load(root, "features-classifiers").jobs) >= 8
    pairs = sweepfile.load(root, "class-pairs")
    assert len({pairs.prepare_key(job, "") for job in pairs.jobs}) == len(pairs.jobs)
