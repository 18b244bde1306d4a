"""Sweep files: jobs, grids and their names; the commands a job runs; the summary table."""
import io

import pandas as pd
import pytest
import yaml

from pipeline import sweep
from pipeline.sweep import jobs as sweep_jobs, progress as sweep_progress
from pipeline.sweep import summary as sweep_summary
from pipeline.errors import PipelineError

GOLF, PARACHUTE = "n03445777", "n03888257"


def parse(text: str, name: str = "demo") -> sweep.Sweep:
    return sweep.parse(yaml.safe_load(text), f"sweeps/{name}.yaml", name)


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
    assert demo.params == {s: f"params/{s}.yaml" for s in sweep.STAGES}
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
    assert sweep.ref_safe("golf ball+parachute") == "golf-ball+parachute"
    assert sweep.ref_safe("a..b/c:d~e^f") == "a.b-c-d-e-f"
    assert sweep.ref_safe("x.lock") == "x"
    assert sweep.ref_safe("///") == "job"


def test_a_job_runs_the_commands_of_a_single_run():
    demo = parse(f"""
params: {{train: params/best/train.yaml}}
jobs:
  pair: {{prepare: {{categories: {{{GOLF}: golf ball, {PARACHUTE}: parachute}}}},
          train: {{C: 1.0, augment: none, flip: True}}}}
""")
    job = demo.jobs[0]
    assert sweep_jobs.stage_command(demo, job, "train", "software") == [
        "python", "-m", "pipeline", "run", "train", "-f", "params/best/train.yaml",
        "-p", "C", "1.0", "-p", "augment", "none", "-p", "flip", "True"]
    assert sweep_jobs.stage_command(demo, job, "prepare", "none") == [
        "python", "-m", "pipeline", "run", "prepare", "-p", "categories",
        f'{{"{GOLF}": "golf ball", "{PARACHUTE}": "parachute"}}', "--container", "none"]
    assert sweep_jobs.stage_command(demo, job, "evaluate", "software") == [
        "python", "-m", "pipeline", "run", "evaluate"]


def test_the_summary_table_marks_the_best_job_and_jobs_without_a_result():
    frame = pd.DataFrame([
        {"job": "a", "classifier": "sgd", "accuracy": 0.7, "commit": "1234abcd"},
        {"job": "b", "classifier": "random-forest", "accuracy": 0.8, "commit": "5678abcd"},
        {"job": "c|d", "classifier": "svm", "accuracy": None, "commit": ""},
    ])
    text = sweep_summary.to_markdown(frame)
    lines = text.splitlines()
    assert lines[0] == "| job | classifier | accuracy | commit |"
    assert lines[2] == "| a | sgd | 0.7000 | 1234abcd |"
    assert lines[3] == "| b | random-forest | **0.8000** | 5678abcd |"
    assert lines[4] == "| c\\|d | svm | no result |  |"


def test_the_summary_plot_groups_by_the_first_varied_parameter(tmp_path):
    frame = pd.DataFrame([
        {"job": "a", "features": "raw", "classifier": "sgd", "accuracy": 0.7},
        {"job": "b", "features": "raw", "classifier": "rf", "accuracy": 0.8},
        {"job": "c", "features": "hog", "classifier": "sgd", "accuracy": None},
        {"job": "d", "features": "hog", "classifier": "rf", "accuracy": 0.9},
    ])
    import matplotlib

    matplotlib.use("Agg")
    fig = sweep_summary.figure(frame, ["features", "classifier"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["raw", "hog"]
    assert len(ax.patches) == 4
    outlined = [bar for bar in ax.patches if bar.get_linewidth() == 2.5]
    assert len(outlined) == 1 and outlined[0].get_height() == 0.9
    assert any("best 0.900" in t.get_text() for t in ax.texts)


def test_progress_in_a_pipe_is_one_plain_line_per_finished_job():
    out = io.StringIO()
    line = sweep_progress.SweepProgress("demo", 3, 2, out, tty=False)
    line.known("old", 0.75)
    line.started("a")
    line.started("b")
    line.finished(sweep_jobs.Outcome("a", True, 20.0, 0.8, stage_seconds=17.0))
    line.finished(sweep_jobs.Outcome("b", False, 5.0, log="x.log", message="`run` failed"))
    line.close()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("  done    a: accuracy 0.8000  [20.0 s]")
    assert "(sweep demo: 2/3 done, 1 running" in lines[0] and "best 0.8000 (a)" in lines[0]
    assert lines[1].startswith("  FAILED  b: `run` failed (log: x.log)")
    assert lines[2] == "  sweep demo: 2/3 done, 0 running, 1 failed  0:00  best 0.8000 (a)"
    assert "\r" not in out.getvalue()


def test_progress_on_a_terminal_redraws_one_line_with_time_left():
    out = io.StringIO()
    line = sweep_progress.SweepProgress("demo", 5, 2, out, tty=True)
    line.started("a")
    line.finished(sweep_jobs.Outcome("a", True, 60.0, 0.5))
    text = out.getvalue()
    status = "sweep demo: 1/5 done, 0 running  0:00, about 2:00 left  best 0.5000 (a)"
    assert "\r\x1b[K  " + status in text
    assert text.count("\n") == 1  # only the finished job's line stays


def test_a_sweep_is_found_by_name_or_file(tmp_path):
    (tmp_path / "sweeps").mkdir()
    (tmp_path / "sweeps" / "demo.yaml").write_text("grid: {train: {max_iter: [1, 2]}}\n")
    assert sweep.load(tmp_path, "demo").source == "sweeps/demo.yaml"
    assert len(sweep.load(tmp_path, str(tmp_path / "sweeps" / "demo.yaml")).jobs) == 2
    with pytest.raises(sweep.SweepError, match="name one of sweeps/demo.yaml"):
        sweep.load(tmp_path, "other")


def test_the_shipped_sweeps_parse():
    from helpers import project

    root = project()
    handbook = sweep.load(root, "handbook")
    assert [job.name for job in handbook.jobs] == ["SGD-10", "SGD-100", "random-forest"]
    assert len(sweep.load(root, "features-classifiers").jobs) >= 8
    pairs = sweep.load(root, "class-pairs")
    assert len({pairs.prepare_key(job, "") for job in pairs.jobs}) == len(pairs.jobs)
