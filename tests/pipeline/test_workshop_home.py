"""Setup's writes into a participant's home: theirs, and never through a link they planted."""
import os

import pytest

from pipeline.workshop import home
from pipeline.workshop.layout import WorkshopError


def test_the_file_and_the_folders_made_for_it_are_the_participants(tmp_path):
    assert home.write(tmp_path, ".config/containers/storage.conf", "x\n", 4321, 4322)
    made = [tmp_path / ".config", tmp_path / ".config" / "containers",
            tmp_path / ".config" / "containers" / "storage.conf"]
    assert [(p.stat().st_uid, p.stat().st_gid) for p in made] == [(4321, 4322)] * 3
    assert made[-1].read_text() == "x\n"
    assert sorted(os.listdir(made[1])) == ["storage.conf"]  # no temporary file left


def test_a_planted_link_to_a_file_is_replaced_not_written_through(tmp_path):
    secret = tmp_path / "root-only"
    secret.write_text("root's\n")
    participant = tmp_path / "home"
    participant.mkdir()
    (participant / ".gitconfig").symlink_to(secret)
    assert home.write(participant, ".gitconfig", "[user]\n", 4321, 4322)
    assert secret.read_text() == "root's\n" and secret.stat().st_uid == os.geteuid()
    assert not (participant / ".gitconfig").is_symlink()
    assert (participant / ".gitconfig").read_text() == "[user]\n"


def test_a_planted_link_to_a_folder_stops_setup_and_nothing_is_written_there(tmp_path):
    elsewhere = tmp_path / "etc"
    elsewhere.mkdir()
    participant = tmp_path / "home"
    participant.mkdir()
    (participant / ".jupyter").symlink_to(elsewhere)
    with pytest.raises(WorkshopError, match=r"\.jupyter: a link"):
        home.write(participant, ".jupyter/lab/file", "{}", 4321, 4322)
    assert list(elsewhere.iterdir()) == [] and elsewhere.stat().st_uid == os.geteuid()


def test_an_existing_file_is_kept_unless_replaced(tmp_path):
    (tmp_path / "f").write_text("theirs")
    assert not home.write(tmp_path, "f", "ours", 4321, 4322, replace=False)
    assert (tmp_path / "f").read_text() == "theirs"
    assert home.write(tmp_path, "f", "ours", 4321, 4322)
    assert (tmp_path / "f").read_text() == "ours"
