"""A sweep's summary: one row per job with its varying parameters, the best marked; a plot."""
import pandas as pd

from benchmark import branches
from helpers import git
from pipeline.sweep import summary as sweep_summary
from pipeline.sweep.model import Job, Sweep
from test_compare import many_jobs, tiny_history  # noqa: F401 - fixtures


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


def test_the_summary_of_many_jobs_shows_each_jobs_own_result(many_jobs):  # noqa: F811
    root, fabricated = many_jobs
    jobs = Sweep(fabricated.name, fabricated.source, fabricated.params,
                       (*fabricated.jobs, Job("no-result", {"train": {"random_state": -1}})))
    frame = sweep_summary.table(root, jobs)
    assert list(frame["job"]) == [job.name for job in jobs.jobs]
    for index, job in enumerate(fabricated.jobs):
        row = frame.iloc[index]
        assert row["accuracy"] == branches.accuracy_of(index, len(fabricated.jobs))
        assert row["commit"] == git(root, "rev-parse", jobs.branch(job))[:8]
        assert row["random_state"] == str(index)
    assert pd.isna(frame.iloc[-1]["accuracy"]) and frame.iloc[-1]["commit"] == ""
