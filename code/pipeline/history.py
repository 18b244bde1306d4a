"""Read the dataset's history: run records (through datalad's own reader) and what they made."""
from __future__ import annotations

import functools
import json
from pathlib import Path

import nbformat
from datalad.api import Dataset
from datalad.local.rerun import get_run_info

from . import commands


def git(root: Path, *args: str) -> str:
    return commands.output(["git", *args], cwd=root)


def run_record(root: Path, commit: str) -> dict | None:
    """The run record of ``commit`` (any revision), or None for a commit that is not a run."""
    return _record_of(root, git(root, "rev-parse", "--verify", f"{commit}^{{commit}}"))


@functools.lru_cache(maxsize=4096)
def _record_of(root: Path, sha: str) -> dict | None:
    """Cached by commit id: a commit's record never changes."""
    message = git(root, "log", "-1", "--format=%B", sha)
    _, record = get_run_info(Dataset(root), message)
    return record


def run_commits(root: Path, revisions: list[str]) -> list[str]:
    """Run commits reachable from ``revisions`` (refs or ranges), oldest first."""
    return git(root, "log", "--reverse", "--format=%H", "--grep=DATALAD RUNCMD", *revisions).split()


def show(root: Path, commit: str, path: str) -> str | None:
    result = commands.output(["git", "cat-file", "-p", f"{commit}:{path}"], cwd=root)
    return result or None


def producer(root: Path, commit: str, output: str) -> str | None:
    """The newest run commit at or before ``commit`` that declared ``output`` as an output.

    Judged by the records, not by which commits changed the file: a rerun that reproduced a
    file exactly still produced it."""
    for candidate in git(root, "log", "--format=%H", "--grep=DATALAD RUNCMD", commit).split():
        record = run_record(root, candidate)
        if record and output in record.get("outputs", []):
            return candidate
    return None


def notebook_parameters(root: Path, commit: str, executed: str) -> dict:
    """The parameters papermill recorded in an executed notebook's metadata at ``commit``."""
    text = show(root, commit, executed)
    if not text:
        return {}
    notebook = nbformat.reads(text, as_version=4)
    return dict(notebook.metadata.get("papermill", {}).get("parameters", {}))


def container_image(root: Path, commit: str, record: dict) -> str:
    """The short id of the image a run used (from its saved manifest), or 'none'."""
    for path in record.get("extra_inputs", []):
        manifest = show(root, commit, f"{path}/manifest.json")
        if manifest:
            config = json.loads(manifest)[0]["Config"]
            return Path(config).name.split(".")[0][:12]
    return "none"
