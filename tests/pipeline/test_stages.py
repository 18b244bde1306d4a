import shlex
import shutil

import pytest

from helpers import project
from pipeline import stages


@pytest.fixture
def root(tmp_path):
    """The stage definitions need only the notebooks and params files."""
    for folder in ("notebooks", "params"):
        shutil.copytree(project() / folder, tmp_path / folder)
    return tmp_path


def declared(command: list[str], option: str) -> list[str]:
    return [command[i + 1] for i, arg in enumerate(command) if arg == option]


def test_train_record_declares_params_notebook_data_and_outputs(root):
    planned = stages.plan(root, "train")
    command = planned.datalad_command()
    assert command[:4] == ["datalad", "containers-run", "-n", "software"]
    # train reads the pixels prepare decoded, never the JPEGs again
    assert declared(command, "--input") == ["params/train.yaml", "notebooks/train.ipynb", "data/train.csv",
                                            "data/train-pixels.npy"]
    assert declared(command, "--output") == ["model.joblib", "executed/train.ipynb"]
    assert command[-1] == ("papermill notebooks/train.ipynb executed/train.ipynb "
                           "-f params/train.yaml -k python3 --log-output --engine stable")


def test_overrides_reach_papermill_and_the_message(root):
    planned = stages.plan(root, "train", [("max_iter", "100"), ("classifier", "sgd")])
    assert planned.params["max_iter"] == 100
    assert "max_iter=100" in planned.message()
    assert shlex.split(planned.papermill_command())[-6:] == ["-p", "max_iter", "100", "-p", "classifier", "sgd"]


def test_container_none_uses_plain_datalad_run(root):
    assert stages.plan(root, "evaluate").datalad_command("none")[:2] == ["datalad", "run"]


def test_prepare_reads_the_chosen_folders_and_writes_tables_and_pixels(root):
    (root / "params/prepare.yaml").write_text(
        "categories:\n  n01440764: tench\ntrain_split: train\ntest_split: val\n")
    planned = stages.plan(root, "prepare")
    assert [p for p in planned.inputs() if p.startswith("data/raw")] == [
        "data/raw/imagenette2-160/train/n01440764", "data/raw/imagenette2-160/val/n01440764"]
    assert planned.outputs() == ["data/train.csv", "data/test.csv", "data/train-pixels.npy",
                                 "data/test-pixels.npy", "executed/prepare.ipynb"]
    assert stages.plan(root, "evaluate").inputs()[2:] == ["data/test.csv", "data/test-pixels.npy", "model.joblib"]


def test_a_named_params_file_replaces_the_default_and_is_recorded(root):
    planned = stages.plan(root, "train", params_file="params/best/train.yaml")
    command = planned.datalad_command()
    assert declared(command, "--input")[0] == "params/best/train.yaml"
    assert "-f params/best/train.yaml" in command[-1]
    assert planned.params["classifier"] == "svm" and "features=patches+color+texture" in planned.message()


@pytest.mark.parametrize("path", ["/etc/train.yaml", "../train.yaml", "params/nope.yaml"])
def test_params_file_outside_the_dataset_or_missing_is_refused(root, path):
    with pytest.raises(stages.StageError, match="params file"):
        stages.plan(root, "train", params_file=path)


def test_every_committed_params_file_passes_the_checks(root):
    for path in sorted((root / "params").rglob("*.yaml")):
        stage = path.stem
        assert stages.plan(root, stage, params_file=path.relative_to(root).as_posix()).stage == stage


def test_features_may_be_joined_by_plus_but_only_known_kinds_once(root):
    assert stages.plan(root, "train", [("features", "hog+color")]).params["features"] == "hog+color"
    for bad in ("hog+hog", "hog+colour", "pixels"):
        with pytest.raises(stages.StageError, match="raw, color, hog, texture, patches"):
            stages.plan(root, "train", [("features", bad)])


def test_unknown_parameter_is_refused_with_the_known_ones(root):
    with pytest.raises(stages.StageError, match="max_iters.*classifier"):
        stages.plan(root, "train", [("max_iters", "100")])


def test_wrong_type_is_refused(root):
    with pytest.raises(stages.StageError, match="max_iter.*int"):
        stages.plan(root, "train", [("max_iter", "many")])


def test_unknown_stage_is_refused(root):
    with pytest.raises(stages.StageError, match="prepare, train, evaluate"):
        stages.plan(root, "deploy")


@pytest.mark.parametrize("stage", stages.STAGES)
def test_every_params_file_key_is_a_notebook_parameter(root, stage):
    stages.plan(root, stage)  # raises StageError on any key the notebook lacks


def test_unknown_classifier_is_refused_before_running(root):
    with pytest.raises(stages.StageError, match="classifier.*one of sgd, random-forest.*'deep-net'"):
        stages.plan(root, "train", [("classifier", "deep-net")])


def test_notebook_choices_match_the_package(root):
    import papermill
    from imageclf import modeling

    declared = papermill.inspect_notebook(str(root / "notebooks/train.ipynb"))
    assert declared["classifier"]["help"] == "one of: " + ", ".join(modeling.CLASSIFIERS)
    from imageclf import features

    assert declared["features"]["help"].startswith("one or more of: " + ", ".join(features.KINDS) + " (")


def test_missing_input_data_names_the_fix(root):
    with pytest.raises(stages.StageError, match="make data"):
        stages.run(root, "prepare")


def test_missing_container_names_the_fix(root):
    (root / ".gitmodules").write_text('[submodule "data/raw"]\n\tpath = data/raw\n')
    with pytest.raises(stages.StageError, match="make container.*CONTAINER=none"):
        stages.run(root, "prepare", container="software")
