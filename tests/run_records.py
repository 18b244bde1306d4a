"""Read run records in the tests with the project's reader (datalad's own, see pipeline.history)."""
from __future__ import annotations

from pathlib import Path

from helpers import git
from pipeline import history


def run_record(clone: Path, rev: str = "HEAD") -> dict:
    """The run record of commit ``rev`` (an AssertionError when it has none)."""
    record = history.run_record(clone, rev)
    assert record, f"{rev} is not a run commit"
    return record


def run_commits(clone: Path, rev_range: str = "HEAD") -> list[str]:
    """Commits with a run record, oldest first."""
    return history.run_commits(clone, [rev_range])


def output_hashes(clone: Path, paths: list[str]) -> dict[str, str]:
    """Git object ids of committed files: for annexed files that is the link, i.e. the content key."""
    return {path: git(clone, "rev-parse", f"HEAD:{path}") for path in paths}
