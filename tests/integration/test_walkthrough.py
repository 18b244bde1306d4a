"""The walkthrough notebook, executed end to end by papermill as a reader's run would be."""
import json

import nbformat

from helpers import git, project, sh


def test_walkthrough_runs_the_whole_story(tmp_path, small_archive, registered_dataset):
    executed = tmp_path / "walkthrough.ipynb"
    work = tmp_path / "work"
    # the walkthrough copies notebooks, params and code from the committed project
    template = project()
    sh(["papermill", str(template / "notebooks/walkthrough.ipynb"), str(executed), "-k", "python3",
        "-p", "work_dir", str(work), "-p", "data_url", small_archive.as_uri(),
        "-p", "container", "software"], template)

    analysis = work / "analysis"
    assert {"ready4analysis", "SGD-100", "random-forest"} <= set(git(analysis, "tag").split())
    branches = git(analysis, "branch", "--format=%(refname:short)").split()
    assert {"main", "randomforest", "verify"} <= set(branches)
    # the last record of the SGD-100 rerun: main then moves on with the switch to random forest,
    # saved by hand and tagged as the handbook does, and rerun onto the branch
    record = git(analysis, "log", "-1", "--format=%B", "random-forest^")
    assert "containers-run" not in record  # records hold the call format
    assert "code/container/adapter.py run" in record
    # a rerun with -m says what changed; its record is the stage's, as generated
    assert "] Recompute classification with more iterations (max_iter=100)" in record
    assert "--log-output" in record
    assert "Switch to random forest" in git(analysis, "log", "-1", "--format=%B", "main")
    params = git(analysis, "show", "randomforest:params/train.yaml")
    assert params.count("classifier: random-forest") == 1

    notebook = nbformat.read(executed, as_version=4)
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    tables = [o["data"]["text/plain"] for o in outputs if "text/plain" in o.get("data", {})]
    table = next(text for text in tables if "SGD-100" in text)
    for model in ("SGD-10", "SGD-100", "random forest"):
        assert model in table
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the accuracy plot
    text = "".join(o.get("text", "") for o in outputs)
    assert "differences in the results between main and verify: 0 lines" in text
    accuracy = json.loads(git(analysis, "show", "randomforest:accuracy.json"))["accuracy"]
    assert 0 <= accuracy <= 1
