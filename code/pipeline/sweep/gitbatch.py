"""Git plumbing for many job branches at once: a constant number of git processes whether a
sweep has 4 jobs or 10,000 (one process per branch made merging 10,000 jobs take most of an
hour; FAIRly-big reports the same growth)."""
from __future__ import annotations

import subprocess
from pathlib import Path

from .. import commands
from . import SweepError


def plumbing(root: Path, *args: str, stdin: str | None = None) -> str:
    """A git command that must succeed (the merge's steps); its output."""
    result = subprocess.run(["git", *args], cwd=root, env=commands.tool_env(), text=True,
                            input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
                            capture_output=True)
    if result.returncode != 0:
        raise SweepError(f"`git {' '.join(args[:2])} ...` failed: {result.stderr.strip()}")
    return result.stdout.strip()


def read_objects(root: Path, names: list[str]) -> list[bytes | None]:
    """The contents of many objects (``REV:PATH``) from one ``git cat-file --batch``, None for
    each that is not there: one git process for a sweep's jobs, not one per job."""
    if not names:
        return []
    done = subprocess.run(["git", "cat-file", "--batch"], cwd=root, env=commands.tool_env(),
                          input="".join(f"{name}\n" for name in names).encode(),
                          capture_output=True, check=True)
    out, at, contents = done.stdout, 0, []
    for _ in names:
        end = out.index(b"\n", at)
        header = out[at:end].split()
        if header[-1] == b"missing" or len(header) != 3:
            contents.append(None)
            at = end + 1
            continue
        size = int(header[2])
        contents.append(out[end + 1:end + 1 + size])
        at = end + 1 + size + 1  # the object, then a newline
    return contents


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
