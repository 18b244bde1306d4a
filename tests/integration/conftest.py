"""Fixtures for the container tests: one clone with the image built and registered, and fresh
datalad clones of it (which fetch the annexed image from it, as a user's clone would)."""
import shutil
import sys

import pytest

from helpers import clone_repository, require, sh


@pytest.fixture(scope="session")
def registered_dataset(tmp_path_factory):
    require(bool(shutil.which("podman") or shutil.which("docker")),
            "a container engine (podman or docker)")
    clone = clone_repository(tmp_path_factory.mktemp("registered") / "ds")
    sh([sys.executable, "-m", "pipeline", "container", "setup"], clone)
    return clone


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
