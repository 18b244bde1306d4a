"""Build, train, save and load the classifiers the tutorial compares.

The saved model is a small dict, not a bare estimator, so that evaluate computes the test
images' features exactly as train did (same pixels size, same fitted feature extractor) without
repeating those parameters.

``sgd`` and ``random-forest`` are the handbook's. The others reach further on compact features
(``color``, ``texture``, ``hog``, ``patches``): the linear and kernel ones standardise each
feature first, as they need; trees do not care.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import joblib
import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC

from .features import Extractor

CLASSIFIERS = ("sgd", "random-forest", "gradient-boosting", "linear-svm", "logistic-regression", "svm")


def make_classifier(
    name: str, *, max_iter: int = 10, n_estimators: int = 100, C: float = 1.0, random_state: int = 42
) -> ClassifierMixin:
    """A seeded scikit-learn classifier by name (see ``CLASSIFIERS``).

    ``max_iter``: passes (sgd), boosting rounds (gradient-boosting), solver iterations (linear
    ones); ``n_estimators``: trees of the random forest; ``C``: inverse regularisation strength
    of the linear and kernel models.
    """
    seed = random_state
    if name == "sgd":
        return SGDClassifier(max_iter=max_iter, random_state=seed)
    if name == "random-forest":
        return RandomForestClassifier(n_estimators=n_estimators, random_state=seed, n_jobs=-1)
    if name == "gradient-boosting":
        return HistGradientBoostingClassifier(max_iter=max_iter, random_state=seed)
    if name == "linear-svm":
        return make_pipeline(StandardScaler(), LinearSVC(C=C, max_iter=max_iter, random_state=seed))
    if name == "logistic-regression":
        return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter, random_state=seed))
    if name == "svm":
        return make_pipeline(StandardScaler(), SVC(C=C, random_state=seed))
    raise ValueError(f"Unknown classifier {name!r}: choose one of {', '.join(CLASSIFIERS)}.")


def fit(classifier: ClassifierMixin, features: np.ndarray, labels: np.ndarray) -> list[str]:
    """Fit in place; return the warnings worth showing a reader (SGD stopping early, say)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        classifier.fit(features, labels)
    return [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]


def save_model(path: str | Path, classifier: ClassifierMixin, *, image_size: int, extractor: Extractor) -> None:
    """Write the model file that evaluate reads (joblib, as in the handbook)."""
    bundle = {"classifier": classifier, "image_size": image_size, "features": extractor.spec,
              "extractor": extractor}
    joblib.dump(bundle, path)


def load_model(path: str | Path) -> dict:
    """Read a model file written by :func:`save_model`."""
    bundle = joblib.load(path)
    if not isinstance(bundle, dict) or "extractor" not in bundle:
        raise ValueError(f"{path} is not a model written by the train stage; run train again.")
    return bundle
