"""Read the dataset's history: refs, run records (through datalad's own reader), the stage each
run ran, what produced each file, and the names the handbook's story gives its runs (git
queries through git.py)."""
from __future__ import annotations

import functools
import json
import re
from pathlib import Path, PurePosixPath

import nbformat
from datalad.api import Dataset
from datalad.local.rerun import get_run_info

from .errors import PipelineError
from .git import git, has_ref

FULL_ID = re.compile(r"[0-9a-f]{40}")
RUN_MARKER = "DATALAD RUNCMD"  # datalad's subject prefix of a run commit
EXECUTED_DIR = "executed"  # where a stage run writes its executed notebook

# The refs the handbook's story makes (pipeline.story), and the range of runs each model is.
READY, SGD_100, RANDOM_FOREST, BRANCH = "ready4analysis", "SGD-100", "random-forest", "randomforest"
STORY_MODELS = (("SGD-10", READY, SGD_100), ("SGD-100", SGD_100, RANDOM_FOREST),
                ("random forest", RANDOM_FOREST, BRANCH))


class HistoryError(PipelineError):
    """A revision names nothing the history holds (no commit, no run record)."""


def require_revisions(root: Path, revisions: list[str]) -> None:
    """Refuse a ref or range end that names no commit: without this, a typo reads as an empty
    history ("no run commits")."""
    for revision in revisions:
        for end in filter(None, revision.replace("...", "..").split("..")):
            if not git(root, "rev-parse", "--verify", "--quiet", f"{end}^{{commit}}"):
                story = (" The story's tags and branch come from `make tutorial`."
                         if end in (READY, SGD_100, RANDOM_FOREST, BRANCH) else "")
                raise HistoryError(f"{end!r} names no commit here: give a branch, tag or commit "
                                   f"(`git branch -a`, `git tag` list them).{story}")


def refs(root: Path, kind: str = "") -> list[str]:
    """Short names of the branches (``kind`` "heads"), the tags ("tags"), or both ("")."""
    kinds = [f"refs/{kind}"] if kind else ["refs/heads", "refs/tags"]
    return git(root, "for-each-ref", "--format=%(refname:short)", *kinds).split()


def run_commits(root: Path, revisions: list[str], first_parent: bool = False) -> list[str]:
    """Run commits reachable from ``revisions`` (refs or ranges ``A..B``), oldest first."""
    line = ["--first-parent"] if first_parent else []
    return git(root, "log", "--reverse", "--format=%H", f"--grep={RUN_MARKER}", *line,
               *revisions).split()


def run_record(root: Path, commit: str) -> dict | None:
    """The run record of ``commit`` (any revision), or None for a commit that is not a run."""
    if FULL_ID.fullmatch(commit):  # a commit id from git log: no git process to resolve it
        return _record_of(root, commit)
    sha = git(root, "rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}")
    return _record_of(root, sha) if sha else None


@functools.lru_cache(maxsize=65536)
def _record_of(root: Path, sha: str) -> dict | None:
    """Cached by commit id: a commit's record never changes. Room for a sweep of 10,000 jobs
    (two to three runs each; a record is about a kilobyte)."""
    _, record = get_run_info(Dataset(root), git(root, "log", "-1", "--format=%B", sha))
    return record


def executed_notebooks(record: dict) -> list[str]:
    """The notebooks a run wrote under executed/ (a stage run writes one)."""
    return [path for path in record.get("outputs", [])
            if path.startswith(f"{EXECUTED_DIR}/") and path.endswith(".ipynb")]


def stage_of(record: dict | None) -> str | None:
    """The stage a run ran: the notebooks/NAME.ipynb among its inputs, else the NAME of its
    executed/NAME.ipynb output; None for a run of something else."""
    for path in (record or {}).get("inputs", []):
        notebook = PurePosixPath(path)
        if notebook.parent.as_posix() == "notebooks" and notebook.suffix == ".ipynb":
            return notebook.stem
    executed = executed_notebooks(record or {})
    return PurePosixPath(executed[0]).stem if executed else None


def stage_runs(root: Path, stage: str, revisions: list[str],
               first_parent: bool = False) -> list[str]:
    """The run commits of ``stage`` reachable from ``revisions``, oldest first."""
    return [commit for commit in run_commits(root, revisions, first_parent)
            if stage_of(run_record(root, commit)) == stage]


def current_run(root: Path, ref: str, stage: str) -> str | None:
    """The run of ``stage`` whose results ``ref`` holds: the newest on its own line (first
    parents), so a merge that only records other branches (a sweep's) does not count."""
    runs = stage_runs(root, stage, [ref], first_parent=True)
    return runs[-1] if runs else None


def producer(root: Path, commit: str, path: str) -> str | None:
    """The newest run commit at or before ``commit`` that declared ``path`` as an output.

    Judged by the records, not by which commits changed the file: a rerun that reproduced a
    file exactly still produced it."""
    for candidate in reversed(_runs_up_to(root, commit)):
        if path in (run_record(root, candidate) or {}).get("outputs", []):
            return candidate
    return None


def _runs_up_to(root: Path, commit: str) -> tuple[str, ...]:
    """run_commits of one commit; by id, cached (an evaluation asks once per input)."""
    if FULL_ID.fullmatch(commit):
        return _runs_up_to_id(root, commit)
    return tuple(run_commits(root, [commit]))


@functools.lru_cache(maxsize=256)
def _runs_up_to_id(root: Path, commit: str) -> tuple[str, ...]:
    return tuple(run_commits(root, [commit]))


def upstream_runs(root: Path, commit: str) -> dict[str, str]:
    """The runs that produced the inputs of run ``commit``, by stage: for an evaluation its
    train run (the model) and prepare run (the test table)."""
    upstream = {}
    for path in (run_record(root, commit) or {}).get("inputs", []):
        made_by = producer(root, commit, path)
        if made_by and made_by != commit:
            upstream.setdefault(stage_of(run_record(root, made_by)), made_by)
    return upstream


def file_at(root: Path, commit: str, path: str) -> str | None:
    """The text of ``path`` at ``commit``; None when the commit has no such file."""
    return git(root, "cat-file", "-p", f"{commit}:{path}") or None


def notebook_parameters(root: Path, commit: str, executed: str) -> dict:
    """The parameters papermill recorded in an executed notebook's metadata at ``commit``."""
    text = file_at(root, commit, executed)
    if not text:
        return {}
    notebook = nbformat.reads(text, as_version=4)
    return dict(notebook.metadata.get("papermill", {}).get("parameters", {}))


def run_parameters(root: Path, commit: str | None) -> dict:
    """The parameters papermill recorded for the stage run ``commit`` (in its executed notebook)."""
    executed = executed_notebooks(run_record(root, commit) or {}) if commit else []
    return notebook_parameters(root, commit, executed[0]) if executed else {}


def json_outputs(root: Path, commit: str) -> dict:
    """The JSON files a run wrote (accuracy.json, metrics.json), merged in record order."""
    merged = {}
    for path in (run_record(root, commit) or {}).get("outputs", []):
        if path.endswith(".json"):
            try:
                merged.update(json.loads(file_at(root, commit, path) or "{}"))
            except ValueError:  # an annexed file: git holds a link, not the text
                pass
    return merged


def data_version(root: Path, commit: str | None) -> str:
    """The commit of the subdataset a run read its inputs from (data/raw), at that run."""
    if not commit:
        return ""
    subdatasets = {}  # path -> commit of each gitlink ("MODE commit SHA<TAB>PATH")
    for line in git(root, "ls-tree", "-r", commit).splitlines():
        meta, _, path = line.partition("\t")
        if meta.split()[1:2] == ["commit"]:
            subdatasets[path] = meta.split()[2]
    for path in (run_record(root, commit) or {}).get("inputs", []):
        for folder, version in subdatasets.items():
            if path == folder or path.startswith(f"{folder}/"):
                return version
    return ""


def container_image(root: Path, commit: str, record: dict) -> str:
    """The short id of the image a run used (from its saved manifest), or 'none'. The config's
    file name is its digest, that is the image id, so the (annexed) config need not be present."""
    for path in record.get("extra_inputs", []):
        manifest = file_at(root, commit, f"{path}/manifest.json")
        if manifest:
            config = json.loads(manifest)[0]["Config"]
            return Path(config).name.split(".")[0][:12]
    return "none"


def story_names(root: Path) -> dict[str, str]:
    """The story's name of each of its run commits: SGD-10, SGD-100 and random forest for the
    trainings and evaluations, ready4analysis for the prepare run that tag marks. A model is
    named only where both refs around its runs exist."""
    names = {}
    for name, start, end in STORY_MODELS:
        if has_ref(root, start) and has_ref(root, end):
            names.update({commit: name for commit in run_commits(root, [f"{start}..{end}"])})
    if has_ref(root, READY):
        prepared = git(root, "rev-parse", f"{READY}^{{commit}}")
        if run_record(root, prepared):
            names[prepared] = READY
    return names
