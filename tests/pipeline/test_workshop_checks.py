"""What `workshop setup` refuses before creating anything (pipeline/workshop/checks.py), and the
refusals as the instructor sees them: the real command, nothing made afterwards."""
import os
import pwd
import socket
import sys
from pathlib import Path

import pytest

import run_records
from helpers import project, require, sh
from pipeline.workshop import checks
from pipeline.workshop.layout import Layout, WorkshopError

tiny_history = run_records.tiny_history  # the session fixture, shared


def test_a_number_names_participants_01_to_n_and_names_are_checked():
    assert checks.participant_names("3") == ["01", "02", "03"]
    assert checks.participant_names("12")[-1] == "12"
    assert checks.participant_names("alice, bob carol") == ["alice", "bob", "carol"]
    for bad in ("0", "501", "Alice", "al ice-x", "instructor", "", "bob bob", "1abc"):
        with pytest.raises(WorkshopError):
            checks.participant_names(bad)


def test_free_subordinate_id_ranges_fill_the_gaps_and_run_out():
    taken = checks.taken_ranges("a:100000:65536\nb:300000:65536\nbroken line\n")
    assert taken == [(100000, 165536), (300000, 365536)]
    starts = checks.free_starts(taken, 100000, 600000, wanted=10)
    assert starts[:3] == [165536, 231072, 365536]  # two fit between a and b, then after b
    assert all(not (s < end and s + checks.SUBID_COUNT > start) for s in starts
               for start, end in taken)
    assert checks.free_starts(taken, 100000, 250000, wanted=3) == [165536]


def test_subordinate_ids_must_be_free_in_both_tables(tmp_path):
    (tmp_path / "subuid").write_text("x:100000:65536\n")
    (tmp_path / "subgid").write_text("y:165536:65536\n")
    defs = {"SUB_UID_MIN": 100000, "SUB_UID_MAX": 400000, "SUB_GID_MIN": 100000,
            "SUB_GID_MAX": 400000}
    starts = checks.subid_starts(5, tmp_path / "subuid", tmp_path / "subgid", defs)
    assert starts == [231072, 296608]  # after both taken ranges, as many as fit below the limit


def test_no_subordinate_ids_left_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(checks, "subid_starts", lambda wanted: [])
    monkeypatch.setattr(checks, "busy_ports", lambda port, bind: [])
    from pipeline.workshop.layout import Account
    new = [Account(name="a", account="ws-test-nobody-a", uid=-1, home="/nonexistent")]
    found = checks.problems(Layout(tmp_path / "ws"), None, new, 8000, "127.0.0.1", False,
                            tmp_path, project())
    assert any("no podman subordinate ids left" in problem for problem in found), found


def refused_setup(*args: str, **extra: str) -> str:
    result = sh([sys.executable, "-m", "pipeline", "workshop", "setup", *args], project(),
                check=False, **extra)
    assert result.returncode != 0, result.stdout
    return result.stderr


@pytest.fixture
def nothing_made(tmp_path):
    """The workshop's folder and accounts setup would make: none may exist afterwards."""
    require(os.geteuid() == 0, "root (the workshop's commands refuse other users first)")
    folder = tmp_path / "workshop"
    yield folder
    assert not folder.exists()
    assert not [e.pw_name for e in pwd.getpwall() if e.pw_name.startswith("wsx-")]


def test_setup_refuses_too_many_participants_for_the_disk(nothing_made):
    said = refused_setup("--dir", str(nothing_made), "--prefix", "wsx-", "--participants", "500")
    assert "too little disk" in said and "nothing was created" in said


def test_setup_refuses_a_port_in_use(nothing_made):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        said = refused_setup("--dir", str(nothing_made), "--prefix", "wsx-", "--participants",
                             "2", "--port", str(port))
    assert f"ports in use: {port} (public)" in said


def test_setup_refuses_accounts_it_did_not_make(nothing_made):
    # prefix "roo" and name "t": the account would be root.
    said = refused_setup("--dir", str(nothing_made), "--prefix", "roo", "--participants", "t")
    assert "accounts root exist already and were not made by this workshop" in said


def test_setup_refuses_a_project_that_ran_the_tutorial(nothing_made, tiny_history):
    ran, _ = tiny_history
    said = refused_setup("--dir", str(nothing_made), "--prefix", "wsx-", "--participants", "1",
                         "--project", str(ran))
    assert f"{ran} holds run records" in said and "nothing was created" in said


def test_setup_refuses_bad_names_and_other_users(nothing_made):
    said = refused_setup("--dir", str(nothing_made), "--participants", "Alice instructor")
    assert "invalid names 'Alice', 'instructor'" in said


def test_the_instructor_must_be_root(tmp_path, monkeypatch):
    from pipeline.workshop import room
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(WorkshopError, match="as root"):
        room.require_root()
    assert not Path(tmp_path, "workshop").exists()
