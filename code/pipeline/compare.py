"""``compare``: every evaluation in the history, with what produced it, as one table.

Chad's question, "which accuracy belonged to which parametrization?", answered for all branches
and tags at once (or a commit range): for each evaluate run, the refs that hold it, the train and
prepare parameters papermill recorded in their executed notebooks, the data version (the
subdataset commit), the container image, and every metric of metrics.json.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from . import history

EVALUATION_OUTPUT = "accuracy.json"


def all_refs(root: Path, kind: str = "") -> list[str]:
    kinds = [f"refs/{kind}"] if kind else ["refs/heads", "refs/tags"]
    return history.git(root, "for-each-ref", "--format=%(refname:short)", *kinds).split()


def refs_holding(root: Path, commit: str, branches: list[str]) -> list[str]:
    """Branches whose current result is ``commit`` (their newest evaluation), and tags on it.
    A tag on a parameter change labels no result; `describe` shows it as the nearest tag."""
    held = [b for b in branches if history.producer(root, b, EVALUATION_OUTPUT) == commit]
    return held + history.git(root, "tag", "--points-at", commit).split()


def flatten_metrics(metrics: dict) -> dict:
    row = {"accuracy": metrics.get("accuracy")}
    for label, scores in metrics.get("per_class", {}).items():
        for name in ("precision", "recall", "f1"):
            row[f"{name}[{label}]"] = scores.get(name)
    return row


def evaluations(root: Path, revisions: list[str] | None = None) -> pd.DataFrame:
    """One row per evaluate run reachable from ``revisions`` (default: every branch and tag)."""
    refs, branches = all_refs(root), all_refs(root, "heads")
    rows = []
    for commit in history.run_commits(root, revisions or refs):
        record = history.run_record(root, commit)
        if not record or EVALUATION_OUTPUT not in record.get("outputs", []):
            continue
        train = history.producer(root, commit, "model.joblib")
        prepare = history.producer(root, commit, "data/test.csv")
        train_params = history.notebook_parameters(root, train, "executed/train.ipynb") if train else {}
        prepare_params = history.notebook_parameters(root, prepare, "executed/prepare.ipynb") if prepare else {}
        metrics = json.loads(history.show(root, commit, "metrics.json") or "{}")
        rows.append({
            "refs": " ".join(refs_holding(root, commit, branches)),
            "describe": history.git(root, "describe", "--tags", "--always", commit),
            "commit": commit[:8],
            "date": history.git(root, "log", "-1", "--format=%cs", commit),
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
            "data": (history.git(root, "rev-parse", f"{commit}:data/raw") or "")[:8],
            "container": history.container_image(root, commit, record),
            **flatten_metrics(metrics),
        })
    return pd.DataFrame(rows)


def select(table: pd.DataFrame, where: list[str], sort: str | None) -> pd.DataFrame:
    """Filter with NAME=VALUE pairs (compared as text) and sort by a column (metrics: best first)."""
    for condition in where:
        name, _, value = condition.partition("=")
        if name not in table.columns:
            raise ValueError(f"Unknown column {name!r}: choose from {', '.join(table.columns)}.")
        table = table[table[name].astype(str) == value]
    if sort:
        if sort not in table.columns:
            raise ValueError(f"Unknown column {sort!r}: choose from {', '.join(table.columns)}.")
        numeric = pd.api.types.is_numeric_dtype(table[sort])
        table = table.sort_values(sort, ascending=not numeric, kind="stable")
    return table


def to_markdown(table: pd.DataFrame) -> str:
    header = "| " + " | ".join(table.columns) + " |"
    rule = "| " + " | ".join("---" for _ in table.columns) + " |"
    body = ["| " + " | ".join("" if pd.isna(v) else str(v) for v in row) + " |" for row in table.itertuples(index=False)]
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
    """A bar per evaluation: the metric, labelled by ref (or describe) and classifier."""
    import matplotlib.pyplot as plt

    labels = [f"{r.refs or r.describe}\n{r.classifier}" for r in table.itertuples()]
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
