import re
import shlex

import nbformat
import papermill
import pytest
import yaml

from helpers import STAGES, project, stage_definitions
from imageclf import classifiers
from pipeline import declaration, stages


@pytest.fixture
def root(tmp_path):
    return stage_definitions(tmp_path)


def stage_of(root, path) -> str:
    """A params file's stage: its name (params/best/train.yaml), or for a named configuration
    (params/ten-classes/best.yaml) the one stage whose notebook declares every setting in it."""
    names = declaration.read(root)
    if path.stem in names:
        return path.stem
    settings = set(yaml.safe_load(path.read_text()))
    fitting = [name for name in names if settings <= set(papermill.inspect_notebook(
        str(root / "notebooks" / f"{name}.ipynb")))]
    assert len(fitting) == 1, f"{path}: settings of {fitting or 'no stage'}"
    return fitting[0]


def declared(command: list[str], option: str) -> list[str]:
    return [command[i + 1] for i, arg in enumerate(command) if arg == option]


def test_train_record_declares_params_notebook_data_and_outputs(root):
    planned = stages.plan(root, "train")
    command = planned.datalad_command()
    assert command[:4] == ["datalad", "containers-run", "-n", "software"]
    # train reads the pixels prepare decoded, never the JPEGs again
    assert declared(command, "--input") == ["params/train.yaml", "notebooks/train.ipynb",
                                            "data/train.csv", "data/train-pixels.npy"]
    assert declared(command, "--output") == ["model.joblib", "executed/train.ipynb"]
    assert command[-1] == ("papermill notebooks/train.ipynb executed/train.ipynb "
                           "-f params/train.yaml -k python3 --log-output --engine stable")


EXPECTED = {
    "prepare": {"inputs": ["data/raw/imagenette2-160/train/n03445777",
                           "data/raw/imagenette2-160/train/n03888257",
                           "data/raw/imagenette2-160/val/n03445777",
                           "data/raw/imagenette2-160/val/n03888257"],
                "outputs": ["data/train.csv", "data/test.csv", "data/train-pixels.npy",
                            "data/test-pixels.npy"],
                "message": "Prepare train and test tables for golf ball, parachute"},
    "train": {"inputs": ["data/train.csv", "data/train-pixels.npy"], "outputs": ["model.joblib"],
              "message": "Train sgd classifier (max_iter=10, random_state=42)"},
    "evaluate": {"inputs": ["data/test.csv", "data/test-pixels.npy", "model.joblib"],
                 "outputs": ["accuracy.json", "metrics.json"],
                 "message": "Evaluate model.joblib on data/test.csv"},
}


@pytest.mark.parametrize("stage", STAGES)
def test_inputs_outputs_and_message_follow_the_declaration(root, stage):
    planned = stages.plan(root, stage)
    assert planned.inputs() == [f"params/{stage}.yaml", f"notebooks/{stage}.ipynb",
                                *EXPECTED[stage]["inputs"]]
    assert planned.outputs() == [*EXPECTED[stage]["outputs"], f"executed/{stage}.ipynb"]
    assert planned.message() == EXPECTED[stage]["message"]


def set_default(root, stage: str, name: str, value) -> None:
    """Change one default in the parameters cell of a stage notebook (a scratch copy)."""
    path = root / "notebooks" / f"{stage}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    cell = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    cell.source, count = re.subn(rf"^{name}(: \w+)? = .*$", rf"{name}\1 = {value!r}", cell.source,
                                 flags=re.M)
    assert count == 1
    nbformat.write(notebook, path)


def test_paths_default_to_the_notebooks_parameters_cell(root):
    set_default(root, "evaluate", "accuracy_file", "results/accuracy.json")
    set_default(root, "evaluate", "model_file", "models/sgd.joblib")
    planned = stages.plan(root, "evaluate")
    assert planned.outputs()[0] == "results/accuracy.json"
    assert "models/sgd.joblib" in planned.inputs()
    assert planned.message() == "Evaluate models/sgd.joblib on data/test.csv"
    set_default(root, "prepare", "raw_dir", "data/raw/other")
    assert stages.plan(root, "prepare").inputs()[2] == "data/raw/other/train/n03445777"


def test_a_settings_default_left_in_the_message_only_when_changed(root):
    assert "augment" not in stages.plan(root, "train", [("augment", "none")]).message()
    assert ", augment=flip," in stages.plan(root, "train", [("augment", "flip")]).message()
    set_default(root, "train", "augment", "flip")
    assert ", augment=none," in stages.plan(root, "train", [("augment", "none")]).message()


@pytest.mark.parametrize("classifier", classifiers.NAMES)
def test_train_message_names_the_classifiers_main_parameter(root, classifier):
    knob = classifiers.main_parameter(classifier)
    planned = stages.plan(root, "train", [("classifier", classifier)])
    assert planned.message().startswith(f"Train {classifier} classifier ({knob}=")
    assert f"{knob}={planned.params[knob]}" in planned.message()


def test_params_files_hold_settings_only(root):
    """Paths keep the notebook's defaults: no params file repeats them (issue 15)."""
    for path in sorted((root / "params").rglob("*.yaml")):
        written = stages.checks.read_params_file(root, path.relative_to(root).as_posix(), True)
        paths = declaration.path_parameters(root, stage_of(root, path)) | {"raw_dir"}
        assert not set(written) & paths, path


def test_overrides_reach_papermill_and_the_message(root):
    planned = stages.plan(root, "train", [("max_iter", "100"), ("classifier", "sgd")])
    assert planned.params["max_iter"] == 100
    assert "max_iter=100" in planned.message()
    assert shlex.split(planned.papermill_command())[-6:] == ["-p", "max_iter", "100",
                                                             "-p", "classifier", "sgd"]


def test_container_none_uses_plain_datalad_run(root):
    assert stages.plan(root, "evaluate").datalad_command("none")[:2] == ["datalad", "run"]


def test_prepare_reads_the_chosen_folders_and_writes_tables_and_pixels(root):
    (root / "params/prepare.yaml").write_text(
        "categories:\n  n01440764: tench\n  n02102040: English springer\n"
        "train_split: train\ntest_split: val\n")
    planned = stages.plan(root, "prepare")
    assert [p for p in planned.inputs() if p.startswith("data/raw")] == [
        "data/raw/imagenette2-160/train/n01440764", "data/raw/imagenette2-160/train/n02102040",
        "data/raw/imagenette2-160/val/n01440764", "data/raw/imagenette2-160/val/n02102040"]
    assert planned.outputs() == ["data/train.csv", "data/test.csv", "data/train-pixels.npy",
                                 "data/test-pixels.npy", "executed/prepare.ipynb"]
    assert planned.message() == "Prepare train and test tables for tench, English springer"


def test_a_named_params_file_replaces_the_default_and_is_recorded(root):
    planned = stages.plan(root, "train", params_file="params/best/train.yaml")
    command = planned.datalad_command()
    assert declared(command, "--input")[0] == "params/best/train.yaml"
    assert "-f params/best/train.yaml" in command[-1]
    assert planned.params["classifier"] == "svm"
    assert "features=patches+color+texture" in planned.message()


@pytest.mark.parametrize("path", ["/etc/train.yaml", "../train.yaml", "params/nope.yaml"])
def test_params_file_outside_the_dataset_or_missing_is_refused(root, path):
    with pytest.raises(stages.StageError, match="params file"):
        stages.plan(root, "train", params_file=path)


def test_every_committed_params_file_passes_the_checks(root):
    for path in sorted((root / "params").rglob("*.yaml")):
        stage = stage_of(root, path)
        relative = path.relative_to(root).as_posix()
        assert stages.plan(root, stage, params_file=relative).stage == stage


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


@pytest.mark.parametrize("name, value, bound", [
    ("max_iter", "-3", "at least 1"), ("n_estimators", "0", "at least 1"), ("C", "0", "above 0")])
def test_a_knob_out_of_range_is_refused_before_the_container_starts(root, name, value, bound):
    """A new-user try met scikit-learn's traceback from inside the container instead."""
    with pytest.raises(stages.StageError, match=f"Parameter {name} of stage train must be {bound}"):
        stages.plan(root, "train", [(name, value)])


@pytest.mark.parametrize("stage", STAGES)
def test_every_params_file_key_is_a_notebook_parameter(root, stage):
    stages.plan(root, stage)  # raises StageError on any key the notebook lacks


def test_unknown_classifier_is_refused_before_running(root):
    expected = "classifier.*one of sgd, random-forest.*'deep-net'"
    with pytest.raises(stages.StageError, match=expected):
        stages.plan(root, "train", [("classifier", "deep-net")])


def test_missing_input_data_names_the_fix(root):
    with pytest.raises(stages.StageError, match="make data"):
        stages.run(root, "prepare")


def test_missing_container_names_the_fix(root):
    (root / ".gitmodules").write_text('[submodule "data/raw"]\n\tpath = data/raw\n')
    with pytest.raises(stages.StageError, match="make container.*CONTAINER=none"):
        stages.run(root, "prepare", container="software")


def typed_commands(notebook, run: str) -> list[list[str]]:
    """The stage commands the walkthrough's shell cells type out ($RUN as ``run``), split as the
    shell splits them, up to their redirections."""
    typed = []
    for cell in notebook.cells:
        for line in cell.source.replace("\\\n", " ").splitlines():
            if cell.cell_type == "code" and line.startswith("$RUN "):
                typed.append(shlex.split(line.replace("$RUN", run, 1).split(" 2>&1")[0]))
    return typed


def test_the_walkthrough_types_out_the_generated_commands():
    notebook = nbformat.read(project() / "notebooks/walkthrough.ipynb", as_version=4)
    setup = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    without, within = re.search(
        r'"RUN"\] = "([^"]+)" if container == "none" else "([^"]+)"', setup).groups()
    for run, container in ((within, stages.CONTAINER), (without, "none")):
        generated = [stages.plan(project(), stage).datalad_command(container)
                     for stage in STAGES]
        assert typed_commands(notebook, run) == generated
