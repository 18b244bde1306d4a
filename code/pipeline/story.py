"""The handbook's story, replayed in the dataset it runs in (``make tutorial``).

With the handbook's own commands (its use case "reproducible machine-learning analyses"):
prepare, ``git tag ready4analysis``, train SGD (max_iter 10) and evaluate; max_iter 100 in the
params file, ``datalad save --version-tag SGD-100``, ``datalad rerun -m … ready4analysis..SGD-100``;
classifier random forest, ``datalad save --version-tag random-forest``, ``datalad rerun
--branch=randomforest -m … ready4analysis..SGD-100``; ``git diff main randomforest --
accuracy.json``, and a table. Our rerun messages add the parameters that changed.

Each step knows from the dataset's history whether it is done, so running the story again
changes nothing, and an interrupted run continues where it stopped.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd
import yaml
from imageclf.classifiers import main_parameter

from . import commands, compare, history, recovery, stages
from .errors import PipelineError
from .git import git, has_ref
from .history import BRANCH, RANDOM_FOREST, READY, SGD_100, STORY_MODELS


def has_run(root: Path, stage: str, rev_range: str) -> bool:
    """Whether ``rev_range`` holds a run of ``stage``: the history says a step is done."""
    return bool(history.stage_runs(root, stage, [rev_range]))


def set_train_param(root: Path, name: str, value: str) -> None:
    """Edit one line of params/train.yaml, keeping its comments, as a user would."""
    path = root / "params" / "train.yaml"
    text, count = re.subn(rf"^{name}:\s*\S+", f"{name}: {value}", path.read_text(), flags=re.M)
    if count != 1:
        raise stages.StageError(f"params/train.yaml has no line `{name}: ...` to change.")
    path.write_text(text)


@dataclass
class Story:
    root: Path
    container: str
    main: str = "main"

    def stage(self, name: str) -> None:
        stages.run(self.root, name, container=self.container)

    def rerun(self, message: str, since: str, branch: str | None = None) -> None:
        """The handbook's ``datalad rerun`` of the SGD-10 records (train, evaluate) with today's
        params file, its message naming the parameters that changed since the tag ``since``."""
        changed = changed_train_params(self.root, since)
        if changed:
            message += f" ({changed})"
        new_branch = []
        if branch:
            if has_ref(self.root, f"refs/heads/{branch}"):  # an interrupted rerun: continue on it
                self.checkout(branch)
            else:
                new_branch = [f"--branch={branch}"]
        replayed = f"{READY}..{SGD_100}"
        records = [history.run_record(self.root, commit)
                   for commit in history.run_commits(self.root, [replayed])]
        outputs = list(dict.fromkeys(path for record in records for path in record["outputs"]))
        stages.require_clean(self.root)  # datalad's own refusal names no fix
        # Written down like a stage's run: an interrupt leaves the records already recomputed
        # and undoes the one cut short, so that the story continues from a clean dataset.
        on = f" on branch {branch}" if branch else ""  # an interrupt leaves the dataset there
        state = recovery.begin(self.root, "rerun", history.executed_notebooks(records[-1])[0],
                               outputs, stages.FAILED_DIR, what=f"the rerun of {replayed}{on}")
        with stages.settled(self.root, state):
            commands.run(["datalad", "rerun", *new_branch, "-m", message, replayed],
                         cwd=self.root)

    def save_params(self, message: str, tag: str) -> None:
        commands.run(["datalad", "save", "-m", message, "--version-tag", tag, "params/train.yaml"],
                     cwd=self.root)

    def checkout(self, branch: str) -> None:
        if git(self.root, "branch", "--show-current") != branch:
            commands.run(["git", "checkout", branch], cwd=self.root)

    # Each step: (what it does, whether the history shows it done, how to do it).
    def steps(self) -> list[tuple[str, Callable[[], bool], Callable[[], None]]]:
        root, main = self.root, self.main
        return [
            ("prepare the two categories",
             lambda: has_ref(root, READY) or has_run(root, "prepare", main),
             lambda: self.stage("prepare")),
            (f"tag {READY}", lambda: has_ref(root, READY),
             lambda: commands.run(["git", "tag", READY], cwd=root)),
            ("train SGD with max_iter 10", lambda: has_run(root, "train", f"{READY}..{main}"),
             lambda: self.stage("train")),
            ("evaluate SGD-10", lambda: has_run(root, "evaluate", f"{READY}..{main}"),
             lambda: self.stage("evaluate")),
            (f"set max_iter 100, save with tag {SGD_100}", lambda: has_ref(root, SGD_100),
             lambda: (set_train_param(root, "max_iter", "100"),
                      self.save_params("Increase the amount of iterations to 100", SGD_100))),
            (f"rerun {READY}..{SGD_100}: train and evaluate with 100 iterations",
             lambda: has_run(root, "evaluate", f"{SGD_100}..{main}"),
             lambda: self.rerun("Recompute classification with more iterations", since=READY)),
            (f"switch to a random forest, save with tag {RANDOM_FOREST}",
             lambda: has_ref(root, RANDOM_FOREST),
             lambda: (set_train_param(root, "classifier", "random-forest"),
                      self.save_params("Switch to random forest classification", RANDOM_FOREST))),
            (f"rerun {READY}..{SGD_100} on a new branch {BRANCH}",
             lambda: has_run(root, "evaluate", f"{RANDOM_FOREST}..{BRANCH}"),
             lambda: self.rerun("Recompute classification with random forest classifier",
                                since=SGD_100, branch=BRANCH)),
        ]

    def play(self) -> None:
        steps = self.steps()
        todo = [(title, do) for title, done, do in steps if not done()]
        if not todo:
            print("This dataset already holds the whole story (tags ready4analysis, SGD-100, "
                  "random-forest; branch randomforest): nothing to do.")
        for number, (title, do) in enumerate(todo, start=len(steps) - len(todo) + 1):
            self.checkout(self.main)  # every step starts on main; the last one makes its branch
            print(f"\n=== Step {number}/{len(steps)}: {title}", flush=True)
            started = time.perf_counter()
            try:
                do()
            except PipelineError as error:
                error.args = (f"{error} `make tutorial` continues from step {number}.",)
                raise
            print(f"=== Step {number} took {time.perf_counter() - started:.1f} s", flush=True)
        self.checkout(self.main)
        print_comparison(self.root, self.main)


def changed_train_params(root: Path, since: str) -> str:
    """``name=value`` of each line of params/train.yaml that differs from ``since``."""
    before = yaml.safe_load(history.file_at(root, since, "params/train.yaml") or "{}") or {}
    now = yaml.safe_load((root / "params" / "train.yaml").read_text()) or {}
    return ", ".join(f"{name}={value}" for name, value in now.items() if before.get(name) != value)


def plain(value):
    """A table's number as the params file wrote it: 100, not the 100.0 a column with gaps holds."""
    if isinstance(value, float):
        return None if value != value else int(value) if value.is_integer() else value
    return value


def comparison_rows(table: pd.DataFrame) -> list[dict]:
    """The story's models from :func:`compare.evaluations`, in the story's order: where each
    is (the branch holding it, else its commit), its classifier and main knob, its accuracy.
    A model evaluated more than once (an interrupted rerun, repeated) shows its newest."""
    rows = []
    for name, _, _ in STORY_MODELS:
        found = table[table["model"] == name] if "model" in table else table.iloc[0:0]
        if found.empty:
            continue
        row = found.iloc[-1]
        knob = main_parameter(row["classifier"])
        rows.append({"model": name, "ref": row["refs"] or row["commit"],
                     "classifier": row["classifier"],
                     "parameters": f"{knob}={plain(row.get(knob))}", "accuracy": row["accuracy"]})
    return rows


def print_comparison(root: Path, main: str) -> None:
    """The handbook's comparison (git diff of accuracy.json between branches) and a table."""
    commands.run(["git", "--no-pager", "diff", main, BRANCH, "--", "accuracy.json"], cwd=root)
    rows = [{**row, "accuracy": f"{row['accuracy']:.4f}"}
            for row in comparison_rows(compare.evaluations(root))]
    print()
    for line in aligned(rows, ["model", "ref", "classifier", "parameters", "accuracy"]):
        print(line)


def aligned(rows: list[dict], columns: list[str]) -> list[str]:
    """A plain-text table, each column as wide as its widest cell (a ref cell may hold a
    sweep's branch too); the last column, the numbers, right-aligned."""
    widths = {name: max([len(name), *(len(str(row[name])) for row in rows)]) for name in columns}
    def line(cells: dict) -> str:
        *left, last = columns
        return "  ".join([*(f"{cells[name]!s:<{widths[name]}}" for name in left),
                          f"{cells[last]!s:>{widths[last]}}"])
    return [line({name: name for name in columns}), *(line(row) for row in rows)]
