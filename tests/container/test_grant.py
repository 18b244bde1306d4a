"""Write access for the run id: the declared outputs and their folders, nothing else, journalled
and handed back; checked with a real process running as the run id."""
import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from container import grant
from helpers import require

RUN_IDS = (1_000_000_123, 1_000_000_456)  # an unprivileged id no account uses
PROTECTED = [".git", "code"]

# Run as the run id: try each write, print what happened.
ATTEMPTS = textwrap.dedent("""
    import os, sys
    os.setgroups([]); os.setgid(int(sys.argv[2])); os.setuid(int(sys.argv[1]))
    def attempt(name, action):
        try:
            action()
            print(name, "done")
        except OSError as error:
            print(name, type(error).__name__)
    attempt("write output", lambda: open("executed/train.ipynb", "w").write("new"))
    attempt("write new output", lambda: open("model.joblib", "w").write("model"))
    attempt("new file in output folder", lambda: open("executed/extra.txt", "w").write("x"))
    attempt("write other file", lambda: open("executed/evaluate.ipynb", "w").write("x"))
    attempt("delete other file", lambda: os.unlink("executed/evaluate.ipynb"))
    attempt("rename other file", lambda: os.rename("README.md", "x.md"))
    attempt("write git", lambda: open(".git/config", "a").write("x"))
    attempt("write code", lambda: open("code/tool.py", "a").write("x"))
    attempt("new file elsewhere", lambda: open("data/new.csv", "w").write("x"))
""")


@pytest.fixture
def root(tmp_path):
    require(os.getuid() == 0, "root (changing owners)")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    for folder in ("code", "executed", "data"):
        (tmp_path / folder).mkdir()
    (tmp_path / "code" / "tool.py").write_text("")
    (tmp_path / "executed" / "train.ipynb").write_text("{}")
    (tmp_path / "executed" / "evaluate.ipynb").write_text("{}")
    (tmp_path / "README.md").write_text("readme")
    tmp_path.chmod(0o755)
    return tmp_path


def stat_of(path):
    status = os.lstat(path)
    return status.st_uid, status.st_gid, status.st_mode, status.st_ctime_ns


def test_the_run_id_writes_its_outputs_and_nothing_else(root):
    outputs = ["executed/train.ipynb", "model.joblib"]
    untouched = {path: stat_of(root / path) for path in
                 ("README.md", "code/tool.py", "executed/evaluate.ipynb", ".git/config", "data")}
    before = {path: stat_of(root / path) for path in (".", "executed", "executed/train.ipynb")}
    owned, folders = grant.plan(root, outputs, root, PROTECTED)
    assert owned == ["executed/train.ipynb"] and folders == ["executed", "."]
    grant.grant(root, owned, folders, RUN_IDS)
    journal = json.loads(grant.journal_path(root).read_text())
    assert journal["owners"]["executed/train.ipynb"][0] == before["executed/train.ipynb"][0]

    tried = subprocess.run(["python3", "-c", ATTEMPTS, *map(str, RUN_IDS)], cwd=root,
                           capture_output=True, text=True, check=True).stdout.splitlines()
    assert tried == ["write output done", "write new output done",
                     "new file in output folder done", "write other file PermissionError",
                     "delete other file PermissionError", "rename other file PermissionError",
                     "write git PermissionError", "write code PermissionError",
                     "new file elsewhere PermissionError"]
    # Nothing else was touched, not even its ctime (git would re-read it):
    assert {path: stat_of(root / path) for path in untouched} == untouched

    made = grant.revoke(root)
    assert sorted(made) == ["executed/extra.txt", "model.joblib"]
    for path in ("executed/train.ipynb", "executed/extra.txt", "model.joblib"):
        assert os.lstat(root / path).st_uid == os.getuid()  # the user's again
    for path in (".", "executed"):  # owner, group and mode as before
        assert stat_of(root / path)[:3] == before[path][:3]
    assert not grant.journal_path(root).exists()
    assert grant.revoke(root) == []  # nothing left to do


def test_a_killed_run_is_revoked_from_its_journal_alone(root):
    owned, folders = grant.plan(root, ["executed/train.ipynb"], root, PROTECTED)
    grant.grant(root, owned, folders, RUN_IDS)
    (root / "executed" / "new.txt").write_text("made in the container")
    os.lchown(root / "executed" / "new.txt", *RUN_IDS)
    # The adapter is gone (SIGKILL): another process revokes from the journal alone.
    code = Path(grant.__file__).resolve().parents[1]
    revoked = subprocess.run(["python3", "-c", "import pathlib, sys; from container import grant; "
                              "print(grant.revoke(pathlib.Path(sys.argv[1])))", str(root)],
                             capture_output=True, text=True, check=True,
                             env={**os.environ, "PYTHONPATH": str(code)})
    assert revoked.stdout.strip() == "['executed/new.txt']"
    for path in ("executed/train.ipynb", "executed/new.txt"):
        assert os.stat(root / path).st_uid == os.getuid()
    assert os.stat(root / "executed").st_mode & 0o7777 == 0o755


def test_a_hard_linked_output_is_copied_before_it_is_handed_over(root):
    """An unlocked file in annex.thin mode is the annex object itself."""
    obj = root / ".git" / "object"
    obj.write_text("content")
    obj.chmod(0o444)
    os.link(obj, root / "executed" / "model.joblib")
    owned, folders = grant.plan(root, ["executed/model.joblib"], root, PROTECTED)
    grant.grant(root, owned, folders, RUN_IDS)
    output = root / "executed" / "model.joblib"
    assert output.read_text() == "content" and os.stat(output).st_ino != os.stat(obj).st_ino
    assert os.stat(obj).st_uid == os.getuid() and os.stat(obj).st_nlink == 1
    grant.revoke(root)


def test_outputs_outside_the_writable_part_get_nothing(root, capsys):
    (root / "out").mkdir()
    (root / "out" / "a.txt").write_text("a")
    owned, folders = grant.plan(root, ["../elsewhere", "code/tool.py", ".git/config", "out",
                                       "out/deeper/b.txt"], root, PROTECTED)
    assert owned == ["out", "out/a.txt"]  # a folder output: with what it holds
    assert folders == [".", "out"]  # out/deeper does not exist yet: out opens for it
    assert capsys.readouterr().err.count("the container cannot write it") == 3


def test_outputs_are_read_relative_to_where_datalad_ran(root):
    owned, folders = grant.plan(root, ["train.ipynb"], root / "executed", PROTECTED)
    assert owned == ["executed/train.ipynb"] and folders == ["executed"]
