import sys

import pytest

from helpers import clone_repository, free_port, sh
from pipeline import inputdata


def test_plain_path_becomes_a_file_url(tmp_path, monkeypatch):
    monkeypatch.setenv("IMAGENETTE_URL", str(tmp_path / "a b.tgz"))
    assert inputdata.archive_url() == (tmp_path / "a b.tgz").as_uri()
    monkeypatch.delenv("IMAGENETTE_URL")
    assert inputdata.archive_url() == inputdata.OFFICIAL_URL


def test_input_dataset_defaults_beside_the_analysis(tmp_path, monkeypatch):
    monkeypatch.delenv("IMAGENETTE_DATASET", raising=False)
    assert inputdata.input_dataset_location(tmp_path / "ds") == tmp_path / "imagenette"
    monkeypatch.setenv("IMAGENETTE_DATASET", str(tmp_path / "shared"))
    assert inputdata.input_dataset_location(tmp_path / "ds") == tmp_path / "shared"


@pytest.mark.parametrize("url", ["file:///nonexistent/imagenette2-160.tgz",
                                 "http://127.0.0.1:{free_port}/imagenette2-160.tgz"])
def test_failed_download_says_how_to_use_a_local_copy_and_leaves_nothing(tmp_path, url):
    # the port is picked when the test runs: test ids must be the same in every xdist worker
    url = url.format(free_port=free_port())
    clone = clone_repository(tmp_path / "ds")
    result = sh([sys.executable, "-m", "pipeline", "data"], clone, check=False, IMAGENETTE_URL=url)
    assert result.returncode == 1
    assert "IMAGENETTE_URL=file:///absolute/path/imagenette2-160.tgz make data" in result.stderr
    assert not (tmp_path / "imagenette").exists()  # the half-made input dataset is gone
    assert not (clone / "data/raw").exists()
    sh(["git", "diff", "--quiet", "HEAD"], clone)


def test_an_input_dataset_in_a_folder_the_user_cannot_write_is_used_as_it_is(tmp_path, monkeypatch):
    """No lock file beside a shared read-only input dataset: creating one would fail."""
    location = tmp_path / "shared" / "imagenette"
    (location / ".datalad").mkdir(parents=True)
    assert not inputdata.is_shared_read_only(location)  # the test runs as its folder's owner
    monkeypatch.setattr(inputdata.os, "access", lambda path, mode: path != location.parent)
    assert inputdata.is_shared_read_only(location)
    assert not inputdata.is_shared_read_only(tmp_path / "missing" / "imagenette")
