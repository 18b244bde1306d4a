"""stages.yaml: which parameters are files, the stages' names and order, and a declaration
that does not fit its notebooks refused with what to do."""
import pytest

from helpers import stage_definitions
from pipeline import declaration, stages
from pipeline.checks import StageError


@pytest.fixture
def root(tmp_path):
    return stage_definitions(tmp_path)


def edit_declaration(root, old: str, new: str) -> None:
    text = (root / declaration.FILE).read_text()
    assert old in text
    (root / declaration.FILE).write_text(text.replace(old, new))


def test_the_declaration_decides_which_parameters_are_files(root):
    assert declaration.path_parameters(root, "train") == {"train_csv", "train_pixels", "model_file"}
    edit_declaration(root, "outputs: [accuracy_file, metrics_file]", "outputs: [accuracy_file]")
    assert stages.plan(root, "evaluate").outputs() == ["accuracy.json", "executed/evaluate.ipynb"]
    assert declaration.path_parameters(root, "evaluate") == {"test_csv", "test_pixels",
                                                             "model_file", "accuracy_file"}


@pytest.mark.parametrize("old, new, expected", [
    ("outputs: [model_file]", "outputs: [model_path]", "model_path for stage train.*model_file"),
    ("    inputs: []\n", "", "stage prepare has the keys .*a stage has notebook"),
    ("outputs: [model_file]", "outputs: model_file",
     "stages.yaml: stages.train.outputs: must list the parameters whose values are files the "
     "stage writes"),
    ("stages:\n", "stage:\n", "stages.yaml: must declare the stages in order under `stages:`"),
])
def test_a_declaration_that_does_not_fit_is_refused(root, old, new, expected):
    edit_declaration(root, old, new)
    with pytest.raises(StageError, match=expected):
        stages.plan(root, "train")


def test_a_missing_declaration_says_how_to_restore_it(root):
    (root / declaration.FILE).unlink()
    with pytest.raises(StageError, match="git checkout -- stages.yaml"):
        stages.plan(root, "train")


def test_unknown_stage_is_refused(root):
    with pytest.raises(StageError, match="prepare, train, evaluate"):
        stages.plan(root, "deploy")


def test_the_stages_names_come_from_the_declaration(root):
    assert declaration.names(root) == ("prepare", "train", "evaluate")
    edit_declaration(root, "  evaluate:", "  assess:")
    assert declaration.names(root) == ("prepare", "train", "assess")
    assert stages.plan(root, "assess").executed == "executed/evaluate.ipynb"
    with pytest.raises(StageError, match="choose one of prepare, train, assess"):
        stages.plan(root, "evaluate")
