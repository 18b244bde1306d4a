"""Running a process the one way every part of the project needs: in a process group of its own,
stopped as a whole, with SIGINT, SIGTERM and SIGHUP handled like Ctrl-C.

A command started here is the leader of a new session, so a Ctrl-C at the terminal reaches only
this process, which passes it on to the command's whole group (datalad, papermill, the kernel,
the engine client) and waits until every one of them has exited: no late write lands after the
caller cleaned up. The one :class:`Interrupted` says which signal stopped the work.

Standard library only: the container adapter (``code/container/adapter.py``, run by any
python3) and the Makefile's terminal.py use it as well as ``python -m pipeline``.
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

try:
    from .errors import signal_exit_code
    from .events import SWITCH as EVENTS_SWITCH
except ImportError:  # imported as a top-level module by terminal.py run as a script
    from errors import signal_exit_code
    from events import SWITCH as EVENTS_SWITCH

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
GRACE = 60.0  # seconds a stopped group gets to settle before it is killed


class Interrupted(KeyboardInterrupt):
    """SIGINT, SIGTERM or SIGHUP arrived; ``signal_name`` says which, ``exit_code`` is 128+N."""

    def __init__(self, signal_name: str = "SIGINT"):
        super().__init__(signal_name)
        self.signal_name = signal_name
        self.signum = signal.Signals[signal_name]
        self.exit_code = signal_exit_code(self.signum)


def signal_name(stop: KeyboardInterrupt) -> str:
    """Which signal a KeyboardInterrupt stands for (a plain one is Ctrl-C's SIGINT)."""
    return getattr(stop, "signal_name", "SIGINT")


def exit_code(stop: KeyboardInterrupt) -> int:
    return getattr(stop, "exit_code", signal_exit_code(signal.SIGINT))


def _raise_interrupted(signum, frame) -> None:
    # Raised inside importlib's own code (a module lock's weakref callback, say), the stop would
    # be swallowed ("Exception ignored in ...") and the run go on: the signal comes again a
    # moment later, once Python is back in code that can stop.
    if frame is not None and frame.f_code.co_filename.startswith("<frozen importlib"):
        threading.Timer(0.05, os.kill, (os.getpid(), signum)).start()
        return
    raise Interrupted(signal.Signals(signum).name)


def handle_termination() -> None:
    """Treat SIGTERM and SIGHUP (and SIGINT) like Ctrl-C: the work in progress is stopped and
    settled by the same code, instead of Python dying without cleaning up."""
    for signum in HANDLED:
        signal.signal(signum, _raise_interrupted)


def ignore_signals() -> None:
    """From here on the outcome stands: further signals are ignored until the process exits."""
    for signum in HANDLED:
        signal.signal(signum, signal.SIG_IGN)


@contextlib.contextmanager
def shielded():
    """Let clean-up finish: a second Ctrl-C or SIGTERM meanwhile is ignored, not obeyed mid-way."""
    previous = {signum: signal.getsignal(signum) for signum in HANDLED}
    ignore_signals()
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def deferred():
    """Hold the handled signals back (they arrive when the block ends): for a start that must
    not be cut between launching a process and recording it for the clean-up."""
    signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED)


def tool_env() -> dict[str, str]:
    """os.environ with this Python's bin folder first on PATH (the venv's git-annex must be found
    by every git call, datalad by every job): the one place that says so."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.setdefault("PYTHONUNBUFFERED", "1")  # output reaches the terminal as it comes
    env[EVENTS_SWITCH] = "1"  # the papermill engine reports cells (events.py; never by hand)
    return env


def _die_with_parent() -> None:
    """In the child: get SIGTERM when our process dies, even by SIGKILL (Linux only)."""
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _obey_interrupts(die_with_parent: bool):
    """In the child, before it runs: SIGINT as by default, even where we were started with it
    ignored (`nohup make sweep &`: a shell's background job ignores it, and so would every
    command we start, so that stopping its group would wait for the kill)."""
    def prepare() -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if die_with_parent:
            _die_with_parent()
    return prepare


def start(args: list[str], cwd: str | Path | None = None, env: dict | None = None,
          die_with_parent: bool = False, **popen) -> subprocess.Popen:
    """Start ``args`` as the leader of a new session (its own process group), with no stdin
    unless given, in the pipeline's environment unless ``env`` says otherwise."""
    popen.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.Popen(args, cwd=cwd, env=tool_env() if env is None else env,
                            start_new_session=True,
                            preexec_fn=_obey_interrupts(die_with_parent), **popen)


def signal_group(process: subprocess.Popen, signum: int = signal.SIGINT) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def group_alive(process: subprocess.Popen) -> bool:
    process.poll()  # reap the leader, or it would count as alive
    try:
        os.killpg(process.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member changed its user (setuid): still there
        return True
    return True


def stop_group(process: subprocess.Popen, grace: float = GRACE,
               signum: int = signal.SIGINT) -> None:
    """Send ``signum`` to a command's process group and wait until the group is empty (killed
    after ``grace`` seconds)."""
    signal_group(process, signum)
    deadline = time.monotonic() + grace
    while group_alive(process):
        if time.monotonic() > deadline:
            signal_group(process, signal.SIGKILL)
        time.sleep(0.2)


def wait(process: subprocess.Popen, reader=None):
    """Wait for a started command and return ``(stdout, stderr)``: what ``reader()`` returns
    (a reader of its pipes, which returns once the command has ended), else ``communicate()``.
    On an interrupt, stop its whole group, wait until it is gone, then let the interrupt on."""
    try:
        return reader() if reader is not None else process.communicate()
    except KeyboardInterrupt:
        with shielded():
            stop_group(process)
        raise


def output(args: list[str], cwd: str | Path | None = None, env: dict | None = None) -> str:
    """Run a query quietly; its stdout without the final newline, '' when it fails."""
    done = subprocess.run(args, cwd=cwd, env=tool_env() if env is None else env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True)
    return done.stdout.rstrip("\n") if done.returncode == 0 else ""
