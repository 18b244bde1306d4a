import os

import pytest

from imageclf import project


@pytest.fixture
def dataset(tmp_path):
    (tmp_path / ".datalad").mkdir()
    (tmp_path / ".datalad" / "config").write_text("")
    (tmp_path / "notebooks").mkdir()
    return tmp_path


def test_the_root_is_found_from_a_folder_inside(dataset):
    assert project.find_root(dataset / "notebooks") == dataset.resolve()


def test_a_folder_outside_is_a_clear_error(tmp_path):
    with pytest.raises(project.NotInDataset, match="run this from the dataset"):
        project.find_root(tmp_path)


def test_a_datalad_dataset_without_notebooks_is_not_the_tutorial(dataset):
    """The input dataset in data/raw is a DataLad dataset too: not the root the stages mean."""
    raw = dataset / "data" / "raw"
    (raw / ".datalad").mkdir(parents=True)
    (raw / ".datalad" / "config").write_text("")
    assert project.find_root(raw) == dataset.resolve()


def test_work_from_root_changes_folder_as_datalad_run_starts_there(dataset, monkeypatch):
    monkeypatch.chdir(dataset / "notebooks")
    assert project.work_from_root() is None  # a notebook cell shows nothing
    assert os.getcwd() == str(dataset.resolve())
