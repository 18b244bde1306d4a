"""What can go wrong that a user can fix, and the exit codes that say so.

``python -m pipeline`` prints a :class:`PipelineError` as one ``error:`` line and exits with its
``exit_code``; anything else is a bug and keeps its traceback.
"""
from __future__ import annotations

EXIT_FAILED = 1  # the command could not do what was asked; the message says what to change
EXIT_USAGE = 2  # argparse's code for a command line it cannot parse
EXIT_DIFFERENT = 4  # verify: a rerun did not reproduce every output byte for byte
EXIT_BUSY = 75  # EX_TEMPFAIL: another command writes to the dataset and --no-wait was given
EXIT_INTERRUPTED = 130  # 128 + SIGINT; SIGTERM and SIGHUP give 128 + their number


class PipelineError(Exception):
    """A problem the user can fix; the message says how."""

    exit_code = EXIT_FAILED
