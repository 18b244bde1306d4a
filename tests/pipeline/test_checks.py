"""Hostile or mistyped parameters are refused before anything runs, with a message, never a
traceback; values that pass reach papermill exactly as papermill's own command line reads them."""
import os
import shlex
import string
import subprocess

import pytest
from datalad.utils import SequenceFormatter
from papermill.cli import _resolve_type

from helpers import stage_definitions
from pipeline import checks, stages
from pipeline.checks import StageError


@pytest.fixture
def root(tmp_path):
    return stage_definitions(tmp_path)


def as_datalad_runs_it(planned) -> list[str]:
    """The command datalad hands to the shell: its own formatter fills the placeholders."""
    command = planned.datalad_command()[-1]
    formatted = SequenceFormatter().format(command, inputs=planned.inputs(),
                                           outputs=planned.outputs(), pwd="/dataset",
                                           dspath="/dataset")
    return shlex.split(formatted)


@pytest.mark.parametrize("text, expected", [
    ("max_iter: [10\n", "not valid YAML \\(line 2"),
    ("- sgd\n- 10\n", "holds a list"),
    ("sgd\n", "holds a str"),
])
def test_a_broken_params_file_is_refused_with_what_to_fix(root, text, expected):
    (root / "params/broken.yaml").write_text(text)
    with pytest.raises(StageError, match=expected):
        stages.plan(root, "train", params_file="params/broken.yaml")


def test_a_params_file_that_is_a_folder_or_a_link_out_of_the_dataset_is_refused(
        root, tmp_path_factory):
    with pytest.raises(StageError, match="is a folder"):
        stages.plan(root, "train", params_file="params/best")
    outside = tmp_path_factory.mktemp("outside") / "train.yaml"
    outside.write_text("max_iter: 5\n")
    (root / "params/linked.yaml").symlink_to(outside)
    with pytest.raises(StageError, match="symlink to .*outside the dataset"):
        stages.plan(root, "train", params_file="params/linked.yaml")


@pytest.mark.parametrize("name, value, expected", [
    ("accuracy_file", "/tmp/x", "leaves the dataset"),
    ("metrics_file", "../y", "leaves the dataset"),
    ("metrics_file", "results/../../y", "leaves the dataset"),
    ("accuracy_file", ".git/hooks/post-commit", "inside git's own folder"),
    ("accuracy_file", "data/raw/.git/config", "inside git's own folder"),
    ("model_file", "models/*.joblib", "wildcard"),
    ("model_file", "", "not a path"),
])
def test_path_parameters_stay_inside_the_dataset(root, name, value, expected):
    with pytest.raises(StageError, match=expected):
        stages.plan(root, "evaluate", [(name, value)])


def test_paths_through_a_symlinked_folder_out_of_the_dataset_are_refused(root, tmp_path_factory):
    os.symlink(tmp_path_factory.mktemp("elsewhere"), root / "results")
    with pytest.raises(StageError, match="symlink out of the dataset"):
        stages.plan(root, "evaluate", [("accuracy_file", "results/accuracy.json")])


@pytest.mark.parametrize("output", ["results/accuracy.json", "executed/failed/acc.json"])
def test_an_output_git_ignores_is_refused_before_the_run_even_when_new(root, output):
    """datalad would save nothing there: the record would name a file that no commit holds."""
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / ".gitignore").write_text("results/\nexecuted/failed/\n")
    with pytest.raises(StageError, match=f"{output} is a path git ignores .*outputs/acc"):
        stages.plan(root, "evaluate", [("accuracy_file", output)])
    assert stages.plan(root, "evaluate", [("accuracy_file", "outputs/acc.json")])


def test_an_output_in_the_input_subdataset_is_refused_before_the_run(root):
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / ".gitmodules").write_text('[submodule "data/raw"]\n\tpath = data/raw\n')
    with pytest.raises(StageError, match="data/raw/x.joblib lies in the subdataset data/raw"):
        stages.plan(root, "train", [("model_file", "data/raw/x.joblib")])
    assert stages.plan(root, "train", [("model_file", "data/rawish.joblib")])


def test_an_output_naming_a_folder_is_refused(root):
    with pytest.raises(StageError, match="output notebooks is a folder"):
        stages.plan(root, "evaluate", [("metrics_file", "notebooks")])


def test_annexed_files_are_links_into_the_annex_and_allowed(root):
    (root / ".git/annex/objects/Xy/Zw/KEY").mkdir(parents=True)
    (root / "model.joblib").symlink_to(".git/annex/objects/Xy/Zw/KEY/KEY")
    assert "model.joblib" in stages.plan(root, "evaluate").inputs()


@pytest.mark.parametrize("typed", ["0x10", "1e3", "10", "10.0", "True", "None", "1_000", " 7 "])
@pytest.mark.parametrize("name, kinds", [("max_iter", (int,)), ("C", (int, float))])
def test_values_are_typed_as_papermill_types_them(root, typed, name, kinds):
    """The check sees what papermill will pass: accepted exactly when that is of the right type."""
    passed = _resolve_type(typed)
    fits = isinstance(passed, kinds) and not isinstance(passed, bool)
    if fits:
        assert stages.plan(root, "train", [(name, typed)]).params[name] == passed
    else:
        with pytest.raises(StageError, match="must be of type"):
            stages.plan(root, "train", [(name, typed)])


def test_c_1e3_is_accepted_and_0x10_refused(root):
    assert stages.plan(root, "train", [("C", "1e3")]).params["C"] == 1000.0
    with pytest.raises(StageError, match="max_iter.*int.*'0x10'"):
        stages.plan(root, "train", [("max_iter", "0x10")])


def test_a_mapping_given_with_p_reaches_papermill_as_a_mapping(root):
    value = "{n01440764: tench, n02102040: English springer}"
    planned = stages.plan(root, "prepare", [("categories", value)])
    assert planned.input_folders()[:2] == ["data/raw/imagenette2-160/train/n01440764",
                                           "data/raw/imagenette2-160/train/n02102040"]
    assert "tench, English springer" in planned.message()
    ran = as_datalad_runs_it(planned)
    assert ran[-2:] == ["-y", '{"categories": {"n01440764": "tench", '
                              '"n02102040": "English springer"}}']


def test_invalid_yaml_in_p_is_refused_with_what_to_fix(root):
    with pytest.raises(StageError, match="-p categories is not valid YAML"):
        stages.plan(root, "prepare", [("categories", "{n01440764: tench")])


def test_one_category_is_refused_at_prepare(root):
    with pytest.raises(StageError, match="at least two categories"):
        stages.plan(root, "prepare", [("categories", "{n01440764: tench}")])
    with pytest.raises(StageError, match="not a folder name"):
        stages.plan(root, "prepare", [("categories", "{../../etc: x, n01440764: tench}")])


def test_every_printable_character_reaches_papermill_literally(root):
    label = string.printable.strip() + " {outputs} {inputs} {pwd} {} {0}"
    quoted = label.replace("\\", "\\\\").replace('"', '\\"')  # a double-quoted YAML string
    value = '{n01440764: "%s", n02102040: b}' % quoted
    planned = stages.plan(root, "prepare", [("categories", value)])
    assert planned.params["categories"]["n01440764"] == label
    assert as_datalad_runs_it(planned) == planned.papermill_args()


def test_the_issues_injection_stays_a_pair_of_file_names(root):
    """`{outputs}` once expanded to a quoted list that closed the outer quote and ran `touch`."""
    planned = stages.plan(root, "evaluate", [("metrics_file", "m{outputs}"),
                                             ("accuracy_file", "a;touch /tmp/PWNED;b")])
    ran = as_datalad_runs_it(planned)
    assert ran[-6:] == ["-p", "metrics_file", "m{outputs}",
                        "-p", "accuracy_file", "a;touch /tmp/PWNED;b"]
    assert len(ran) == len(planned.papermill_args())


def test_glob_characters_are_what_datalad_would_expand():
    assert set(checks.GLOB_CHARACTERS) == {"*", "?", "["}


def test_a_missing_split_or_category_folder_names_the_folders_there(root):
    raw = root / "data/raw/imagenette2-160"
    (raw / "train/n03445777").mkdir(parents=True)
    planned = stages.plan(root, "prepare")
    folders = planned.spec.input_folders
    with pytest.raises(StageError, match="No category folder n03888257 in data/raw/imagenette2-160/"
                                         "train; the folders there are: n03445777. Name only "
                                         "those in `categories`, or use input data that holds "
                                         "the others \\(all ten Imagenette classes"):
        checks.require_input_folders(root, folders, planned.params)
    (raw / "train/n03888257").mkdir()
    with pytest.raises(StageError, match="data/raw/imagenette2-160/val does not exist: check "
                                         "raw_dir and test_split in the params file; "
                                         "data/raw/imagenette2-160 holds train\\."):
        checks.require_input_folders(root, folders, planned.params)
    (raw / "val/n03445777").mkdir(parents=True)
    (raw / "val/n03888257").mkdir()
    checks.require_input_folders(root, folders, planned.params)


def test_an_image_folder_outside_the_dataset_is_refused(root):
    with pytest.raises(StageError, match="input ../images/train/n03445777 leaves the dataset"):
        stages.plan(root, "prepare", [("raw_dir", "../images")])


def test_a_params_file_of_many_unknown_keys_gets_a_short_error(root):
    """A params file with 300,000 unknown keys once printed a 2.5 MB error (5,000 keys here: the
    YAML reader takes minutes for 300,000)."""
    (root / "params" / "huge.yaml").write_text("".join(f"k{i}: 1\n" for i in range(5_000)))
    with pytest.raises(StageError) as error:
        stages.plan(root, "train", params_file="params/huge.yaml")
    message = str(error.value)
    assert message.startswith("Unknown parameter(s) k0, k1, k10, ")
    assert "... and 4980 more for stage train" in message and len(message) < 2000
