"""The classifiers the tutorial offers, and the one parameter that matters most for each.

Standard library only: `pipeline` reads this table (run messages, the comparison table) without
importing scikit-learn.
"""
from __future__ import annotations

# classifier name -> its main knob: what a reader changes first and a table shows beside it.
MAIN_PARAMETER = {
    "sgd": "max_iter",  # passes over the data (the handbook's 10, then 100)
    "random-forest": "n_estimators",  # trees
    "gradient-boosting": "max_iter",  # boosting rounds
    "linear-svm": "C",  # inverse regularisation strength
    "logistic-regression": "C",
    "svm": "C",
    "ridge": "C",  # alpha = 1 / C
}
NAMES = tuple(MAIN_PARAMETER)
# classifier name -> every knob it reads (imageclf.modeling.make_classifier); the others are
# recorded but change nothing
USES = {
    "sgd": ("max_iter",),
    "random-forest": ("n_estimators",),
    "gradient-boosting": ("max_iter",),
    "linear-svm": ("C", "max_iter"),
    "logistic-regression": ("C", "max_iter"),
    "svm": ("C",),
    "ridge": ("C",),
}
KNOBS = ("max_iter", "n_estimators", "C")


def out_of_range(name: str, value) -> str | None:
    """What ``value`` of knob ``name`` must be, when scikit-learn would refuse it (checked
    before a run instead of by its traceback); None when it fits."""
    if name in ("max_iter", "n_estimators") and isinstance(value, int) and value < 1:
        return "at least 1"
    if name == "C" and isinstance(value, (int, float)) and not value > 0:
        return "above 0"
    return None


def unused_knobs(classifier: str, names) -> list[str]:
    """Which of ``names`` are knobs that ``classifier`` does not read (none for an unknown one:
    the stage itself refuses it)."""
    if classifier not in USES:
        return []
    return [name for name in names if name in KNOBS and name not in USES[classifier]]


def main_parameter(classifier: str) -> str:
    """The main knob of ``classifier`` (max_iter for a name this table does not know)."""
    return MAIN_PARAMETER.get(classifier, "max_iter")
