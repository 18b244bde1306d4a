"""The tests test the committed code, whatever dataset work a user's checkout holds; tests on
other workers share the machine's one SLURM cluster."""
import fcntl
import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from helpers import clone_repository, code_commit, git, project, sharing, untested_code_changes

RUN_MESSAGE = """[DATALAD RUNCMD] Train

=== Do not change lines below ===
{"cmd": "true", "exit": 0, "inputs": [], "outputs": []}
^^^ Do not change lines above ^^^
"""


def commit(repo, path, text, message):
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_text(text)
    git(repo, "add", path)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def test_code_commit_is_head_without_the_dataset_work(tmp_path):
    repo = tmp_path / "ds"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    commit(repo, ".datalad/environments/.gitattributes", "* annex.largefiles=anything\n",
           "Project set-up")
    code = commit(repo, "code/x.py", "x = 1\n", "Code mentions [DATALAD RUNCMD] in its message")
    assert code_commit(repo) == code  # no dataset work: HEAD itself

    commit(repo, ".gitmodules", "[submodule \"data/raw\"]\n", "[DATALAD] Added subdataset")
    commit(repo, ".datalad/environments/software/image", "layers\n",
           "[DATALAD] Configure containerized environment")
    commit(repo, "accuracy.json", "{}\n", RUN_MESSAGE)
    commit(repo, "params/train.yaml", "max_iter: 100\n", "Train SGD for 100 iterations")
    assert code_commit(repo) == code
    assert untested_code_changes(repo, code) == []

    commit(repo, "code/x.py", "x = 2\n", "A fix committed after the tutorial")
    assert code_commit(repo) == code
    assert untested_code_changes(repo, code) == ["code/x.py"]


def test_clones_hold_one_branch_no_tags_no_remote(tmp_path):
    clone = clone_repository(tmp_path / "ds")
    assert git(clone, "rev-parse", "HEAD") == code_commit()
    refs = git(clone, "for-each-ref", "--format=%(refname)").split()
    assert set(refs) == {"refs/heads/main", "refs/heads/git-annex"}  # the annex of this clone alone
    assert git(clone, "remote") == "" and git(clone, "status", "--porcelain") == ""
    assert (project() / "notebooks/walkthrough.ipynb").is_file()


def test_users_of_a_resource_share_it_and_the_one_that_stops_it_waits():
    resource = f"helpers-test-{os.getpid()}"
    path = Path(tempfile.gettempdir()) / f"imageclf-tests-{resource}.lock"
    try:
        with sharing(resource), open(path) as other_worker:
            fcntl.flock(other_worker, fcntl.LOCK_SH | fcntl.LOCK_NB)  # shares at once
            fcntl.flock(other_worker, fcntl.LOCK_UN)
            with pytest.raises(BlockingIOError):  # would wait for the sharers
                fcntl.flock(other_worker, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with sharing(resource, exclusive=True), open(path) as other_worker:
            with pytest.raises(BlockingIOError):  # even a sharer waits for it
                fcntl.flock(other_worker, fcntl.LOCK_SH | fcntl.LOCK_NB)
    finally:
        path.unlink(missing_ok=True)
