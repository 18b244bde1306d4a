"""Fixtures for the container tests: one clone with the image built and registered, and fresh
datalad clones of it (which fetch the annexed image from it, as a user's clone would)."""
import os
import shutil
import sys
from pathlib import Path

import pytest

from helpers import clone_repository, made_once, require, sh


@pytest.fixture(scope="session")
def registered_dataset(tmp_path_factory):
    require(bool(shutil.which("podman") or shutil.which("docker")),
            "a container engine (podman or docker)")
    def make(folder: Path) -> Path:
        clone = clone_repository(folder / "ds")
        sh([sys.executable, "-m", "pipeline", "container", "setup"], clone)
        return clone
    return made_once(tmp_path_factory, "registered", make)


@pytest.fixture
def container_clone(tmp_path, registered_dataset, small_input_dataset):
    clone = tmp_path / "ds"
    sh(["datalad", "clone", str(registered_dataset), str(clone)], tmp_path)
    sh([sys.executable, "-m", "pipeline", "data"], clone,
       IMAGENETTE_DATASET=str(small_input_dataset))
    return clone


@pytest.fixture(scope="session")
def story_clone(tmp_path_factory, registered_dataset, small_input_dataset):
    """A clone in which an interrupted tutorial (prepare only) was resumed with `pipeline
    tutorial`; returns the clone and what the resumed tutorial printed."""
    clone = tmp_path_factory.mktemp("story") / "ds"
    sh(["datalad", "clone", str(registered_dataset), str(clone)], clone.parent)
    sh([sys.executable, "-m", "pipeline", "data"], clone,
       IMAGENETTE_DATASET=str(small_input_dataset))
    sh([sys.executable, "-m", "pipeline", "run", "prepare"], clone)
    printed = sh([sys.executable, "-m", "pipeline", "tutorial"], clone).stdout
    return clone, printed


@pytest.fixture(scope="session")
def stand_in_dataset(tmp_path_factory):
    """The input dataset made once from IMAGENETTE_URL (CI: the shared stand-in archive), for
    the tests on real images to clone into data/raw."""
    url = os.environ.get("IMAGENETTE_URL", "")
    require(url.startswith("file:") and os.path.exists(url[len("file://"):]),
            "IMAGENETTE_URL=file://... pointing at imagenette2-160 data (CI: the shared stand-in)")
    def make(folder: Path) -> Path:
        location = folder / "imagenette"
        host = clone_repository(folder / "host" / "ds")
        sh([sys.executable, "-m", "pipeline", "data"], host, IMAGENETTE_DATASET=str(location))
        return location
    return made_once(tmp_path_factory, "stand-in", make)
