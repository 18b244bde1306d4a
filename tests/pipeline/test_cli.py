"""The command line answers bad input with one clear error and an exit code, never a traceback;
a bug keeps its traceback."""
import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO, project, tool_env
from pipeline import errors

# The files whose exit codes reach a user or datalad (terminal.py runs under the Makefile, the
# adapter under containers-run).
EXITING_MODULES = ["pipeline/cli.py", "pipeline/commands.py", "pipeline/terminal.py",
                   "pipeline/lock.py", "pipeline/__main__.py", "container/adapter.py"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Enough of the dataset for `run --dry-run`: notebooks, params, stages.yaml, .datalad, a git
    repository."""
    root = tmp_path_factory.mktemp("cli")
    for folder in ("notebooks", "params", ".datalad"):
        shutil.copytree(project() / folder, root / folder)
    shutil.copy(project() / "stages.yaml", root)
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
    assert result.returncode == errors.EXIT_FAILED
    assert message in result.stderr and "Traceback" not in result.stderr


def test_a_mapping_override_is_shown_with_its_braces_escaped_for_datalad(dataset):
    result = pipeline(dataset, "run", "prepare", "-p", "categories", "{a1: x, b2: y}", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert """-y '"'"'{{"categories": {{"a1": "x", "b2": "y"}}}}'"'"''""" in result.stdout


def test_a_knob_the_classifier_does_not_read_is_recorded_with_a_note(dataset):
    result = pipeline(dataset, "run", "train", "-p", "classifier", "random-forest", "-p",
                      "max_iter", "50", "--dry-run", "--container", "none")
    assert result.returncode == 0, result.stderr
    assert "note: random-forest does not read -p max_iter" in result.stdout
    assert "-p max_iter 50" in result.stdout  # recorded as given all the same
    quiet = pipeline(dataset, "run", "train", "-p", "classifier", "sgd", "-p", "max_iter", "50",
                     "--dry-run", "--container", "none")
    assert "note:" not in quiet.stdout
    twice = pipeline(dataset, "run", "train", "-p", "classifier", "random-forest", "-p",
                     "max_iter", "10", "-p", "max_iter", "20", "--dry-run", "--container", "none")
    assert "note: random-forest does not read -p max_iter: recorded" in twice.stdout


def test_a_value_for_one_stage_given_to_all_names_the_stage(dataset):
    result = pipeline(dataset, "run", "-p", "max_iter", "20", "--dry-run", "--container", "none")
    assert result.returncode == errors.EXIT_FAILED
    assert ("-p max_iter goes to every stage run, and only train has it: name the stage, "
            "`python -m pipeline run train -p max_iter 20`") in result.stderr
    assert "$ datalad" not in result.stdout  # refused before any stage


def test_run_without_a_stage_plans_all_three_in_order(dataset):
    result = pipeline(dataset, "run", "--dry-run", "--container", "none")
    assert result.returncode == 0, result.stderr
    commands = [line for line in result.stdout.splitlines() if line.startswith("$ datalad run")]
    notebooks = [next(word for word in line.split() if word.startswith("notebooks/"))
                 for line in commands]
    assert notebooks == ["notebooks/prepare.ipynb", "notebooks/train.ipynb",
                         "notebooks/evaluate.ipynb"]
    assert "accuracy:" not in result.stdout  # a plan ran nothing, so it has no accuracy


def test_a_params_file_needs_exactly_one_stage(dataset):
    result = pipeline(dataset, "run", "-f", "params/train.yaml", "--dry-run")
    assert result.returncode == errors.EXIT_FAILED
    assert "A params file belongs to one stage" in result.stderr


def test_the_pipeline_subcommand_is_gone(dataset):
    result = pipeline(dataset, "pipeline")
    assert result.returncode == errors.EXIT_USAGE
    assert "invalid choice: 'pipeline'" in result.stderr


def test_outside_the_dataset_is_one_clear_error(tmp_path):
    result = pipeline(tmp_path, "run", "--dry-run")
    assert result.returncode == errors.EXIT_FAILED
    assert "is not inside the tutorial dataset" in result.stderr
    assert "Traceback" not in result.stderr


RAISE_IN_A_COMMAND = """
import sys
from pipeline import cli, commands, stages
def raising(*args, **kwargs):
    raise {error}
stages.run = raising
sys.exit(cli.main(["run", "train", "--dry-run", "--container", "none"]))
"""


def raise_in_a_command(root, error: str):
    script = RAISE_IN_A_COMMAND.format(error=error)
    return subprocess.run([sys.executable, "-c", script], cwd=root, env=tool_env(),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True)


def test_a_bug_keeps_its_traceback(dataset):
    result = raise_in_a_command(dataset, "ValueError('a bug in our code')")
    assert "Traceback" in result.stderr and "ValueError: a bug in our code" in result.stderr
    assert "error: a bug" not in result.stderr  # not dressed up as the user's mistake


def test_a_pipeline_error_is_one_line_with_its_exit_code(dataset):
    result = raise_in_a_command(dataset, "commands.CommandFailed(['git', 'x'], 5, 'Do this.')")
    assert result.returncode == errors.EXIT_FAILED
    assert result.stderr.strip() == "error: `git x` failed (exit code 5). Do this."


def numbers(value: ast.expr) -> list[ast.Constant]:
    """The integer literals an exit code is made of: itself, or in ``a + b``, ``a if c else b``."""
    if isinstance(value, ast.Constant) and type(value.value) is int:
        return [value]
    if isinstance(value, ast.BinOp):
        return numbers(value.left) + numbers(value.right)
    if isinstance(value, ast.IfExp):
        return numbers(value.body) + numbers(value.orelse)
    return []


def literal_exit_codes(path: Path) -> list[str]:
    """Exit codes written as numbers other than 0: returned by a function that returns an
    exit code (``-> int``), passed to sys.exit, set as ``exit_code``, or computed as 128 + N."""
    found = []
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        values = []
        if isinstance(node, ast.FunctionDef) and node.returns is not None \
                and ast.unparse(node.returns) == "int":
            values.extend(n.value for n in ast.walk(node)
                          if isinstance(n, ast.Return) and n.value is not None)
        elif isinstance(node, ast.Call) and ast.unparse(node.func) in ("sys.exit", "exit"):
            values.extend(node.args)
        elif isinstance(node, ast.Assign) and any("exit_code" in ast.unparse(t)
                                                  for t in node.targets):
            values.append(node.value)
        elif isinstance(node, ast.Call):  # getattr(error, "exit_code", 130)
            if ast.unparse(node.func) == "getattr" and len(node.args) == 3 \
                    and ast.unparse(node.args[1]) == "'exit_code'":
                values.append(node.args[2])
        found += [f"{path.name}:{value.lineno}: {ast.unparse(value)}" for value in values
                  if any(number.value for number in numbers(value))]
    return found


@pytest.mark.parametrize("module", EXITING_MODULES)
def test_every_exit_code_comes_from_errors(module):
    assert literal_exit_codes(REPO / "code" / module) == []


def test_the_exit_code_check_finds_a_bare_number(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import sys\ndef f() -> int:\n    return 3\ndef g() -> str:\n    return 3\n"
                      "sys.exit(128 + 2)\nsys.exit(main(sys.argv[1:]))\n"
                      "error.exit_code = 4\ncode = getattr(stop, 'exit_code', 130)\n")
    assert len(literal_exit_codes(sample)) == 4


def test_a_misspelt_revision_is_an_error_not_an_empty_history(dataset):
    for args in (["compare", "nosuch"], ["verify", "nosuch..x"]):
        result = pipeline(dataset, *args)
        assert result.returncode == errors.EXIT_FAILED, result.stderr
        assert "'nosuch' names no commit here" in result.stderr
    before_the_story = pipeline(dataset, "verify", "ready4analysis..main")
    assert "come from `make tutorial`" in before_the_story.stderr


def test_compare_before_any_run_says_what_to_run(dataset):
    """A fresh clone after `make setup` only (a new-user try saw "Unknown column 'accuracy'")."""
    result = pipeline(dataset, "compare")
    assert result.returncode == 0, result.stderr
    assert "No evaluations found: run the stages first (make tutorial)." in result.stdout


@pytest.mark.parametrize("options, says", [
    (["--dry-run"], "add --executor slurm"),
    (["--executor", "slurm", "-j", "2"], "-j is the local executor's"),
    (["--executor", "slurm", "--cpus", "0"], "--cpus needs"),
    (["-j", "0"], "-j needs a number of jobs of at least 1"),
])
def test_sweep_options_that_do_not_fit_say_what_to_change(options, says):
    from pipeline import cli
    from pipeline.sweep.model import SweepError

    args = cli.parser().parse_args(["sweep", "handbook", *options])
    with pytest.raises(SweepError, match=says):
        cli.sweep_executor(args)


def test_the_sweep_command_takes_the_shared_container_option_once():
    from pipeline import cli

    args = cli.parser().parse_args(["sweep", "handbook", "--container", "none", "--no-wait"])
    assert (args.container, args.no_wait, args.executor) == ("none", True, "local")


def test_overhead_before_make_data_says_to_run_it(dataset):
    result = pipeline(dataset, "overhead", "--container", "none")
    assert result.returncode == errors.EXIT_FAILED
    assert "The input data is not installed in data/raw: run `make data`" in result.stderr
