"""The three stages through `datalad run` (no container) on a clone, then rerun."""
import json
import os
import signal
import subprocess
import sys
import time

import nbformat
import yaml

from helpers import git, sh, tool_env
from run_records import output_hashes, run_commits, run_record

RESULTS = ["data/train.csv", "data/test.csv", "model.joblib", "accuracy.json", "metrics.json"]


def run_stages(clone, *args):
    return sh([sys.executable, "-m", "pipeline", *args, "--container", "none"], clone)


def test_stages_are_recorded_and_rerun_byte_for_byte(clone_with_data):
    clone = clone_with_data
    start = git(clone, "rev-parse", "HEAD")
    printed = run_stages(clone, "run").stdout  # no stage named: all three, then the accuracy
    assert "$ datalad run -m 'Prepare train and test tables for golf ball, parachute'" in printed
    assert "accuracy:" in printed

    commits = run_commits(clone, f"{start}..HEAD")
    assert len(commits) == 3
    prepare, train, evaluate = (run_record(clone, c) for c in commits)
    assert prepare["cmd"] == ("papermill notebooks/prepare.ipynb executed/prepare.ipynb "
                              "-f params/prepare.yaml -k python3 --log-output --engine stable")
    assert "params/train.yaml" in train["inputs"] and "data/train.csv" in train["inputs"]
    # decoded once by prepare: train reads the pixels file, not the images
    assert "data/train-pixels.npy" in train["inputs"]
    assert not any("raw" in p for p in train["inputs"])
    assert "data/train-pixels.npy" in prepare["outputs"]
    assert train["outputs"] == ["model.joblib", "executed/train.ipynb"]
    assert evaluate["outputs"] == ["accuracy.json", "metrics.json", "executed/evaluate.ipynb"]

    # Outputs as the handbook has them: model annexed, small text results in git.
    for annexed in ("model.joblib", "data/train-pixels.npy", "data/test-pixels.npy"):
        assert ".git/annex/objects" in str((clone / annexed).readlink())
    assert json.loads((clone / "accuracy.json").read_text())["accuracy"] >= 0.9  # colours separate
    table = (clone / "data/train.csv").read_text()
    assert table.startswith(",filename,label\n0,data/raw/imagenette2-160/")

    # The executed notebook is the record of what ran: parameters injected, outputs present.
    executed = nbformat.read(clone / "executed/train.ipynb", as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert "classifier = \"sgd\"" in injected[0].source and "max_iter = 10" in injected[0].source
    assert any(c.get("outputs") for c in executed.cells if c.cell_type == "code")
    source = nbformat.read(clone / "notebooks/train.ipynb", as_version=4)
    assert not any(c.get("outputs") for c in source.cells if c.cell_type == "code")

    # Results, executed notebooks included, come out identical: the reruns commit nothing.
    head = git(clone, "rev-parse", "HEAD")
    sh(["datalad", "rerun", "--since", start], clone)
    assert git(clone, "rev-parse", "HEAD") == head
    assert git(clone, "status", "--porcelain") == ""


def test_params_file_change_and_rerun_retrains(clone_with_data):
    """The handbook's flow without editing code: edit params, save, rerun the train record."""
    clone = clone_with_data
    run_stages(clone, "run", "prepare", "train")
    train_commit = git(clone, "rev-parse", "HEAD")
    model_before = output_hashes(clone, ["model.joblib"])

    params = yaml.safe_load((clone / "params/train.yaml").read_text())
    params["classifier"] = "random-forest"
    (clone / "params/train.yaml").write_text(yaml.safe_dump(params))
    sh(["datalad", "save", "-m", "Use a random forest", "params/train.yaml"], clone)
    sh(["datalad", "rerun", train_commit], clone)

    assert output_hashes(clone, ["model.joblib"]) != model_before
    executed = (clone / "executed/train.ipynb").read_text()
    assert 'classifier = \\"random-forest\\"' in executed
    assert "RandomForestClassifier" in executed


def test_one_off_override_is_recorded_in_the_command(clone_with_data):
    clone = clone_with_data
    run_stages(clone, "run", "prepare")
    # The model into a folder that does not exist yet: made for the run, the model saved there.
    run_stages(clone, "run", "train", "-p", "max_iter", "3",
               "-p", "model_file", "models/sgd.joblib")
    record = run_record(clone)
    assert record["cmd"].endswith("-p max_iter 3 -p model_file models/sgd.joblib")
    assert "models/sgd.joblib" in record["outputs"]
    assert git(clone, "ls-files", "models") == "models/sgd.joblib"
    assert git(clone, "status", "--porcelain") == ""
    # Its rerun starts where models/ does not exist: the notebook makes it, as the run did.
    verified = sh([sys.executable, "-m", "pipeline", "verify", "HEAD"], clone).stdout
    assert "models/sgd.joblib" in verified and "0 different" in verified
    assert "max_iter = 3" in (clone / "executed/train.ipynb").read_text()
    subject = git(clone, "log", "-1", "--format=%s")
    assert subject.startswith("[DATALAD RUNCMD] Train sgd classifier (max_iter=3")


def test_dirty_dataset_is_refused_with_what_to_save(clone_with_data):
    clone = clone_with_data
    (clone / "params/train.yaml").write_text("classifier: sgd\n")
    result = sh([sys.executable, "-m", "pipeline", "run", "prepare", "--container", "none"], clone,
                check=False)
    assert result.returncode == 1
    assert "params/train.yaml" in result.stderr and "datalad save" in result.stderr
    assert run_commits(clone) == []


def test_failed_stage_saves_nothing_and_restores_results(clone_with_data):
    clone = clone_with_data
    run_stages(clone, "run")
    head = git(clone, "rev-parse", "HEAD")
    results = output_hashes(clone, RESULTS)

    # Values that pass every check but not the data (more codebook entries than it has
    # patches): the notebook fails in its fit cell.
    failed = sh([sys.executable, "-m", "pipeline", "run", "train", "-p", "features", "patches",
                 "-p", "codebook_size", "1000000", "--container", "none"], clone, check=False)
    assert failed.returncode == 1
    assert "n_clusters=1000000" in failed.stdout + failed.stderr
    assert "nothing was saved" in failed.stderr and "executed/failed/train.ipynb" in failed.stderr

    assert git(clone, "rev-parse", "HEAD") == head
    assert git(clone, "status", "--porcelain") == ""
    assert output_hashes(clone, RESULTS) == results
    model = clone / "model.joblib"
    assert model.is_symlink() and model.exists()  # locked again
    kept = (clone / "executed/failed/train.ipynb").read_text()
    assert "ValueError" in kept and "codebook_size = 1000000" in kept
    # The next run starts from a clean dataset and works.
    run_stages(clone, "run", "train")


def test_ctrl_c_during_a_run_leaves_the_dataset_clean(clone_with_data):
    clone = clone_with_data
    run_stages(clone, "run", "prepare", "train")
    head, model = git(clone, "rev-parse", "HEAD"), output_hashes(clone, ["model.joblib"])

    # A terminal's Ctrl-C: SIGINT to the whole foreground process group, mid-notebook: while a
    # random forest of many trees fits (a fixed wait after the notebook started could come after
    # a quick run had been recorded).
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "run", "train", "-p", "classifier", "random-forest",
         "-p", "n_estimators", "20000", "--container", "none"],
        cwd=clone, env=tool_env(clone, VERBOSE="1"), stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    for line in process.stdout:  # the cell before the fit prints the features' shape
        if "examples x" in line:
            break
    time.sleep(1)
    os.killpg(process.pid, signal.SIGINT)
    output = process.communicate(timeout=120)[0]
    assert process.returncode != 0
    assert "interrupted" in output and "nothing was saved" in output

    assert git(clone, "rev-parse", "HEAD") == head
    assert git(clone, "status", "--porcelain") == ""
    assert output_hashes(clone, ["model.joblib"]) == model
