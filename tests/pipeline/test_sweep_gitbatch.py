"""Git plumbing for many branches at once, on a small git-annex repository."""
import pytest

from helpers import git, sh
from pipeline.sweep import SweepError, gitbatch
from test_sweep_jobs import dataset  # noqa: F401 - a fixture


def test_many_objects_come_from_one_reader_each_whole_or_none(dataset):  # noqa: F811
    # contents that look like the reader's own framing: newlines, a header-like line, no end
    texts = [b"a\nb\n", b"x 1 blob 3\n\n", b"no newline at the end", b""]
    for index, text in enumerate(texts):
        (dataset / f"f{index}").write_bytes(text)
    sh(["git", "add", "."], dataset)
    sh(["git", "commit", "--quiet", "-m", "files"], dataset)
    names = ["HEAD:f0", "HEAD:missing", "HEAD:f1", "nobranch:f0", "HEAD:f2", "HEAD:f3"]
    assert gitbatch.read_objects(dataset, names) == [texts[0], None, texts[1], None, texts[2],
                                                     texts[3]]
    assert gitbatch.read_objects(dataset, []) == []


def test_one_fsck_over_many_trees_records_the_files_of_each(dataset):  # noqa: F811
    here = git(dataset, "config", "annex.uuid")
    trees, keys = [], []
    for name in ("one", "two"):
        sh(["git", "checkout", "--quiet", "-b", name, "main"], dataset)
        (dataset / "model.bin").write_bytes(name.encode() * 100)  # the same path in each
        deep = dataset / "data" / "deep" / f"{name}.bin"  # a link two folders down
        deep.parent.mkdir(parents=True, exist_ok=True)
        deep.write_bytes(name.encode() * 200)
        sh(["git", "annex", "add", "--quiet", "model.bin", str(deep)], dataset)
        sh(["git", "commit", "--quiet", "-m", name], dataset)
        trees.append(git(dataset, "rev-parse", "HEAD^{tree}"))
        keys += [git(dataset, "annex", "lookupkey", "model.bin"),
                 git(dataset, "annex", "lookupkey", str(deep))]
    trees.append(trees[0])  # a second branch with the same tree: its files once
    for key in keys:  # as after a job killed between its push and the launcher's fsck
        sh(["git", "annex", "setpresentkey", key, here, "0"], dataset)
        assert "(0 copies)" in sh(["git", "annex", "whereis", "--key", key], dataset,
                                  check=False).stdout
    gitbatch.fsck_trees(dataset, trees)
    for key in keys:
        assert "(1 copy)" in git(dataset, "annex", "whereis", "--key", key)
    gitbatch.fsck_trees(dataset, [])  # nothing to check: no git-annex process


def test_a_failing_git_command_says_which_one(dataset):  # noqa: F811
    with pytest.raises(SweepError, match="`git mktree"):
        gitbatch.plumbing(dataset, "mktree", stdin="not a tree line\n")
