"""The exit codes say what went wrong: distinct, none a shell reserves for its own meaning, and
every user-fixable error in the code carries one of them."""
import ast
import signal
from pathlib import Path

import pytest

from pipeline import errors

CODE = Path(__file__).resolve().parents[2] / "code"
NAMED = {name: value for name, value in vars(errors).items() if name.startswith("EXIT_")}
# Bash: 126 found but not executable, 127 not found; above 128 the process died of a signal.
SHELL_RESERVED = {126, 127}


def pipeline_error_classes() -> dict[str, str]:
    """Every PipelineError subclass under code/, by name, with the name of its exit code.

    Read from the source (importing every module would take seconds): a class inherits its
    base's ``exit_code`` unless its body assigns one."""
    classes = {}  # name -> (base names, exit code name assigned in the body or None)
    for path in CODE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ClassDef):
                bases = [base.id if isinstance(base, ast.Name) else getattr(base, "attr", "")
                         for base in node.bases]
                assigned = [statement.value for statement in node.body
                            if isinstance(statement, ast.Assign)
                            and any(getattr(target, "id", "") == "exit_code"
                                    for target in statement.targets)]
                code = assigned[0].id if assigned and isinstance(assigned[0], ast.Name) else (
                    "<not a named code>" if assigned else None)
                classes[node.name] = (bases, code)

    def exit_code(name: str) -> str | None:
        if name == "PipelineError":
            return "EXIT_FAILED"
        bases, code = classes.get(name, ([], None))
        inherited = [exit_code(base) for base in bases if base in classes]
        return code or next((found for found in inherited if found), None)

    def is_pipeline_error(name: str) -> bool:
        bases = classes.get(name, ([], None))[0]
        return "PipelineError" in bases or any(is_pipeline_error(base) for base in bases
                                               if base in classes and base != name)

    return {name: exit_code(name) for name in classes
            if name != "PipelineError" and is_pipeline_error(name)}


def test_named_exit_codes_are_distinct_and_not_success():
    assert len(set(NAMED.values())) == len(NAMED), NAMED
    assert 0 not in NAMED.values()


def test_no_exit_code_reuses_one_the_shell_reserves():
    for name, value in NAMED.items():
        assert 0 < value < 256, name
        assert value not in SHELL_RESERVED, name
        if name != "EXIT_INTERRUPTED":  # the one that means what the shell means by it
            assert value <= errors.SIGNAL_BASE, f"{name}={value} reads as 'killed by a signal'"


def test_usage_code_is_argparses():
    import argparse
    parser = argparse.ArgumentParser()
    with pytest.raises(SystemExit) as exit_:
        parser.parse_args(["--no-such-option"])
    assert exit_.value.code == errors.EXIT_USAGE


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143),
                                          (signal.SIGHUP, 129)])
def test_signal_exit_code_follows_the_shell(signum, code):
    assert errors.signal_exit_code(signum) == code
    assert errors.signal_exit_code(signal.SIGINT) == errors.EXIT_INTERRUPTED


def test_every_pipeline_error_has_a_named_exit_code():
    classes = pipeline_error_classes()
    # The ones this test knows exist: if the search stops finding them, it checks nothing.
    assert {"StageError", "DatasetBusy", "CommandFailed", "HistoryError", "EngineError",
            "SandboxError", "RootlessError"} <= set(classes)
    assert classes["DatasetBusy"] == "EXIT_BUSY"
    for name, code in classes.items():
        assert code in NAMED, f"{name}: exit_code {code}"
        assert code != "EXIT_USAGE", f"{name} would read as a command-line typo"
