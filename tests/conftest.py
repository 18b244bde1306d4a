"""Fixtures shared by all tests; the helpers they use live in helpers.py."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
sys.path[:0] = [str(TESTS.parent / "code"), str(TESTS)]

from helpers import clone_repository, sh  # noqa: E402
from imagenette_fixture import make_archive  # noqa: E402


@pytest.fixture(scope="session")
def small_archive(tmp_path_factory) -> Path:
    return make_archive(tmp_path_factory.mktemp("archive"))


@pytest.fixture(scope="session")
def small_input_dataset(tmp_path_factory, small_archive) -> Path:
    """One input dataset made from the small archive, shared by the clones (as in a workshop)."""
    location = tmp_path_factory.mktemp("input") / "imagenette"
    host = clone_repository(tmp_path_factory.mktemp("host") / "ds")
    sh([sys.executable, "-m", "pipeline", "data"], host,
       IMAGENETTE_URL=small_archive.as_uri(), IMAGENETTE_DATASET=str(location))
    return location


@pytest.fixture
def clone_with_data(tmp_path, small_input_dataset) -> Path:
    """A fresh clone with the small input dataset installed in data/raw."""
    clone = clone_repository(tmp_path / "ds")
    sh([sys.executable, "-m", "pipeline", "data"], clone, IMAGENETTE_DATASET=str(small_input_dataset))
    return clone
