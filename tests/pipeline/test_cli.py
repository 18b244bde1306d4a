"""The command line answers bad input with one clear error and an exit code, never a traceback."""
import shutil
import subprocess
import sys

import pytest

from helpers import project, tool_env


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Enough of the dataset for `run --dry-run`: notebooks, params, .datalad, a git repository."""
    root = tmp_path_factory.mktemp("cli")
    for folder in ("notebooks", "params", ".datalad"):
        shutil.copytree(project() / folder, root / folder)
    (root / "params/broken.yaml").write_text("max_iter: [10\n")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    return root


def pipeline(root, *args):
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=root, env=tool_env(),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True)


@pytest.mark.parametrize("args, message", [
    (["-f", "params/broken.yaml"], "params/broken.yaml is not valid YAML (line 2"),
    (["-f", "params"], "params is a folder"),
    (["-p", "model_file", "notebooks"], "output notebooks is a folder"),
])  # the other refusals: tests/pipeline/test_checks.py
def test_bad_input_is_one_clear_error(dataset, args, message):
    result = pipeline(dataset, "run", "train", *args, "--dry-run", "--container", "none")
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr


def test_a_mapping_override_is_shown_with_its_braces_escaped_for_datalad(dataset):
    result = pipeline(dataset, "run", "prepare", "-p", "categories", "{a1: x, b2: y}", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert """-y '"'"'{{"categories": {{"a1": "x", "b2": "y"}}}}'"'"''""" in result.stdout
