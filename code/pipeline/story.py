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
        commands.run(["datalad", "rerun", *new_branch, "-m", message, f"{READY}..{SGD_100}"], cwd=self.root)

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
                      self.save_params("Increase the amount of iterations to 100", SGD_100))),
            (f"rerun {READY}..{SGD_100}: train and evaluate with 100 iterations",
             lambda: bool(run_commits(root, "evaluate", f"{SGD_100}..{main}")),
             lambda: self.rerun("Recompute classification with more iterations", since=READY)),
            (f"switch to a random forest, save with tag {RANDOM_FOREST}", lambda: has_ref(root, RANDOM_FOREST),
             lambda: (set_train_param(root, "classifier", "random-forest"),
                      self.save_params("Switch to random forest classification", RANDOM_FOREST))),
            (f"rerun {READY}..{SGD_100} on a new branch {BRANCH}",
             lambda: bool(run_commits(root, "evaluate", f"{RANDOM_FOREST}..{BRANCH}")),
             lambda: self.rerun("Recompute classification with random forest classifier", since=SGD_100,
                                 branch=BRANCH)),
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
            do()
            print(f"=== Step {number} took {time.perf_counter() - started:.1f} s", flush=True)
        self.checkout(self.main)
        compare(self.root, self.main)


def changed_train_params(root: Path, since: str) -> str:
    """``name=value`` of each line of params/train.yaml that differs from ``since``."""
    before = yaml.safe_load(git(root, "show", f"{since}:params/train.yaml") or "{}") or {}
    now = yaml.safe_load((root / "params" / "train.yaml").read_text()) or {}
    return ", ".join(f"{name}={value}" for name, value in now.items() if before.get(name) != value)


def story_runs(root: Path, main: str = "main") -> list[tuple[str, str, str]]:
    """(name, ref a reader checks out, revision range) of each model of the story: the SGD-100
    reruns sit on main between the tags SGD-100 and random-forest."""
    return [("SGD-10", "", f"{READY}..{SGD_100}"), ("SGD-100", main, f"{SGD_100}..{RANDOM_FOREST}"),
            ("random forest", BRANCH, f"{RANDOM_FOREST}..{BRANCH}")]


def run_names(root: Path, main: str = "main") -> dict[str, str]:
    """The story's name of each of its run commits: ready4analysis, SGD-10, SGD-100, random forest."""
    names = {}
    if not all(has_ref(root, ref) for ref in (READY, SGD_100, RANDOM_FOREST, f"refs/heads/{BRANCH}")):
        return names
    for name, _, rev_range in story_runs(root, main):
        names.update({commit: name for commit in history.run_commits(root, [rev_range])})
    prepare = git(root, "rev-parse", f"{READY}^{{commit}}")
    if history.run_record(root, prepare):
        names[prepare] = READY
    return names


def results(root: Path, main: str) -> list[dict]:
    """One row per evaluated model of the story: where it is, the parameters its training ran
    with (recorded by papermill), its accuracy."""
    rows = []
    for label, ref, rev_range in story_runs(root, main):
        evaluations = run_commits(root, "evaluate", rev_range)
        if not evaluations:
            continue
        trained = history.producer(root, evaluations[0], "model.joblib")
        params = history.notebook_parameters(root, trained, f"{stages.EXECUTED_DIR}/train.ipynb") if trained else {}
        accuracy = json.loads(git(root, "show", f"{evaluations[0]}:accuracy.json"))["accuracy"]
        knob = "n_estimators" if params.get("classifier") == "random-forest" else "max_iter"
        rows.append({"model": label, "ref": ref or evaluations[0][:8], "classifier": params.get("classifier"),
                     "parameters": f"{knob}={params.get(knob)}", "accuracy": accuracy})
    return rows


def compare(root: Path, main: str) -> None:
    """The handbook's comparison (git diff of accuracy.json between branches) and a table."""
    commands.run(["git", "--no-pager", "diff", main, BRANCH, "--", "accuracy.json"], cwd=root)
    print(f"\n{'model':<14} {'ref':<13} {'classifier':<14} {'parameters':<17} {'accuracy':>8}")
    for row in results(root, main):
        print(f"{row['model']:<14} {row['ref']:<13} {row['classifier']:<14} {row['parameters']:<17} "
              f"{row['accuracy']:>8.4f}")
