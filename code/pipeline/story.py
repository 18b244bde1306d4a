"""The handbook's story, replayed in the dataset it runs in (``make tutorial``).

prepare -> tag ready4analysis -> train SGD (max_iter 10) -> evaluate -> max_iter 100 in the
params file, saved with tag SGD-100 -> rerun the train and evaluate records -> branch
randomforest: classifier random forest (tag random-forest), rerun there -> compare.

Each step knows from the dataset's history whether it is done, so running the story again
changes nothing, and an interrupted run continues where it stopped.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml

from . import commands, history, stages

READY, SGD_100, RANDOM_FOREST, BRANCH = "ready4analysis", "SGD-100", "random-forest", "randomforest"
git = history.git


def has_ref(root: Path, ref: str) -> bool:
    return bool(git(root, "rev-parse", "--verify", "--quiet", ref))


def run_commits(root: Path, stage: str, rev_range: str) -> list[str]:
    """Run records of ``stage`` in ``rev_range``, newest first: those whose record declares the
    stage's executed notebook as an output."""
    executed = f"{stages.EXECUTED_DIR}/{stage}.ipynb"
    return [commit for commit in reversed(history.run_commits(root, [rev_range]))
            if executed in (history.run_record(root, commit) or {}).get("outputs", [])]


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

    def rerun(self, commit: str, stage: str) -> None:
        """``datalad rerun`` of one record, with a message that names today's parameters."""
        message = stages.plan(self.root, stage).message()
        commands.run(["datalad", "rerun", "-m", message, commit], cwd=self.root)

    def save_params(self, message: str, tag: str) -> None:
        commands.run(["datalad", "save", "-m", message, "--version-tag", tag, "params/train.yaml"],
                     cwd=self.root)

    def checkout(self, branch: str, create: bool = False) -> None:
        if git(self.root, "branch", "--show-current") != branch:
            commands.run(["git", "checkout", *(["-b"] if create else []), branch], cwd=self.root)

    # Each step: (what it does, whether the history shows it done, how to do it).
    def steps(self) -> list[tuple[str, Callable[[], bool], Callable[[], None]]]:
        root, main = self.root, self.main
        sgd100 = f"{SGD_100}..{main}"
        return [
            ("prepare the two categories", lambda: has_ref(root, READY) or bool(run_commits(root, "prepare", main)),
             lambda: self.stage("prepare")),
            (f"tag {READY}", lambda: has_ref(root, READY),
             lambda: commands.run(["git", "tag", READY], cwd=root)),
            ("train SGD with max_iter 10", lambda: bool(run_commits(root, "train", f"{READY}..{main}")),
             lambda: self.stage("train")),
            ("evaluate SGD-10", lambda: bool(run_commits(root, "evaluate", f"{READY}..{main}")),
             lambda: self.stage("evaluate")),
            (f"set max_iter 100, save with tag {SGD_100}", lambda: has_ref(root, SGD_100),
             lambda: (set_train_param(root, "max_iter", "100"),
                      self.save_params("Train SGD for 100 iterations", SGD_100))),
            ("rerun the train record", lambda: bool(run_commits(root, "train", sgd100)),
             lambda: self.rerun(run_commits(root, "train", f"{READY}..{SGD_100}")[0], "train")),
            ("rerun the evaluate record", lambda: bool(run_commits(root, "evaluate", sgd100)),
             lambda: self.rerun(run_commits(root, "evaluate", f"{READY}..{SGD_100}")[0], "evaluate")),
            (f"branch {BRANCH}", lambda: has_ref(root, f"refs/heads/{BRANCH}"),
             lambda: self.checkout(BRANCH, create=True)),
            (f"switch to a random forest, tag {RANDOM_FOREST}", lambda: has_ref(root, RANDOM_FOREST),
             lambda: (self.checkout(BRANCH), set_train_param(root, "classifier", "random-forest"),
                      self.save_params("Switch to a random forest classifier", RANDOM_FOREST))),
            ("rerun train on the branch", lambda: bool(run_commits(root, "train", f"{RANDOM_FOREST}..{BRANCH}")),
             lambda: (self.checkout(BRANCH),
                      self.rerun(run_commits(root, "train", f"{SGD_100}..{RANDOM_FOREST}")[0], "train"))),
            ("rerun evaluate on the branch", lambda: bool(run_commits(root, "evaluate", f"{RANDOM_FOREST}..{BRANCH}")),
             lambda: (self.checkout(BRANCH),
                      self.rerun(run_commits(root, "evaluate", f"{SGD_100}..{RANDOM_FOREST}")[0], "evaluate"))),
        ]

    def play(self) -> None:
        steps = self.steps()
        todo = [(title, do) for title, done, do in steps if not done()]
        if not todo:
            print("This dataset already holds the whole story (tags ready4analysis, SGD-100, "
                  "random-forest; branch randomforest): nothing to do.")
        for number, (title, do) in enumerate(todo, start=len(steps) - len(todo) + 1):
            if number <= 8:  # everything up to creating the branch happens on the main branch
                self.checkout(self.main)
            print(f"\n=== Step {number}/{len(steps)}: {title}", flush=True)
            started = time.perf_counter()
            do()
            print(f"=== Step {number} took {time.perf_counter() - started:.1f} s", flush=True)
        self.checkout(self.main)
        compare(self.root, self.main)


def results(root: Path, main: str) -> list[dict]:
    """One row per evaluated model of the story: where it is, its parameters, its accuracy."""
    places = [("SGD-10", run_commits(root, "evaluate", f"{READY}..{SGD_100}")[:1]),
              ("SGD-100", [main]), ("random forest", [BRANCH])]
    rows = []
    for label, refs in places:
        if not refs:
            continue
        params = yaml.safe_load(git(root, "show", f"{refs[0]}:params/train.yaml"))
        accuracy = json.loads(git(root, "show", f"{refs[0]}:accuracy.json"))["accuracy"]
        knob = "max_iter" if params["classifier"] == "sgd" else "n_estimators"
        rows.append({"model": label, "ref": refs[0] if refs[0] in (main, BRANCH) else refs[0][:8],
                     "classifier": params["classifier"], "parameters": f"{knob}={params[knob]}",
                     "accuracy": accuracy})
    return rows


def compare(root: Path, main: str) -> None:
    """The handbook's comparison (git diff of accuracy.json between branches) and a table."""
    commands.run(["git", "--no-pager", "diff", main, BRANCH, "--", "accuracy.json"], cwd=root)
    print(f"\n{'model':<14} {'ref':<13} {'classifier':<14} {'parameters':<17} {'accuracy':>8}")
    for row in results(root, main):
        print(f"{row['model']:<14} {row['ref']:<13} {row['classifier']:<14} {row['parameters']:<17} "
              f"{row['accuracy']:>8.4f}")
