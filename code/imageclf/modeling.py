"""Build, train, save and load the classifiers the tutorial compares.

The saved model is a small dict, not a bare estimator, so that evaluate decodes test images
exactly as train did (same size, same features) without repeating those parameters.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import joblib
import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier

CLASSIFIERS = ("sgd", "random-forest")


def make_classifier(
    name: str, *, max_iter: int = 10, n_estimators: int = 100, random_state: int = 42
) -> ClassifierMixin:
    """A seeded scikit-learn classifier by name (see ``CLASSIFIERS``)."""
    if name == "sgd":
        return SGDClassifier(max_iter=max_iter, random_state=random_state)
    if name == "random-forest":
        return RandomForestClassifier(n_estimators=n_estimators, random_state=random_state, n_jobs=-1)
    raise ValueError(f"Unknown classifier {name!r}: choose one of {', '.join(CLASSIFIERS)}.")


def fit(classifier: ClassifierMixin, features: np.ndarray, labels: np.ndarray) -> list[str]:
    """Fit in place; return the warnings worth showing a reader (SGD stopping early, say)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        classifier.fit(features, labels)
    return [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]


def save_model(path: str | Path, classifier: ClassifierMixin, *, image_size: int, features: str) -> None:
    """Write the model file that evaluate reads (joblib, as in the handbook)."""
    bundle = {"classifier": classifier, "image_size": image_size, "features": features}
    joblib.dump(bundle, path)


def load_model(path: str | Path) -> dict:
    """Read a model file written by :func:`save_model`."""
    bundle = joblib.load(path)
    if not isinstance(bundle, dict) or "classifier" not in bundle:
        raise ValueError(f"{path} is not a model written by the train stage; run train again.")
    return bundle
