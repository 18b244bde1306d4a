"""What datalad passes to the adapter through the call format
``python3 code/container/adapter.py run {img} --outputs {{outputs}} -- {cmd}``: the image, the
run's declared outputs (datalad run fills in ``{outputs}``, shell-quoted, relative to where it
runs; so does ``datalad rerun``) and the command.

Records of the older call format (``... run {img} {cmd}``) carry no outputs: they get them from
``$IMAGECLF_OUTPUTS`` (a JSON list: ``python -m pipeline run`` sets it from the stage, ``verify``
from the record) or have none, and then, as root, the container may write nothing in the
dataset (re-register the container, ``make container``, to get the current call format).

Standard library only: the adapter (adapter.py) runs with any python3.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess

OUTPUTS_OPTION, OUTPUTS_END = "--outputs", "--"
OUTPUTS_VARIABLE = "IMAGECLF_OUTPUTS"  # for the older call format: set by python -m pipeline


@contextlib.contextmanager
def outputs_given(outputs: list[str]):
    """For the commands started in the block: a record of the older call format gets
    ``outputs`` (paths as datalad runs them, from the dataset's root)."""
    previous = os.environ.get(OUTPUTS_VARIABLE)
    os.environ[OUTPUTS_VARIABLE] = json.dumps(list(outputs))
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(OUTPUTS_VARIABLE, None)
        else:
            os.environ[OUTPUTS_VARIABLE] = previous


def parse(argv: list[str]) -> tuple[str, list[str] | None, list[str]] | None:
    """``run IMAGE_DIR [--outputs PATH... --] COMMAND...`` as (image, outputs, command); the
    outputs are None for a record of the older call format (then ``$IMAGECLF_OUTPUTS``)."""
    if len(argv) < 3 or argv[0] != "run":
        return None
    image_dir, rest = argv[1], argv[2:]
    if rest[0] != OUTPUTS_OPTION:
        listed = os.environ.get(OUTPUTS_VARIABLE)
        return image_dir, (json.loads(listed) if listed else None), rest
    if OUTPUTS_END not in rest[1:]:
        return None
    end = rest.index(OUTPUTS_END, 1)
    return (image_dir, rest[1:end], rest[end + 1:]) if rest[end + 1:] else None


def relock(outputs: list[str] | None) -> None:
    """datalad unlocked the annexed outputs before calling us; a run that could not start must
    leave the dataset as it was, so lock them again (git-annex refuses if one changed)."""
    files = [path for path in outputs or [] if os.path.isfile(path) and not os.path.islink(path)]
    if files and shutil.which("git-annex"):
        subprocess.run(["git", "annex", "lock", "--quiet", "--", *files], capture_output=True,
                       stdin=subprocess.DEVNULL)
