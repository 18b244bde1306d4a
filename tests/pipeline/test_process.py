"""Processes the one way: a group of their own, stopped as a whole; signals turned into one
exception with the signal's exit code; the venv first on PATH."""
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from pipeline import process

VENV_BIN = str(Path(sys.executable).parent)


def test_tool_env_puts_this_venv_first_without_changing_os_environ(monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.delenv("PYTHONUNBUFFERED", raising=False)
    env = process.tool_env()
    assert env["PATH"].split(os.pathsep) == [VENV_BIN, "/usr/bin", "/bin"]
    assert env["PYTHONUNBUFFERED"] == "1"
    assert os.environ["PATH"] == "/usr/bin:/bin"
    assert "PYTHONUNBUFFERED" not in os.environ


def test_tool_env_keeps_a_given_unbuffered_setting(monkeypatch):
    monkeypatch.setenv("PYTHONUNBUFFERED", "0")
    assert process.tool_env()["PYTHONUNBUFFERED"] == "0"


def test_output_strips_the_final_newlines_and_is_empty_on_failure():
    assert process.output(["printf", "a b\\n\\n"]) == "a b"
    assert process.output(["sh", "-c", "echo partial; exit 1"]) == ""


def test_stop_group_leaves_no_process_of_the_group(tmp_path):
    # The shell leaves on SIGINT; the sleep in its group ignores SIGINT and is killed once the
    # grace period is over.
    pids = tmp_path / "pids"
    group = subprocess.Popen(["sh", "-c", f"(trap '' INT; exec sleep 300) & echo $! > {pids}; "
                              "wait"], start_new_session=True)
    while not pids.exists() or not pids.read_text().strip():
        assert group.poll() is None
        time.sleep(0.01)
    sleeper = int(pids.read_text())
    # In a thread: if the group never empties, stop_group never returns; the test fails instead.
    stopping = threading.Thread(target=process.stop_group, args=(group, 0.5), daemon=True)
    stopping.start()
    stopping.join(timeout=30)
    if stopping.is_alive():
        os.killpg(group.pid, signal.SIGKILL)
        pytest.fail("stop_group still waits 30 s after its 0.5 s grace period")
    with pytest.raises(ProcessLookupError):
        os.killpg(group.pid, 0)
    with pytest.raises(ProcessLookupError):
        os.kill(sleeper, 0)
    assert group.returncode is not None


def test_shielded_ignores_signals_and_restores_the_handlers():
    def mine(signum, frame):
        pass

    previous = signal.signal(signal.SIGTERM, mine)
    try:
        with pytest.raises(RuntimeError), process.shielded():
            assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            raise RuntimeError
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_wait_stops_the_whole_group_when_interrupted(tmp_path):
    started = process.start(["sh", "-c", "sleep 300 & wait"])
    reader_calls = []

    def reader():
        reader_calls.append(1)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        process.wait(started, reader)
    assert reader_calls and not process.group_alive(started)


TERMINATED = textwrap.dedent("""
    import os, signal
    from pipeline import process
    process.handle_termination()
    for name in ("SIGTERM", "SIGHUP", "SIGINT"):
        try:
            os.kill(os.getpid(), getattr(signal, name))
            print("not raised")
        except process.Interrupted as stop:
            print(stop.signal_name, stop.exit_code, isinstance(stop, KeyboardInterrupt))
    process.ignore_signals()
    os.kill(os.getpid(), signal.SIGTERM)
    print("ignored")
""")


def test_termination_signals_become_interrupted_with_their_exit_code():
    # In a process of its own: the handlers are process-wide.
    done = subprocess.run([sys.executable, "-c", TERMINATED], env=process.tool_env(),
                          capture_output=True, text=True, timeout=60,
                          cwd=Path(process.__file__).parents[1])
    assert done.stdout.splitlines() == ["SIGTERM 143 True", "SIGHUP 129 True", "SIGINT 130 True",
                                        "ignored"], done.stderr




def test_a_command_obeys_ctrl_c_even_where_we_were_started_ignoring_it():
    # a shell's background job (`nohup make sweep &`) starts us with SIGINT ignored
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        started = process.start(["sleep", "30"])
    finally:
        signal.signal(signal.SIGINT, previous)
    began = time.monotonic()
    process.stop_group(started, grace=20)
    assert started.returncode == -signal.SIGINT and time.monotonic() - began < 5


def test_a_signal_inside_importlib_comes_again_instead_of_being_swallowed():
    import signal
    import time
    import types

    from pipeline import process

    arrived = []
    previous = signal.signal(signal.SIGUSR1, lambda signum, frame: arrived.append(signum))
    try:
        inside = types.SimpleNamespace(f_code=types.SimpleNamespace(
            co_filename="<frozen importlib._bootstrap>"))
        assert process._raise_interrupted(signal.SIGUSR1, inside) is None
        for _ in range(40):
            if arrived:
                break
            time.sleep(0.05)
        assert arrived == [signal.SIGUSR1]
        ours = types.SimpleNamespace(f_code=types.SimpleNamespace(co_filename=__file__))
        with pytest.raises(process.Interrupted):
            process._raise_interrupted(signal.SIGUSR1, ours)
    finally:
        signal.signal(signal.SIGUSR1, previous)
