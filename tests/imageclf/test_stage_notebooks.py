"""The stage notebooks' parameter cells agree with the package they call: typed parameters
(papermill reports the types), and the choices their comments offer are the package's own."""
import ast
import functools

import nbformat
import papermill
import pytest

from helpers import STAGES, project
from imageclf import classifiers, features, modeling


@functools.cache
def parameters(stage: str) -> dict:
    return papermill.inspect_notebook(str(project() / "notebooks" / f"{stage}.ipynb"))


@pytest.mark.parametrize("stage", STAGES)
def test_every_parameter_is_typed_like_its_default(stage):
    for name, declared in parameters(stage).items():
        default = ast.literal_eval(declared["default"])
        assert declared["inferred_type_name"] == type(default).__name__, name


@pytest.mark.parametrize("stage", STAGES)
def test_no_import_shadows_a_parameter_or_renames_a_module(stage):
    notebook = nbformat.read(project() / "notebooks" / f"{stage}.ipynb", as_version=4)
    imported = []
    for cell in notebook.cells:
        if cell.cell_type == "code":
            for node in ast.walk(ast.parse(cell.source)):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    assert all(alias.asname is None for alias in node.names), ast.unparse(node)
                    imported += [alias.name.split(".")[0] for alias in node.names]
    assert not set(imported) & set(parameters(stage))


def test_train_offers_the_packages_choices():
    declared = parameters("train")
    assert declared["classifier"]["help"] == "one of: " + ", ".join(classifiers.NAMES)
    assert declared["augment"]["help"] == "one of: " + ", ".join(modeling.AUGMENTATIONS)
    assert declared["features"]["help"].startswith("one or more of: " + ", ".join(features.KINDS))


def test_prepare_and_train_name_their_seed_alike():
    assert "random_state" in parameters("prepare") and "random_state" in parameters("train")
    assert "seed" not in parameters("prepare")
