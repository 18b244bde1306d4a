"""Build, train, save and load the model: one scikit-learn Pipeline from pixels to labels.

The saved model is the fitted feature extractor followed by the fitted classifier, so evaluate
calls ``model.predict(pixels)`` and computes the test images' features exactly as train did
(same fitted extractor, and the image size checked) without repeating any parameter.

``sgd`` and ``random-forest`` are the handbook's. The others reach further on compact features
(``color``, ``texture``, ``hog``, ``patches``): the linear and kernel ones standardise each
feature first, as they need; trees do not care. The names and their main knob are listed in
imageclf.classifiers.
"""
from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import joblib
import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC

from .classifiers import NAMES
from .features import Extractor

AUGMENTATIONS = ("none", "flip")  # flip: also learn from every image mirrored left to right


class TrainingError(ValueError):
    """A classifier or augmentation this module does not know."""


class ModelFileError(ValueError):
    """A file that is not a model written by the train stage."""


def make_classifier(
    name: str, *, max_iter: int = 10, n_estimators: int = 100, C: float = 1.0,
    random_state: int = 42,
) -> ClassifierMixin:
    """A seeded scikit-learn classifier by name (see imageclf.classifiers.NAMES).

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
        return make_pipeline(StandardScaler(),
                             LinearSVC(C=C, max_iter=max_iter, random_state=seed))
    if name == "logistic-regression":
        return make_pipeline(StandardScaler(),
                             LogisticRegression(C=C, max_iter=max_iter, random_state=seed))
    if name == "svm":
        return make_pipeline(StandardScaler(), SVC(C=C, random_state=seed))
    raise TrainingError(f"Unknown classifier {name!r}: choose one of {', '.join(NAMES)}.")


def check_augment(augment: str) -> None:
    if augment not in AUGMENTATIONS:
        raise TrainingError(f"Unknown augment {augment!r}: use {' or '.join(AUGMENTATIONS)}.")


def fit_features(extractor: Extractor, pixels: np.ndarray, labels: np.ndarray,
                 augment: str = "none") -> tuple[np.ndarray, np.ndarray]:
    """Fit ``extractor`` on the training ``pixels`` and return the examples a classifier learns
    from: features and labels, and with ``augment="flip"`` every image again, mirrored (the
    extractor learns from the images as they are, never from their mirror images)."""
    check_augment(augment)
    examples = extractor.fit(pixels).transform(pixels)
    if augment == "flip":
        examples = np.vstack([examples, extractor.transform(pixels, mirrored=True)])
        labels = np.concatenate([labels, labels])
    return examples, labels


def fit(classifier: ClassifierMixin, features: np.ndarray, labels: np.ndarray) -> list[str]:
    """Fit in place; return the warnings worth showing a reader (SGD stopping early, say)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        classifier.fit(features, labels)
    return [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]


def assemble(extractor: Extractor, classifier: ClassifierMixin) -> Pipeline:
    """The model: the fitted extractor, then the fitted classifier, as one predictor of pixels."""
    return Pipeline([("features", extractor), ("classifier", classifier)])


def describe(model: Pipeline) -> str:
    extractor = model.named_steps["features"]
    return (f"{model.named_steps['classifier']!r} on {extractor.spec} features of "
            f"{extractor.image_size_} px images")


def save_model(path: str | Path, model: Pipeline) -> None:
    """Write the model file that evaluate reads (joblib, as in the handbook)."""
    joblib.dump(model, path)


def load_model(path: str | Path) -> Pipeline:
    """Read a model file written by :func:`save_model`; refuse anything else, saying what to do."""
    try:
        model = joblib.load(path)
    except (pickle.UnpicklingError, EOFError, ValueError, KeyError, IndexError,
            AttributeError, ModuleNotFoundError) as error:
        raise ModelFileError(f"{path} is not a model file ({type(error).__name__}: {error}); "
                             "run train again.") from None
    if isinstance(model, dict) and "extractor" in model:
        raise ModelFileError(f"{path} holds a model in the format train wrote before the model "
                             "became one predictor (a dict); run train again.")
    if not (isinstance(model, Pipeline) and isinstance(model.steps[0][1], Extractor)):
        raise ModelFileError(f"{path} is not a model written by the train stage; run train again.")
    return model
