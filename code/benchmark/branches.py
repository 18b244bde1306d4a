"""Finished sweep jobs without running them: N job branches made with ``git fast-import``, to
measure the git-side phases of a sweep (merge, compare, summary) at 1,000-10,000 branches.

Each fabricated job is what a finished job pushes: on top of the commit before a template's
train run, a copy of that train run (its record and tree) and of its evaluate run with the job's
own accuracy in accuracy.json and metrics.json. The records are the template's, so every reader
(datalad's run-record parser, compare, the summary) sees real run records.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

from pipeline import declaration, history
from pipeline.git import git
from pipeline.process import tool_env
from pipeline.sweep.model import Job, Sweep

IDENT = "Sweep Bench <bench@imageclf.invalid>"


def accuracy_of(index: int, count: int) -> float:
    """Distinct accuracies, the best for the last job."""
    return round(0.5 + 0.4 * (index + 1) / count, 6)


def sweep_of(root: Path, name: str, count: int) -> Sweep:
    jobs = tuple(Job(f"job-{index:05d}", {"train": {"random_state": index}})
                 for index in range(count))
    params = {stage: f"params/{stage}.yaml" for stage in declaration.names(root)}
    return Sweep(name, f"sweeps/{name}.yaml", params, jobs)


def top_entries(root: Path, tree: str) -> list[str]:
    """``M MODE SHA PATH`` lines that rebuild ``tree`` (fast-import takes subtrees by id)."""
    lines = []
    for entry in git(root, "ls-tree", tree).splitlines():
        meta, _, path = entry.partition("\t")
        mode, _, sha = meta.split()
        lines.append(f"M {mode} {sha} {path}")
    return lines


def data(text: str) -> str:
    return f"data {len(text.encode())}\n{text}"


def fabricate(root: Path, name: str, count: int, template: str = "HEAD") -> Sweep:
    """``count`` finished job branches ``sweep/NAME/job-NNNNN`` copied from the last train and
    evaluate runs on ``template``'s first-parent line; the sweep they belong to."""
    train = history.stage_runs(root, "train", [template], first_parent=True)[-1]
    evaluate = history.stage_runs(root, "evaluate", [template], first_parent=True)[-1]
    base = git(root, "rev-parse", f"{train}^")
    messages = {run: git(root, "log", "-1", "--format=%B", run) + "\n"
                for run in (train, evaluate)}
    train_tree = top_entries(root, f"{train}^{{tree}}")
    evaluate_tree = [line for line in top_entries(root, f"{evaluate}^{{tree}}")
                     if not line.endswith((" accuracy.json", " metrics.json"))]
    metrics = json.loads(history.file_at(root, evaluate, "metrics.json") or "{}")
    when = int(git(root, "log", "-1", "--format=%ct", base)) + 1
    stream = []
    sweep = sweep_of(root, name, count)
    for index, job in enumerate(sweep.jobs):
        accuracy = accuracy_of(index, count)
        stamp = f"{IDENT} {when + index} +0000"
        stream += [f"commit refs/heads/{sweep.branch(job)}", f"mark :{2 * index + 1}",
                   f"author {stamp}", f"committer {stamp}", data(messages[train]),
                   f"from {base}", "deleteall", *train_tree, ""]
        stream += [f"commit refs/heads/{sweep.branch(job)}", f"mark :{2 * index + 2}",
                   f"author {stamp}", f"committer {stamp}", data(messages[evaluate]),
                   f"from :{2 * index + 1}", "deleteall", *evaluate_tree,
                   "M 100644 inline accuracy.json", data(json.dumps({"accuracy": accuracy})),
                   "M 100644 inline metrics.json",
                   data(json.dumps({**metrics, "accuracy": accuracy})), ""]
    done = subprocess.run(["git", "fast-import", "--quiet"], cwd=root, env=tool_env(),
                          input="\n".join(stream) + "\n", text=True, capture_output=True)
    if done.returncode != 0:
        raise RuntimeError(f"git fast-import failed: {done.stderr.strip()}")
    return sweep
