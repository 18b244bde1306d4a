"""The room at a glance: one row per participant, read from their clone.

Which steps of the story are done comes from the clone's history (the tags ready4analysis,
SGD-100, random-forest and the branch randomforest, as the story itself decides); the last
run's outcome and error from the clone's outcome log (pipeline/outcomes.py); the accuracies from
the comparison the story prints (compare.evaluations, story.comparison_rows). Read as root and
read only: git takes no optional locks, and the clones' owner differs from root's.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from .. import compare, history, outcomes, story
from .layout import Account

STEPS = (("ready4analysis", f"refs/tags/{history.READY}"),
         ("SGD-100", f"refs/tags/{history.SGD_100}"),
         ("random-forest", f"refs/tags/{history.RANDOM_FOREST}"),
         ("randomforest", f"refs/heads/{history.BRANCH}"))
MODELS = [name for name, _, _ in history.STORY_MODELS]
_cache: dict[str, tuple[str, dict]] = {}  # clone -> (its refs, its accuracies)


def read_only_git() -> None:
    """git run by root in a participant's clone: allowed (another owner), and writing nothing."""
    os.environ["GIT_OPTIONAL_LOCKS"] = "0"
    count = int(os.environ.get("GIT_CONFIG_COUNT", "0"))
    if "safe.directory" not in [os.environ.get(f"GIT_CONFIG_KEY_{i}") for i in range(count)]:
        os.environ[f"GIT_CONFIG_KEY_{count}"] = "safe.directory"
        os.environ[f"GIT_CONFIG_VALUE_{count}"] = "*"
        os.environ["GIT_CONFIG_COUNT"] = str(count + 1)


def accuracies(clone: Path) -> dict[str, float]:
    """The story's models and their accuracies, recomputed only when the clone's refs changed."""
    refs = history.git(clone, "for-each-ref", "--format=%(objectname) %(refname)")
    cached = _cache.get(str(clone))
    if cached and cached[0] == refs:
        return cached[1]
    found = {row["model"]: round(float(row["accuracy"]), 4)
             for row in story.comparison_rows(compare.evaluations(clone))}
    _cache[str(clone)] = (refs, found)
    return found


def row(participant: Account) -> dict:
    clone = Path(participant.clone)
    entry = {"account": participant.account, "name": participant.name,
             "home": participant.home, "clone": participant.clone}
    if not (clone / ".git").is_dir():
        return {**entry, "steps": [], "last_run": None, "accuracy": {},
                "problem": "no clone: `make workshop` makes it anew"}
    refs = set(history.git(clone, "for-each-ref", "--format=%(refname)").split())
    last = outcomes.last(clone)
    return {**entry,
            "steps": [name for name, ref in STEPS if ref in refs],
            "last_run": None if last is None else {
                "command": " ".join(last["command"][3:]), "exit": last["exit"],
                "outcome": "ok" if last["exit"] == 0 else "failed",
                "error": first_line(last.get("error", "")),
                "ended": time.strftime("%H:%M:%S", time.localtime(last["ended"]))},
            "accuracy": accuracies(clone), "problem": ""}


def first_line(text: str, width: int = 100) -> str:
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= width else line[:width - 1] + "…"


def rows(participants: list[Account]) -> list[dict]:
    read_only_git()
    return [row(p) for p in participants]


COLUMNS = ("participant", "steps done", "last run", "SGD-10", "SGD-100", "random forest", "error")


def cells(entry: dict) -> list[str]:
    last = entry["last_run"]
    done = f"{len(entry['steps'])}/{len(STEPS)} " + (entry["steps"][-1] if entry["steps"] else "-")
    outcome = "-" if last is None else f"{last['outcome']} {last['ended']} ({last['command']})"
    scores = [f"{entry['accuracy'][m]:.4f}" if m in entry["accuracy"] else "-" for m in MODELS]
    error = entry["problem"] or (last["error"] if last and last["exit"] else "")
    return [entry["account"], done, outcome, *scores, error]


def render(entries: list[dict]) -> str:
    table = [list(COLUMNS)] + [cells(e) for e in entries]
    widths = [max(len(r[i]) for r in table) for i in range(len(COLUMNS) - 1)]
    lines = []
    for cells_ in table:
        lines.append("  ".join(c.ljust(w) for c, w in zip(cells_, widths)) + "  " + cells_[-1])
    return "\n".join(line.rstrip() for line in lines) + "\n"
