"""git the one way: queries that may find nothing, plumbing that must succeed, many objects
read by one process."""
import hashlib
import subprocess

import pytest

from helpers import sh
from pipeline import git


@pytest.fixture
def repo(tmp_path):
    subprocess.run(["git", "init", "-q", "--initial-branch=main", str(tmp_path)], check=True)
    (tmp_path / "a.txt").write_text("first\n")
    subprocess.run(["git", "add", "a.txt"], cwd=tmp_path, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m",
                    "start"], cwd=tmp_path, check=True)
    return tmp_path


def test_a_query_that_finds_nothing_is_empty(repo):
    assert git.git(repo, "rev-parse", "--verify", "--quiet", "no-such-ref") == ""
    assert git.has_ref(repo, "main") and not git.has_ref(repo, "other")
    assert git.config(repo, "no.such-key") == ""


def test_plumbing_that_fails_names_git_and_its_words(repo):
    with pytest.raises(git.GitError, match="`git rev-parse no-such-ref ...` failed: fatal: "
                                           "ambiguous argument"):
        git.plumbing(repo, "rev-parse", "no-such-ref")
    blob = hashlib.sha1(b"blob 2\0x\n").hexdigest()  # git's id of the text it got on stdin
    assert git.plumbing(repo, "hash-object", "--stdin", stdin="x\n") == blob


def test_many_objects_come_from_one_reader_each_whole_or_none(repo):
    # contents that look like the reader's own framing: newlines, a header-like line, no end
    texts = [b"a\nb\n", b"x 1 blob 3\n\n", b"no newline at the end", b""]
    for index, text in enumerate(texts):
        (repo / f"f{index}").write_bytes(text)
    sh(["git", "add", "."], repo)
    sh(["git", "commit", "--quiet", "-m", "files"], repo)
    names = ["HEAD:f0", "HEAD:missing", "HEAD:f1", "nobranch:f0", "HEAD:f2", "HEAD:f3"]
    assert git.read_objects(repo, names) == [texts[0], None, texts[1], None, texts[2],
                                             texts[3]]
    assert git.read_objects(repo, []) == []


def test_a_listing_splits_on_nul_keeps_odd_names_and_is_empty_when_git_fails(repo):
    (repo / "new line\nname.txt").write_text("x\n")
    (repo / ".gitignore").write_text("*.tmp\n")
    (repo / "b.tmp").write_text("x\n")
    assert git.listing(repo, "ls-files", "--others", "--exclude-standard", "-z") == \
        [".gitignore", "new line\nname.txt"]
    assert git.listing(repo, "check-ignore", "--no-index", "--stdin", "-z",
                       stdin="b.tmp\0a.txt") == ["b.tmp"]
    assert git.listing(repo, "cat-file", "--batch-check", separator="\n",
                       stdin="HEAD:a.txt\nHEAD:none\n")[1] == "HEAD:none missing"
    assert git.listing(repo, "rev-parse", "no-such-ref", any_owner=True) == []
