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
}
NAMES = tuple(MAIN_PARAMETER)


def main_parameter(classifier: str) -> str:
    """The main knob of ``classifier`` (max_iter for a name this table does not know)."""
    return MAIN_PARAMETER.get(classifier, "max_iter")
