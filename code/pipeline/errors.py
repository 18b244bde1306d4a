"""What can go wrong that a user can fix, and the exit codes that say so.

``python -m pipeline`` prints a :class:`PipelineError` as one ``error:`` line and exits with its
``exit_code``; anything else is a bug and keeps its traceback. Standard library only: the
container adapter and the Makefile's terminal.py use these codes under any python3.
"""
from __future__ import annotations

EXIT_FAILED = 1  # the command could not do what was asked; the message says what to change
EXIT_USAGE = 2  # argparse's code for a command line it cannot parse
EXIT_ADAPTER = 3  # the container adapter could not start the container (engine, image, mounts)
EXIT_DIFFERENT = 4  # verify: a rerun did not reproduce every output byte for byte
EXIT_BUSY = 75  # EX_TEMPFAIL: another command writes to the dataset and --no-wait was given
SIGNAL_BASE = 128  # the shell's convention: a process stopped by signal N exits 128 + N
EXIT_INTERRUPTED = SIGNAL_BASE + 2  # 130: SIGINT; SIGTERM and SIGHUP give 128 + their number


def signal_exit_code(signum: int) -> int:
    """The exit code of a run stopped by signal ``signum`` (130 for Ctrl-C)."""
    return SIGNAL_BASE + int(signum)


class PipelineError(Exception):
    """A problem the user can fix; the message says how."""

    exit_code = EXIT_FAILED
