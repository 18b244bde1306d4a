"""``compare``: every evaluation in the history, with what produced it, as one table.

Chad's question, "which accuracy belonged to which parametrization?", answered for all branches
and tags at once (or a commit range): for each evaluate run, the refs that hold it, its name in
the handbook's story (SGD-10, SGD-100, random forest) or the sweep whose job it is, the train and
prepare parameters papermill recorded in the executed notebooks of the runs that made its inputs,
the data version (the subdataset commit), the container image, and every metric it wrote.
The story, the report, the notebooks and the benchmark all read this one table.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import history
from .git import git
from .errors import PipelineError

SWEEP_PREFIX = "sweep/"  # a sweep's job branches are sweep/NAME/JOB


class UnknownColumn(PipelineError):
    """--where or --sort named a column the table does not have."""


def results_of_branches(root: Path) -> dict[str, str]:
    """Each branch's current result: the evaluation its own line ends with."""
    results = {branch: history.current_run(root, branch, "evaluate")
               for branch in history.refs(root, "heads")}
    return {branch: commit for branch, commit in results.items() if commit}


def refs_holding(root: Path, commit: str, results: dict[str, str]) -> list[str]:
    """Branches whose current result is ``commit`` (see :func:`results_of_branches`), and
    tags on it. A tag on a parameter change labels no result; `describe` shows it as the
    nearest tag."""
    held = [branch for branch, result in results.items() if result == commit]
    return held + git(root, "tag", "--points-at", commit).split()


def holders(root: Path, results: dict[str, str]) -> dict[str, list[str]]:
    """What :func:`refs_holding` says, for every commit at once (one git process, not one per
    evaluation; for 10,000 job branches the per-row search alone took minutes)."""
    held: dict[str, list[str]] = {}
    for branch, result in results.items():
        held.setdefault(result, []).append(branch)
    tags: dict[str, list[str]] = {}
    listed = git(root, "for-each-ref", "--format=%(objectname) %(*objectname) "
                         "%(refname:strip=2)", "refs/tags")
    for line in listed.splitlines():
        *ids, name = line.split(" ")
        for target in {i for i in ids if i}:  # the tag's object, and a tag object's target
            tags.setdefault(target, []).append(name)
    return {commit: held.get(commit, []) + tags.get(commit, []) for commit in {*held, *tags}}


CHUNK = 1000  # commits per git call: far below the length a command line may have


def describe_all(root: Path, commits: list[str]) -> dict[str, str]:
    """``git describe --tags --always`` of each commit, in one git call per thousand: describe
    reads every ref each time it starts, so one call per evaluation was quadratic in the job
    branches (89 ms a call with 5,000 of them)."""
    described = {}
    for start in range(0, len(commits), CHUNK):
        chunk = commits[start:start + CHUNK]
        names = git(root, "describe", "--tags", "--always", *chunk).splitlines()
        if len(names) == len(chunk):
            described.update(zip(chunk, names))
        else:  # one commit git could not describe: each alone, as before
            described.update({c: git(root, "describe", "--tags", "--always", c)
                              for c in chunk})
    return described


def commit_dates(root: Path, commits: list[str]) -> dict[str, str]:
    """Each commit's committer date (YYYY-MM-DD), one git call per thousand commits."""
    dates = {}
    for start in range(0, len(commits), CHUNK):
        listed = git(root, "log", "--no-walk=unsorted", "--format=%H %cs",
                             *commits[start:start + CHUNK])
        dates.update(line.split(" ", 1) for line in listed.splitlines())
    return dates


def sweep_of(refs: list[str]) -> str:
    """The NAMEs of the sweeps whose job refs (sweep/NAME/JOB) are among ``refs``."""
    names = {ref.split("/")[1] for ref in refs
             if ref.startswith(SWEEP_PREFIX) and len(ref.split("/")) >= 3}
    return " ".join(sorted(names))


def flatten_metrics(metrics: dict) -> dict:
    row = {"accuracy": metrics.get("accuracy")}
    for label, scores in metrics.get("per_class", {}).items():
        for name in ("precision", "recall", "f1"):
            row[f"{name}[{label}]"] = scores.get(name)
    return row


def evaluations(root: Path, revisions: list[str] | None = None) -> pd.DataFrame:
    """One row per evaluate run reachable from ``revisions`` (default: every branch and tag),
    oldest first. What trained the model and prepared the test table comes from the records:
    the producers of the evaluation's inputs, and the parameters in their executed notebooks."""
    results, names = results_of_branches(root), history.story_names(root)
    holding_refs = holders(root, results)
    commits = history.stage_runs(root, "evaluate", revisions or history.refs(root))
    described, dates = describe_all(root, commits), commit_dates(root, commits)
    rows = []
    for commit in commits:
        upstream = history.upstream_runs(root, commit)
        train_params = history.run_parameters(root, upstream.get("train"))
        prepare_params = history.run_parameters(root, upstream.get("prepare"))
        holding = holding_refs.get(commit, [])
        rows.append({
            "refs": " ".join(holding),
            "model": names.get(commit, ""),
            "sweep": sweep_of(holding),
            "describe": described.get(commit, ""),
            "commit": commit[:8],
            "date": dates.get(commit, ""),
            "classifier": train_params.get("classifier"),
            "features": train_params.get("features"),
            "augment": train_params.get("augment"),
            "max_iter": train_params.get("max_iter"),
            "n_estimators": train_params.get("n_estimators"),
            "C": train_params.get("C"),
            "random_state": train_params.get("random_state"),
            # older records had image_size in train; it is prepare's now
            "image_size": prepare_params.get("image_size", train_params.get("image_size")),
            "categories": ", ".join(map(str, prepare_params.get("categories", {}).values())),
            "data": history.data_version(root, upstream.get("prepare"))[:8],
            "container": history.container_image(root, commit, history.run_record(root, commit)),
            **flatten_metrics(history.json_outputs(root, commit)),
        })
    return pd.DataFrame(rows)


def select(table: pd.DataFrame, where: list[str], sort: str | None) -> pd.DataFrame:
    """Keep rows where NAME=VALUE (compared as text); sort by a column (metrics: best first)."""
    for condition in where:
        name, _, value = condition.partition("=")
        if name not in table.columns:
            raise UnknownColumn(f"Unknown column {name!r}: choose from {', '.join(table.columns)}.")
        table = table[table[name].astype(str) == value]
    if sort:
        if sort not in table.columns:
            raise UnknownColumn(f"Unknown column {sort!r}: choose from {', '.join(table.columns)}.")
        numeric = pd.api.types.is_numeric_dtype(table[sort])
        table = table.sort_values(sort, ascending=not numeric, kind="stable")
    return table


def to_markdown(table: pd.DataFrame) -> str:
    header = "| " + " | ".join(table.columns) + " |"
    rule = "| " + " | ".join("---" for _ in table.columns) + " |"
    body = ["| " + " | ".join("" if pd.isna(v) else str(v) for v in row) + " |"
            for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *body]) + "\n"


def render(table: pd.DataFrame, fmt: str) -> str:
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt == "json":
        return table.to_json(orient="records", indent=2) + "\n"
    if fmt == "markdown":
        return to_markdown(table.round(4))
    brief = [c for c in table.columns if "[" not in c]  # per-class metrics only in the files
    return table[brief].round(4).to_string(index=False) + "\n"


def figure(table: pd.DataFrame, metric: str = "accuracy"):
    """A bar per evaluation: the metric, labelled by the story's model name (else its refs,
    else describe) and classifier."""
    import matplotlib.pyplot as plt

    labels = [f"{r.model or r.refs or r.describe}\n{r.classifier}" for r in table.itertuples()]
    fig, ax = plt.subplots(figsize=(max(4, 1.6 * len(table)), 3.2))
    bars = ax.bar(range(len(table)), table[metric])
    ax.bar_label(bars, fmt="%.3f")
    ax.set_xticks(range(len(table)), labels, fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} per evaluation")
    fig.tight_layout()
    return fig


def plot(table: pd.DataFrame, path: Path, metric: str = "accuracy") -> None:
    """:func:`figure`, written to a PNG file (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = figure(table, metric)
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)
