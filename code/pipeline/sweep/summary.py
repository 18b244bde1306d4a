"""``sweep NAME --summary``: the sweep's jobs as a Markdown table and a plot, best job marked.

Built on ``compare.evaluations`` over the job branches (the run records and the parameters
papermill recorded), grouped by job here; the table shows the parameters the sweep varies.
Written to results/sweeps/NAME.md and .png (git-ignored) and printed.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .. import compare
from .merge import job_results
from .model import RESULTS_DIR, Sweep, value_name


def table(root: Path, sweep: Sweep) -> pd.DataFrame:
    """One row per job: its varying parameters, accuracy and commit ('' where it has no result)."""
    branches = {job.name: sweep.branch(job) for job in sweep.jobs}
    present = list(job_results(root, sweep))
    found = compare.evaluations(root, present) if present else pd.DataFrame()
    by_branch = {}
    for row in found.to_dict("records"):
        for ref in str(row.get("refs", "")).split():
            by_branch.setdefault(ref, row)
    rows = []
    for job in sweep.jobs:
        evaluation = by_branch.get(branches[job.name], {})
        row = {"job": job.name}
        for stage, name in sweep.varying():
            value = job.stage_overrides(stage).get(name)
            row[name] = "" if value is None else value_name(value)
        row["accuracy"] = evaluation.get("accuracy")
        row["commit"] = evaluation.get("commit", "")
        rows.append(row)
    return pd.DataFrame(rows)


def to_markdown(frame: pd.DataFrame) -> str:
    """The table with the best accuracy in bold and jobs without a result marked."""
    best = frame["accuracy"].max() if frame["accuracy"].notna().any() else None
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "| " + " | ".join("---:" if c == "accuracy" else "---" for c in frame.columns) + " |"
    body = []
    for row in frame.to_dict("records"):
        cells = []
        for column, value in row.items():
            if column == "accuracy":
                text = "no result" if pd.isna(value) else f"{value:.4f}"
                text = f"**{text}**" if best is not None and value == best else text
            else:
                text = str(value)
            cells.append(text.replace("|", "\\|"))
        body.append("| " + " | ".join(cells) + " |")
    return "\n".join([header, rule, *body]) + "\n"


def figure(frame: pd.DataFrame, varying: list[str]):
    """Accuracy per value of the first varied parameter, a bar per value of the others; the
    best job's bar is outlined and labelled."""
    import matplotlib.pyplot as plt

    first = varying[0] if varying else "job"
    others = varying[1:]
    groups = list(dict.fromkeys(frame[first]))
    combination = frame[others].astype(str).apply(
        lambda row: ", ".join(f"{k}={v}" for k, v in row.items() if v), axis=1) if others else None
    series = list(dict.fromkeys(combination)) if others else [""]
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(max(5, 0.9 * len(frame) + 2), 3.6))
    best = frame["accuracy"].max()
    for i, label in enumerate(series):
        part = frame if not others else frame[combination == label]
        xs = [groups.index(v) + (i - (len(series) - 1) / 2) * width for v in part[first]]
        values = part["accuracy"].fillna(0).tolist()
        bars = ax.bar(xs, values, width * 0.95, label=label or None)
        for bar, value in zip(bars, part["accuracy"]):
            if pd.notna(value) and value == best:
                bar.set_edgecolor("black")
                bar.set_linewidth(2.5)
                ax.annotate(f"best {value:.3f}", (bar.get_x() + bar.get_width() / 2, value),
                            xytext=(0, 3), textcoords="offset points", ha="center", fontsize=8)
    ax.set_xticks(range(len(groups)), [str(g) for g in groups], fontsize=8)
    ax.set_xlabel(first)
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.2)  # room for the legend above the bars
    if others:
        ax.legend(fontsize=7, loc="upper left", ncol=min(3, len(series)), frameon=False)
    fig.tight_layout()
    return fig


def write(root: Path, sweep: Sweep) -> str:
    """Write results/sweeps/NAME.md and .png; return the text to print."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = table(root, sweep)
    folder = root / RESULTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    title = f"## Sweep {sweep.name} ({sweep.source})\n\n"
    if sweep.description:
        title += f"{sweep.description}\n\n"
    text = title + to_markdown(frame)
    (folder / f"{sweep.name}.md").write_text(text)
    plot = folder / f"{sweep.name}.png"
    varying = [name for _, name in sweep.varying()]
    fig = figure(frame, varying)
    fig.savefig(plot, dpi=100, metadata={"Software": None})
    plt.close(fig)
    done = int(frame["accuracy"].notna().sum())
    return (text + f"\n{done} of {len(frame)} jobs have a result. Table: "
            f"{RESULTS_DIR}/{sweep.name}.md, plot: {RESULTS_DIR}/{sweep.name}.png; "
            f"every job branch: git log {sweep.tag}\n")
