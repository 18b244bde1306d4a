"""git-annex's view of many branches at once, on a small git-annex repository."""
from helpers import git, sh
from pipeline.sweep import gitbatch
from test_sweep_jobs import dataset  # noqa: F401 - a fixture


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
