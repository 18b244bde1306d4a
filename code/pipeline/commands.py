"""Run datalad and git the way a reader would type them: each command is printed, then run.

Commands run from the venv this code runs in (datalad, git-annex), so they work whether or not
the user activated it.
"""
from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import lock, terminal
from .errors import PipelineError, signal_exit_code


class Interrupted(KeyboardInterrupt):
    """SIGINT, SIGTERM or SIGHUP arrived; ``signal_name`` says which."""

    def __init__(self, signal_name: str = "SIGINT"):
        super().__init__(signal_name)
        self.signal_name = signal_name
        self.exit_code = signal_exit_code(signal.Signals[signal_name])


def _interrupt(signum, frame) -> None:
    raise Interrupted(signal.Signals(signum).name)


def handle_termination() -> None:
    """Treat SIGTERM and SIGHUP (and SIGINT) like Ctrl-C: the run in progress is stopped and
    settled by the same code, instead of Python dying without cleaning up."""
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        signal.signal(getattr(signal, name), _interrupt)


def ignore_signals() -> None:
    """From here on the outcome stands: further signals are ignored until the process exits."""
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        signal.signal(getattr(signal, name), signal.SIG_IGN)


@contextlib.contextmanager
def shielded():
    """Let cleanup finish: a second Ctrl-C or SIGTERM meanwhile is noted, not obeyed mid-way."""
    names = ("SIGINT", "SIGTERM", "SIGHUP")
    previous = {name: signal.getsignal(getattr(signal, name)) for name in names}
    for name in names:
        signal.signal(getattr(signal, name), signal.SIG_IGN)
    try:
        yield
    finally:
        for name, handler in previous.items():
            signal.signal(getattr(signal, name), handler)


class CommandFailed(PipelineError):
    """A printed command exited non-zero; its own output has already been shown."""

    def __init__(self, args: list[str], returncode: int, hint: str = ""):
        self.args_ = args
        self.returncode = returncode
        message = f"`{shlex.join(args)}` failed (exit code {returncode})."
        super().__init__(f"{message} {hint}".strip())


def tool_env() -> dict[str, str]:
    """os.environ with this venv's bin first on PATH (git-annex must be found by every git call):
    the one place that says so; the tests and the Makefile's `setup` use it too."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.setdefault("PYTHONUNBUFFERED", "1")  # datalad's results reach the terminal as they come
    return env


def print_command(args: list[str], cwd: str | Path | None = None) -> None:
    """The command as the reader would type it (with the folder it runs in, if not here)."""
    where = f"(in {cwd}) " if cwd and Path(cwd).resolve() != Path.cwd() else ""
    gap = "\n" if terminal.verbose() else ""  # in full output a blank line finds the command
    print(f"{gap}{where}$ {shlex.join(args)}", flush=True)


def run(args: list[str], cwd: str | Path | None = None, hint: str = "", quiet: bool = False,
        **kwargs) -> subprocess.CompletedProcess:
    """Print and run a command; raise :class:`CommandFailed` with ``hint`` when it fails.

    The command runs in a process group of its own. On Ctrl-C the interrupt is passed on to
    that whole group (datalad, papermill, the kernel, the engine) and this waits until every
    one of them has exited, so that no late write lands after the caller cleaned up.
    """
    if kwargs.pop("capture_output", False):  # subprocess.run's shorthand; Popen has none
        kwargs.update(stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if not quiet:
        print_command(args, cwd)
    watch = terminal.watcher(args, cwd, quiet, kwargs)  # logs, filters, shows progress and outcome
    process = subprocess.Popen(args, cwd=cwd, env=tool_env(), stdin=subprocess.DEVNULL,
                               start_new_session=True, pass_fds=inherited_locks(args),
                               **(watch.popen_kwargs(kwargs) if watch else kwargs))
    try:
        stdout, stderr = watch.follow(process) if watch else process.communicate()
    except KeyboardInterrupt:
        with shielded():
            stop_group(process)
        raise
    if process.returncode != 0:
        raise CommandFailed(args, process.returncode, hint)
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)


def inherited_locks(args: list[str]) -> tuple[int, ...]:
    """A datalad command keeps the dataset's lock even if this process is killed (its own
    children do not inherit it: datalad closes other descriptors). Other tools get none: an
    engine's long-lived helper processes would hold the lock for ever."""
    return lock.held_fds() if Path(args[0]).name == "datalad" else ()


def stop_group(process: subprocess.Popen, grace: float = 60.0) -> None:
    """Interrupt a command's process group and wait until it is empty (killed after ``grace``)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
    deadline = time.monotonic() + grace
    while True:
        process.poll()  # reap the leader, or it would count as alive
        try:
            os.killpg(process.pid, 0)  # anyone left in the group?
        except ProcessLookupError:
            return
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        time.sleep(0.2)


def output(args: list[str], cwd: str | Path | None = None) -> str:
    """Run a query quietly and return its stdout without the final newline ('' when it fails)."""
    result = subprocess.run(args, cwd=cwd, env=tool_env(), stdin=subprocess.DEVNULL,
                            capture_output=True, text=True)
    return result.stdout.rstrip("\n") if result.returncode == 0 else ""


def remove_tree(path: Path) -> None:
    """Delete a dataset folder; its annexed content sits in read-only folders, so open them
    first."""
    for folder, dirs, _ in os.walk(path):
        for name in dirs:
            os.chmod(os.path.join(folder, name), 0o755)
    shutil.rmtree(path, ignore_errors=True)


def ensure_annex(root: Path) -> None:
    """Initialise git-annex in a clone that has none yet.

    A clone of the main branch alone carries no git-annex branch, and without it datalad treats
    the dataset as plain git and would commit models and images into git itself.
    """
    if not output(["git", "config", "--get", "annex.uuid"], cwd=root):
        run(["git", "annex", "init", "--quiet"], cwd=root)
