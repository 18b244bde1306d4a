import os
import subprocess

from helpers import require
from container import sandbox


def work_tree(path):
    """A dataset-like git work tree: tracked code, an output folder, an ignored .venv."""
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    (path / ".gitignore").write_text(".venv/\n")
    for folder in ("code", "executed", ".venv"):
        (path / folder).mkdir()
    (path / "code" / "tool.py").write_text("")
    (path / "executed" / "train.ipynb").write_text("{}")
    (path / ".venv" / "python").write_text("")
    return path


def test_subordinate_base_reads_roots_range(tmp_path):
    table = tmp_path / "subuid"
    table.write_text("alice:100000:65536\nroot:300000:65536\n")
    assert sandbox.subordinate_base(table=str(table)) == 300000
    table.write_text("alice:100000:65536\nroot:300000:1000\n")  # too small a range
    assert sandbox.subordinate_base(table=str(table)) == sandbox.FALLBACK_BASE
    assert sandbox.subordinate_base(table=str(tmp_path / "missing")) == sandbox.FALLBACK_BASE


def test_read_only_and_hidden_paths(tmp_path):
    root = work_tree(tmp_path)
    assert ".git" in sandbox.read_only_paths(root) and "code" in sandbox.read_only_paths(root)
    assert "executed" not in sandbox.read_only_paths(root)
    assert sandbox.ignored_paths(root) == [".venv/"]


def test_symlinks_are_not_mounted_over(tmp_path):
    """Inside, the engine would follow them: a tmpfs on `.venv -> /opt/venv` hides the image's
    venv."""
    root = work_tree(tmp_path)
    (root / ".venv" / "python").unlink()
    (root / ".venv").rmdir()
    (root / ".venv").symlink_to("/opt/venv")
    (root / "notebooks").symlink_to("code")
    args = sandbox.mount_args("podman", root, "/dataset")
    assert not any(".venv" in arg or "/dataset/notebooks" in arg for arg in args)
    assert f"{root}/code:/dataset/code:ro" in args


def test_a_path_the_mount_syntax_cannot_carry_is_refused(tmp_path):
    root = work_tree(tmp_path)
    (root / "a,b").mkdir()
    (root / ".gitignore").write_text(".venv/\na,b/\n")
    try:
        sandbox.mount_args("podman", root, "/dataset")
    except sandbox.SandboxError as error:
        assert "rename it" in str(error)
    else:
        raise AssertionError("a path with a comma was mounted")


def test_ownership_shifts_into_the_mapped_range_and_back_exactly(tmp_path, monkeypatch):
    require(os.getuid() == 0, "root (changing owners)")
    root = work_tree(tmp_path)
    monkeypatch.setattr(sandbox, "id_mapping", lambda: (500000, 600000))
    os.lchown(root / "executed" / "train.ipynb", 1234, 0)
    # A hard link, like an annex.thin object:
    os.link(root / "executed" / "train.ipynb", root / "executed" / "linked")
    sandbox.shift_ownership(root, into_container=True)
    executed = os.stat(root / "executed")
    assert executed.st_uid == 500000 and executed.st_gid == 600000
    assert os.stat(root).st_uid == 500000  # new outputs at the top level can be created
    assert os.stat(root / "executed" / "train.ipynb").st_uid == 1234  # hard-linked: never writable
    assert os.stat(root / "code" / "tool.py").st_uid == 0  # read-only machinery is left alone
    assert os.stat(root / ".venv" / "python").st_uid == 0  # hidden paths too
    assert os.stat(root / ".git" / "HEAD").st_uid == 0
    assert sandbox.ignored_paths(root) == [".venv/"]  # git still answers us in a shifted tree
    (root / "executed" / "new.ipynb").write_text("{}")
    os.lchown(root / "executed" / "new.ipynb", 500000 + 7, 600000)  # made by the container's uid 7
    sandbox.shift_ownership(root, into_container=False)
    assert os.stat(root / "executed").st_uid == 0 and os.stat(root).st_gid == 0
    assert os.stat(root / "executed" / "new.ipynb").st_uid == 7
    assert sandbox.shift_ownership(root, into_container=False) == 0  # idempotent


def test_ignored_paths_made_during_a_run_are_removed(tmp_path):
    root = work_tree(tmp_path)
    before = set(sandbox.ignored_paths(root))
    (root / ".gitignore").write_text(".venv/\n__pycache__/\n")
    (root / "executed" / "__pycache__").mkdir()
    (root / "executed" / "__pycache__" / "x.pyc").write_text("")
    assert sandbox.remove_new_ignored(root, before) == ["executed/__pycache__/"]
    assert not (root / "executed" / "__pycache__").exists()
    assert (root / ".venv" / "python").exists()  # there before: kept
