"""``verify REV``: recompute run records and say, per output, whether the result is identical.

Each record is rerun on a scratch branch that starts at its parent (``datalad rerun --branch
--onto``); every declared output is then compared with the commit's own version. The user's
branch is checked out again and the scratch branch deleted, whatever happens.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from container import callformat

from . import commands, history, stages
from .git import git


@dataclass
class Check:
    commit: str
    output: str
    identical: bool
    change: str = ""  # e.g. "accuracy 0.7237 -> 0.7301" when a metrics file differs


def accuracy_change(root: Path, before: str, after: str, output: str) -> str:
    old, new = history.file_at(root, before, output), history.file_at(root, after, output)
    try:
        return f"accuracy {json.loads(old)['accuracy']:.4f} -> {json.loads(new)['accuracy']:.4f}"
    except (TypeError, ValueError, KeyError):
        return ""


def verify_commit(root: Path, commit: str) -> list[Check]:
    record = history.run_record(root, commit)
    if not record:
        raise history.HistoryError(f"{commit[:8]} has no run record: nothing to verify.")
    branch = f"verify-{commit[:8]}"
    original = (git(root, "branch", "--show-current")
                or git(root, "rev-parse", "HEAD"))
    try:
        # A record of the call format that did not pass its outputs to the container adapter
        # gets them from here (as root, the container may write only those).
        with callformat.outputs_given(record.get("outputs", [])):
            commands.run(["datalad", "rerun", "--branch", branch, "--onto", f"{commit}^",
                          commit], cwd=root)
        checks = []
        for output in record.get("outputs", []):
            same = (git(root, "rev-parse", f"HEAD:{output}")
                    == git(root, "rev-parse", f"{commit}:{output}"))
            change = "" if same else accuracy_change(root, commit, "HEAD", output)
            checks.append(Check(commit[:8], output, same, change))
        return checks
    finally:
        commands.run(["git", "checkout", "--quiet", "--force", original], cwd=root, quiet=True)
        git(root, "branch", "-D", branch)


def verify(root: Path, revision: str) -> list[Check]:
    """Verify one run commit, or each run commit of a range ``A..B`` on its first-parent line
    (a sweep's merge commit brings its jobs' records into the range; verify a job by its ref)."""
    history.require_revisions(root, [revision])
    stages.require_clean(root)
    commits = history.run_commits(root, [revision], first_parent=True) if ".." in revision else [
        git(root, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")]
    if not commits or not commits[0]:
        raise history.HistoryError(f"No run commits in {revision!r}.")
    return [check for commit in commits for check in verify_commit(root, commit)]


def summary(checks: list[Check]) -> str:
    """One line per output (identical or DIFFERENT, and how an accuracy moved), then the counts."""
    lines = [f"{c.commit}  {'identical' if c.identical else 'DIFFERENT'}  {c.output}"
             + (f"  ({c.change})" if c.change else "") for c in checks]
    different = sum(not c.identical for c in checks)
    lines.append(f"{len(checks) - different} identical, {different} different")
    return "\n".join(lines)
