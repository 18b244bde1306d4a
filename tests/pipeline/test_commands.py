"""Commands as the reader types them: printed, run from this venv in a process group of their
own, failing with a hint and an exit code; only datalad keeps the dataset's lock."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import commands, git, lock
from pipeline.errors import EXIT_FAILED

VENV_BIN = str(Path(sys.executable).parent)


@pytest.fixture
def plain(monkeypatch):
    """Output passes through unwatched (no log file, no outcome line), as with VERBOSE=1."""
    monkeypatch.setenv("VERBOSE", "1")


def test_print_command_here_shows_the_command_quoted(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("VERBOSE", raising=False)
    monkeypatch.chdir(tmp_path)
    commands.print_command(["datalad", "save", "-m", "Train model (max_iter=10)"], tmp_path)
    assert capsys.readouterr().out == "$ datalad save -m 'Train model (max_iter=10)'\n"


def test_print_command_elsewhere_names_the_folder(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("VERBOSE", raising=False)
    monkeypatch.chdir(tmp_path)
    commands.print_command(["git", "status"], "/some/clone")
    assert capsys.readouterr().out == "(in /some/clone) $ git status\n"


def test_print_command_in_full_output_starts_with_a_blank_line(capsys, plain):
    commands.print_command(["git", "status"])
    assert capsys.readouterr().out == "\n$ git status\n"


def test_run_returns_captured_output_and_uses_the_venv(plain, capsys):
    result = commands.run(["sh", "-c", 'echo "$PATH"'], stdout=subprocess.PIPE, text=True)
    assert result.returncode == 0
    assert result.stdout.split(os.pathsep)[0] == VENV_BIN
    assert capsys.readouterr().out.endswith("$ sh -c 'echo \"$PATH\"'\n")


def test_run_quiet_prints_no_command(plain, capsys):
    commands.run(["true"], quiet=True)
    assert capsys.readouterr().out == ""


def test_run_failure_raises_command_failed_with_hint(plain, capsys):
    with pytest.raises(commands.CommandFailed) as failure:
        commands.run(["sh", "-c", "exit 3"], hint="Run `make data` first.")
    error = failure.value
    assert error.returncode == 3
    assert error.args_ == ["sh", "-c", "exit 3"]
    assert str(error) == "`sh -c 'exit 3'` failed (exit code 3). Run `make data` first."
    assert error.exit_code == EXIT_FAILED  # the pipeline's code, not the command's own


def test_command_failed_without_hint_has_no_trailing_space():
    assert str(commands.CommandFailed(["false"], 1)) == "`false` failed (exit code 1)."


def test_run_gives_the_command_no_stdin(plain):
    # A command that asks a question must not wait for an answer nobody is there to type.
    result = commands.run(["sh", "-c", "read answer; echo \"[$answer]\""], quiet=True,
                          stdout=subprocess.PIPE, text=True)
    assert result.stdout == "[]\n"


def test_run_starts_a_process_group_of_its_own(plain):
    result = commands.run(["sh", "-c", "ps -o pgid= -p $$"], quiet=True,
                          stdout=subprocess.PIPE, text=True)
    assert int(result.stdout) != os.getpgrp()


def test_only_datalad_inherits_the_lock(tmp_path):
    (tmp_path / ".git").mkdir()
    with lock.hold(tmp_path, command="test"):
        held = lock.held_fds()
        assert held
        assert commands.inherited_locks([f"{VENV_BIN}/datalad", "save"]) == held
        assert commands.inherited_locks(["datalad", "run"]) == held
        assert commands.inherited_locks(["podman", "run"]) == ()
        assert commands.inherited_locks(["git", "commit"]) == ()
    assert commands.inherited_locks(["datalad", "save"]) == ()


def test_ensure_annex_initialises_once(plain, tmp_path, capsys):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    commands.ensure_annex(tmp_path)
    uuid = git.config(tmp_path, "annex.uuid")
    assert uuid
    assert "git annex init --quiet" in capsys.readouterr().out
    commands.ensure_annex(tmp_path)
    assert capsys.readouterr().out == ""
    assert git.config(tmp_path, "annex.uuid") == uuid


def test_run_accepts_capture_output(monkeypatch):
    monkeypatch.delenv("VERBOSE", raising=False)
    result = commands.run(["echo", "hi"], quiet=True, capture_output=True, text=True)
    assert result.stdout == "hi\n"
