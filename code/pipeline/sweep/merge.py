"""A sweep's results in the dataset, and the one commit that merges its job branches.

A job is done when its branch is in the dataset with an evaluation (``accuracy.json``) on it.
One commit on the user's branch records every finished job branch as a parent (what ``git merge
-s ours`` records: jobs wrote the same paths, so an octopus merge of their contents would
conflict) and is tagged ``sweep/NAME``, so that one ref reaches every result.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..git import git, plumbing, read_objects
from .gitbatch import fsck_trees
from .model import Sweep


def accuracy_of(text: bytes | None) -> float | None:
    """accuracy.json's accuracy, from its bytes."""
    try:
        return float(json.loads(text)["accuracy"])
    except (ValueError, KeyError, TypeError):
        return None


def job_results(repo: Path, sweep: Sweep) -> dict[str, float | None]:
    """Each job branch with a result in ``repo`` and its accuracy, in the sweep's order (one
    ``git cat-file`` for all of them)."""
    branches = [sweep.branch(job) for job in sweep.jobs]
    found = read_objects(repo, [f"refs/heads/{b}:accuracy.json" for b in branches])
    return {b: accuracy_of(text) for b, text in zip(branches, found) if text is not None}


def unmerged_heads(root: Path, sweep: Sweep) -> dict[str, tuple[str, str]]:
    """Job branches HEAD does not reach yet -> (commit, tree), from one ``git for-each-ref``."""
    listed = plumbing(root, "for-each-ref", "--no-merged=HEAD",
                      "--format=%(refname:strip=2) %(objectname) %(tree)",
                      f"refs/heads/sweep/{sweep.name}")
    return {name: (commit, tree) for name, commit, tree in
            (line.split() for line in listed.splitlines())}


def merge(root: Path, sweep: Sweep) -> str | None:
    """One commit on the user's branch with every finished job branch as a parent, tagged
    ``sweep/NAME``. Built with plumbing so the user's index and working tree stay as they are,
    in a constant number of git processes for any number of jobs (one per branch made the merge
    of 10,000 jobs take most of an hour)."""
    results, unmerged = job_results(root, sweep), unmerged_heads(root, sweep)
    new = [b for b in results if b in unmerged]
    if not new:
        return None
    # A sweep killed between a push and its fsck left the location log behind.
    fsck_trees(root, [unmerged[b][1] for b in new])
    head, branch = git(root, "rev-parse", "HEAD"), git(root, "symbolic-ref", "--quiet", "HEAD")
    lines = [f"{b}: accuracy {results[b]}" for b in new]
    message = (f"Sweep {sweep.name}: {len(new)} job branch(es) from {sweep.source}\n\n"
               "Each parent after the first is a job's branch (git merge -s ours: this tree is "
               "the branch's own).\n\n" + "\n".join(lines) + "\n")
    # The message on stdin, parents by id: a message naming 10,000 branches is over the 128 KiB
    # a single argument may have.
    parents = [arg for b in new for arg in ("-p", unmerged[b][0])]
    commit = plumbing(root, "commit-tree", f"{head}^{{tree}}", "-p", head, *parents, "-F", "-",
                      stdin=message)
    print(f"  recording {len(new)} job branch(es) as parents of one commit on your branch (what "
          f"`git merge -s ours {' '.join(new[:2])}{' ...' if len(new) > 2 else ''}` records; "
          "your working tree is not touched)", flush=True)
    plumbing(root, "update-ref", "-m", f"sweep {sweep.name}", branch, commit, head)
    plumbing(root, "tag", "--force", sweep.tag, commit)
    print(f"  {branch.removeprefix('refs/heads/')} {commit[:8]}: merge of {len(new)} job "
          f"branch(es), tagged {sweep.tag}", flush=True)
    return commit
