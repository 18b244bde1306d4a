"""git-annex's view of many job branches at once: a constant number of git processes whether a
sweep has 4 jobs or 10,000 (one process per branch made merging 10,000 jobs take most of an
hour; FAIRly-big reports the same growth). Reading many objects: git.read_objects."""
from __future__ import annotations

from pathlib import Path

from ..git import plumbing


def fsck_trees(root: Path, trees: list[str], *options: str) -> None:
    """``git annex fsck --fast`` of every file in ``trees``, each distinct file once, in one
    git-annex process. Job branches share most files (the input pixels, the image, what HEAD
    holds): a tree holding each job's tree made fsck check the same files once per branch (1,000
    copies of a job: 58 s), a tree of the distinct blobs checks each once."""
    if not trees:
        return
    every = plumbing(root, "mktree", stdin="".join(
        f"040000 tree {tree}\t{index}\n" for index, tree in enumerate(trees)))
    distinct: dict[str, str] = {}
    # annexed files are symlinks (120000) or, unlocked, pointer files (100644)
    for line in plumbing(root, "ls-tree", "-r", every).splitlines():
        mode, kind, blob = line.split("\t", 1)[0].split()
        if kind == "blob" and mode in ("120000", "100644"):
            distinct.setdefault(blob, mode)
    if not distinct:
        return
    flat = plumbing(root, "mktree", stdin="".join(
        f"{mode} blob {blob}\t{index}\n" for index, (blob, mode) in enumerate(distinct.items())))
    plumbing(root, "annex", "fsck", "--fast", "--quiet", *options, "--branch", flat)
