"""Fixtures shared by all tests; the helpers they use live in helpers.py."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
sys.path[:0] = [str(TESTS.parent / "code"), str(TESTS)]

from helpers import (REPO, clone_repository, code_commit, made_once, sh,  # noqa: E402
                     untested_code_changes)
from imagenette_fixture import make_archive  # noqa: E402


def pytest_report_header(config):
    """Say which commit the tests test when it is not HEAD (a dataset that ran the tutorial)."""
    base = code_commit()
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                          text=True).stdout.strip()
    if base == head:
        return None
    lines = [f"code under test: {base[:8]}, this checkout's HEAD without the dataset's runs, "
             "data and container"]
    changed = untested_code_changes(REPO, base)
    if changed:
        more = " ..." if len(changed) > 5 else ""
        lines.append(f"not tested: {', '.join(changed[:5])}{more} changed after {base[:8]}: to "
                     f"test them, commit them on a branch from it (git switch -c fix {base[:8]})")
    return lines


@pytest.fixture(scope="session")
def small_archive(tmp_path_factory) -> Path:
    return made_once(tmp_path_factory, "archive", make_archive)


@pytest.fixture(scope="session")
def small_input_dataset(tmp_path_factory, small_archive) -> Path:
    """One input dataset made from the small archive, shared by the clones (as in a workshop)."""
    def make(folder: Path) -> Path:
        location = folder / "imagenette"
        host = clone_repository(folder / "host" / "ds")
        sh([sys.executable, "-m", "pipeline", "data"], host,
           IMAGENETTE_URL=small_archive.as_uri(), IMAGENETTE_DATASET=str(location))
        return location
    return made_once(tmp_path_factory, "input", make)


@pytest.fixture
def clone_with_data(tmp_path, small_input_dataset) -> Path:
    """A fresh clone with the small input dataset installed in data/raw."""
    clone = clone_repository(tmp_path / "ds")
    sh([sys.executable, "-m", "pipeline", "data"], clone,
       IMAGENETTE_DATASET=str(small_input_dataset))
    return clone
