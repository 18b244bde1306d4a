"""Read run records the way datalad does (not by parsing commit messages ourselves)."""
from __future__ import annotations

from pathlib import Path

from datalad.api import Dataset
from datalad.local.rerun import get_run_info

from helpers import git


def run_record(clone: Path, rev: str = "HEAD") -> dict:
    """The run record of commit ``rev`` (an AssertionError when it has none)."""
    message = git(clone, "log", "-1", "--format=%B", rev)
    _, record = get_run_info(Dataset(clone), message)
    assert record, f"{rev} is not a run commit: {message[:200]}"
    return record


def run_commits(clone: Path, rev_range: str = "HEAD") -> list[str]:
    """Commits with a run record, oldest first."""
    return git(clone, "log", "--reverse", "--format=%H", "--grep=DATALAD RUNCMD", rev_range).split()


def output_hashes(clone: Path, paths: list[str]) -> dict[str, str]:
    """Git object ids of committed files: for annexed files that is the link, i.e. the content key."""
    return {path: git(clone, "rev-parse", f"HEAD:{path}") for path in paths}
