"""Where the dataset is: the one definition every notebook and command uses.

Stage notebooks run from the dataset root (``datalad run`` starts papermill there) but JupyterLab
starts their kernel in notebooks/; relative paths in the parameters (``data/train.csv``) mean
the same in both once the notebook works from the root. Standard library only: `pipeline`
imports it too.
"""
from __future__ import annotations

import os
from pathlib import Path


class NotInDataset(RuntimeError):
    """The current folder is not inside the tutorial dataset."""


def find_root(start: str | os.PathLike | None = None) -> Path:
    """The tutorial dataset containing ``start`` (default: the current folder): the nearest
    folder with ``.datalad/config`` and ``notebooks/``."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / ".datalad" / "config").is_file() and (folder / "notebooks").is_dir():
            return folder
    raise NotInDataset(f"{here} is not inside the tutorial dataset (a folder with .datalad/ "
                       "and notebooks/): run this from the dataset or a folder in it.")


def work_from_root() -> None:
    """Make the dataset root the current folder, as under ``datalad run``. It returns nothing:
    a notebook would show a returned path, and the executed copy would then differ between
    clones run without the container."""
    os.chdir(find_root())
