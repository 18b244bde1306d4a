"""Commands as the reader types them: printed, run from this venv, failing with a hint and an
exit code; signals turned into one exception; a command's process group stopped as a whole."""
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from pipeline import commands, lock
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


def test_tool_env_puts_this_venv_first_without_changing_os_environ(monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.delenv("PYTHONUNBUFFERED", raising=False)
    env = commands.tool_env()
    assert env["PATH"].split(os.pathsep) == [VENV_BIN, "/usr/bin", "/bin"]
    assert env["PYTHONUNBUFFERED"] == "1"
    assert os.environ["PATH"] == "/usr/bin:/bin"
    assert "PYTHONUNBUFFERED" not in os.environ


def test_tool_env_keeps_a_given_unbuffered_setting(monkeypatch):
    monkeypatch.setenv("PYTHONUNBUFFERED", "0")
    assert commands.tool_env()["PYTHONUNBUFFERED"] == "0"


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


def test_output_strips_the_final_newlines_and_is_empty_on_failure():
    assert commands.output(["printf", "a b\\n\\n"]) == "a b"
    assert commands.output(["sh", "-c", "echo partial; exit 1"]) == ""


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


def test_stop_group_leaves_no_process_of_the_group(tmp_path):
    # The shell leaves on SIGINT; the sleep in its group ignores SIGINT and is killed once the
    # grace period is over.
    pids = tmp_path / "pids"
    process = subprocess.Popen(["sh", "-c", f"(trap '' INT; exec sleep 300) & echo $! > {pids}; "
                                "wait"], start_new_session=True)
    while not pids.exists() or not pids.read_text().strip():
        assert process.poll() is None
        time.sleep(0.01)
    sleeper = int(pids.read_text())
    # In a thread: if the group never empties, stop_group never returns; the test fails instead.
    stopping = threading.Thread(target=commands.stop_group, args=(process, 0.5), daemon=True)
    stopping.start()
    stopping.join(timeout=30)
    if stopping.is_alive():
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail("stop_group still waits 30 s after its 0.5 s grace period")
    with pytest.raises(ProcessLookupError):
        os.killpg(process.pid, 0)
    with pytest.raises(ProcessLookupError):
        os.kill(sleeper, 0)
    assert process.returncode is not None


def test_shielded_ignores_signals_and_restores_the_handlers():
    def mine(signum, frame):
        pass

    previous = signal.signal(signal.SIGTERM, mine)
    try:
        with pytest.raises(RuntimeError), commands.shielded():
            assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            raise RuntimeError
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, previous)


TERMINATED = textwrap.dedent("""
    import os, signal
    from pipeline import commands
    commands.handle_termination()
    for name in ("SIGTERM", "SIGHUP", "SIGINT"):
        try:
            os.kill(os.getpid(), getattr(signal, name))
            print("not raised")
        except commands.Interrupted as stop:
            print(stop.signal_name, stop.exit_code, isinstance(stop, KeyboardInterrupt))
    commands.ignore_signals()
    os.kill(os.getpid(), signal.SIGTERM)
    print("ignored")
""")


def test_termination_signals_become_interrupted_with_their_exit_code():
    # In a process of its own: the handlers are process-wide.
    done = subprocess.run([sys.executable, "-c", TERMINATED], env=commands.tool_env(),
                          capture_output=True, text=True, timeout=60,
                          cwd=Path(commands.__file__).parents[1])
    assert done.stdout.splitlines() == ["SIGTERM 143 True", "SIGHUP 129 True", "SIGINT 130 True",
                                        "ignored"], done.stderr


def test_ensure_annex_initialises_once(plain, tmp_path, capsys):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    commands.ensure_annex(tmp_path)
    uuid = commands.output(["git", "config", "--get", "annex.uuid"], cwd=tmp_path)
    assert uuid
    assert "git annex init --quiet" in capsys.readouterr().out
    commands.ensure_annex(tmp_path)
    assert capsys.readouterr().out == ""
    assert commands.output(["git", "config", "--get", "annex.uuid"], cwd=tmp_path) == uuid


def test_run_accepts_capture_output(monkeypatch):
    monkeypatch.delenv("VERBOSE", raising=False)
    result = commands.run(["echo", "hi"], quiet=True, capture_output=True, text=True)
    assert result.stdout == "hi\n"
