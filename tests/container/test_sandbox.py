import subprocess

import pytest

from container import sandbox


def work_tree(path):
    """A dataset-like git work tree: tracked code, an output folder, an ignored .venv."""
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    path.chmod(0o755)  # as git makes a new folder; pytest's own are their owner's alone
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
    args = sandbox.mount_args("podman", root, "/dataset", sandbox.ignored_paths(root))
    assert not any(".venv" in arg or "/dataset/notebooks" in arg for arg in args)
    assert f"{root}/code:/dataset/code:ro" in args


def test_a_path_the_mount_syntax_cannot_carry_is_refused(tmp_path):
    root = work_tree(tmp_path)
    (root / "a,b").mkdir()
    (root / ".gitignore").write_text(".venv/\na,b/\n")
    try:
        sandbox.mount_args("podman", root, "/dataset", sandbox.ignored_paths(root))
    except sandbox.SandboxError as error:
        assert "rename it" in str(error)
    else:
        raise AssertionError("a path with a comma was mounted")


def test_only_the_top_and_the_outputs_folders_are_checked_for_ignored_paths(tmp_path):
    root = work_tree(tmp_path)
    (root / ".gitignore").write_text(".venv/\n*.log\nfailed/\n")
    (root / "executed" / "failed").mkdir()
    (root / "code" / "failed").mkdir()
    (root / "x.log").write_text("")
    assert sandbox.ignored_in(root, ["."]) == [".venv/", "x.log"]
    assert sandbox.ignored_in(root, [".", "executed"]) == [".venv/", "x.log", "executed/failed/"]


def test_subdatasets_come_from_gitmodules(tmp_path):
    root = work_tree(tmp_path)
    (root / ".gitmodules").write_text('[submodule "raw"]\n\tpath = data/raw\n\turl = ./x\n'
                                      '[submodule "gone"]\n\tpath = data/gone\n\turl = ./y\n')
    (root / "data" / "raw").mkdir(parents=True)
    (root / "data" / "raw" / ".git").write_text("gitdir: ../../.git/modules/raw")
    assert sandbox.subdatasets(root) == ["data/raw"]  # data/gone is not installed
    assert "data/raw" in sandbox.read_only_paths(root)


def test_as_root_only_the_outputs_are_planned_and_the_rest_is_not_walked(tmp_path, monkeypatch):
    root = work_tree(tmp_path)
    walked = []
    monkeypatch.setattr(sandbox, "ignored_paths", lambda root: walked.append(root) or [])
    access = sandbox.Access.plan(root, ["executed/train.ipynb", ".venv/x", "code/tool.py"], root,
                                 as_root=True)
    assert access.owned == ["executed/train.ipynb"] and access.folders == ["executed"]
    assert access.hidden == [".venv/"] and walked == []
    as_user = sandbox.Access.plan(root, ["executed/train.ipynb"], root, as_root=False)
    assert walked == [root] and as_user.owned == []  # as the user: git lists what it ignores


def test_ignored_paths_made_during_a_run_are_removed(tmp_path):
    root = work_tree(tmp_path)
    before = set(sandbox.ignored_paths(root))
    (root / ".gitignore").write_text(".venv/\n__pycache__/\n")
    (root / "executed" / "__pycache__").mkdir()
    (root / "executed" / "__pycache__" / "x.pyc").write_text("")
    assert sandbox.remove_new_ignored(root, before) == ["executed/__pycache__/"]
    assert not (root / "executed" / "__pycache__").exists()
    assert (root / ".venv" / "python").exists()  # there before: kept


def test_a_tracked_path_that_matches_an_ignore_pattern_is_not_hidden(tmp_path):
    root = work_tree(tmp_path)
    (root / "kept.log").write_text("tracked on purpose")
    (root / ".gitignore").write_text(".venv/\n*.log\n")
    subprocess.run(["git", "add", "-f", "kept.log", ".gitignore"], cwd=root, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "x"],
                   cwd=root, check=True)
    (root / "new.log").write_text("")
    assert sandbox.ignored_in(root, ["."]) == [".venv/", "new.log"]


def test_a_dataset_folder_the_run_id_may_not_enter_is_refused_before_the_run(tmp_path):
    root = work_tree(tmp_path / "mktemp")
    run_ids = (root.stat().st_uid + 4321, root.stat().st_gid + 4321)
    sandbox.require_enterable(root, run_ids)
    root.chmod(0o700)  # as `mktemp -d` makes it
    with pytest.raises(sandbox.SandboxError, match=f"chmod o\\+rx {root}`"):
        sandbox.require_enterable(root, run_ids)
    with pytest.raises(sandbox.SandboxError):
        sandbox.Access.plan(root, ["executed/train.ipynb"], root, as_root=True)
    assert (root / "executed").stat().st_mode & 0o777 == 0o755  # nothing granted
    sandbox.require_enterable(root, (root.stat().st_uid, 4321))  # the run id's own folder
