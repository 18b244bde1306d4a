"""Run datalad and git the way a reader would type them: each command is printed, then run
(process.py), its output watched (terminal.py).

Commands run from the venv this code runs in (datalad, git-annex), so they work whether or not
the user activated it.
"""
from __future__ import annotations

import functools
import os
import shlex
import shutil
import subprocess
from pathlib import Path

from . import lock, process, terminal
from .errors import PipelineError
from .git import config


class CommandFailed(PipelineError):
    """A printed command exited non-zero; its own output has already been shown."""

    def __init__(self, args: list[str], returncode: int, hint: str = ""):
        self.args_ = args
        self.returncode = returncode
        message = f"`{shlex.join(args)}` failed (exit code {returncode})."
        super().__init__(f"{message} {hint}".strip())


def print_command(args: list[str], cwd: str | Path | None = None) -> None:
    """The command as the reader would type it (with the folder it runs in, if not here)."""
    where = f"(in {cwd}) " if cwd and Path(cwd).resolve() != Path.cwd() else ""
    gap = "\n" if terminal.verbose() else ""  # in full output a blank line finds the command
    print(f"{gap}{where}$ {shlex.join(args)}", flush=True)


def run(args: list[str], cwd: str | Path | None = None, hint: str = "", quiet: bool = False,
        inputs: int | None = None, **kwargs) -> subprocess.CompletedProcess:
    """Print and run a command; raise :class:`CommandFailed` with ``hint`` when it fails.
    ``inputs``: how many files it will get (its progress bar's total).

    The command runs in a process group of its own. On Ctrl-C the interrupt is passed on to
    that whole group (datalad, papermill, the kernel, the engine) and this waits until every
    one of them has exited, so that no late write lands after the caller cleaned up.
    """
    if kwargs.pop("capture_output", False):  # subprocess.run's shorthand; Popen has none
        kwargs.update(stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if not quiet:
        print_command(args, cwd)
    watch = terminal.watcher(args, cwd, quiet, kwargs, inputs)  # logs, filters, shows progress
    started = process.start(watch.command if watch else args, cwd=cwd,
                            pass_fds=inherited_locks(args),
                            **(watch.popen_kwargs(kwargs) if watch else kwargs))
    stdout, stderr = process.wait(started, functools.partial(watch.follow, started)
                                  if watch else None)
    if started.returncode != 0:
        raise CommandFailed(args, started.returncode, hint)
    return subprocess.CompletedProcess(args, started.returncode, stdout, stderr)


def inherited_locks(args: list[str]) -> tuple[int, ...]:
    """A datalad command keeps the dataset's lock even if this process is killed (its own
    children do not inherit it: datalad closes other descriptors). Other tools get none: an
    engine's long-lived helper processes would hold the lock for ever."""
    return lock.held_fds() if Path(args[0]).name == "datalad" else ()


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
    if not config(root, "annex.uuid"):
        run(["git", "annex", "init", "--quiet"], cwd=root)
