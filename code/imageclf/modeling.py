"""Build, train, save and load the model: one scikit-learn Pipeline from pixels to labels.

The saved model is the fitted feature extractor followed by the fitted classifier, so evaluate
calls ``model.predict(pixels)`` and computes the test images' features exactly as train did
(same fitted extractor, and the image size checked) without repeating any parameter.

``sgd`` and ``random-forest`` are the handbook's. The others reach further on compact features
(``color``, ``texture``, ``hog``, ``patches``, ``multiscale``): the linear and kernel ones
standardise each feature first, as they need; trees do not care. ``ridge`` (least squares
against each class, the classifier for many examples of many features) gets its features
standardised by the extractor, in place, so that ten classes fit in memory. The names and their
main knob are listed in imageclf.classifiers.
"""
from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import joblib
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from scipy.linalg import cho_factor, cho_solve
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC

from .classifiers import NAMES
from .features import Extractor

# flip: also learn from every image mirrored left to right; mirror-average: describe every image
# (in training and evaluation) by the mean of its features and its mirror image's.
AUGMENTATIONS = ("none", "flip", "mirror-average")
# Classifiers whose features the extractor standardises (in place: no second copy of them).
ON_STANDARDISED_FEATURES = ("ridge",)
PROGRESS_EVERY = 2000  # feature extraction of more training images than this prints progress


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
    if name == "ridge":
        return RidgeOneHot(C=C)
    raise TrainingError(f"Unknown classifier {name!r}: choose one of {', '.join(NAMES)}.")


class RidgeOneHot(ClassifierMixin, BaseEstimator):
    """Least squares against each class (targets +1/-1, an intercept each), the largest score
    wins: the solution of scikit-learn's RidgeClassifier (tested), solved in place. Its
    Cholesky solver would hold the examples twice (unit sample weights multiply them into a
    copy, its intercept centres another) and the normal equations twice (LAPACK wants them in
    Fortran order): 700 MB more for ten classes. Here the centring is done on the normal
    equations (G - n mean mean'), which are factorised where they lie. ``C`` is the inverse
    regularisation strength, as for the other linear classifiers: alpha = 1/C.
    """

    def __init__(self, C: float = 1.0):
        self.C = C

    def fit(self, features: np.ndarray, labels: np.ndarray) -> "RidgeOneHot":
        features = np.asarray(features)
        self.classes_, codes = np.unique(labels, return_inverse=True)
        targets = np.full((len(labels), len(self.classes_)), -1.0, dtype=features.dtype)
        targets[np.arange(len(labels)), codes] = 1.0
        count = len(features)
        mean = features.mean(axis=0, dtype=np.float64)
        target_mean = targets.mean(axis=0, dtype=np.float64)
        gram = features.T @ features  # float32 for float32 examples, C order
        for start in range(0, len(gram), 512):  # minus n mean mean', a block of rows at a time
            gram[start: start + 512] -= (count * np.outer(mean[start: start + 512], mean)
                                         ).astype(gram.dtype)
        gram.flat[:: gram.shape[0] + 1] += gram.dtype.type(1.0 / self.C)
        moments = (features.T @ targets).astype(np.float64) - count * np.outer(mean, target_mean)
        # symmetric: its transpose is the same matrix in Fortran order, factorised in place
        factor = cho_factor(gram.T, lower=False, overwrite_a=True, check_finite=False)
        coef = cho_solve(factor, moments.astype(gram.dtype), overwrite_b=True,
                         check_finite=False)
        self.coef_ = coef.T.astype(np.float64)
        self.intercept_ = target_mean - self.coef_ @ mean
        return self

    def decision_function(self, features: np.ndarray) -> np.ndarray:
        return np.asarray(features) @ self.coef_.T + self.intercept_

    def predict(self, features: np.ndarray) -> np.ndarray:
        return self.classes_[np.argmax(self.decision_function(features), axis=1)]


def make_extractor(features: str, classifier: str, augment: str = "none", *,
                   codebook_size: int = 256, random_state: int = 42) -> Extractor:
    """The feature extractor for ``features``, set up for ``classifier`` and ``augment``
    (mirror-average, standardised features for ``ridge``)."""
    check_augment(augment)
    return Extractor(features, codebook_size=codebook_size, random_state=random_state,
                     mirror_average=augment == "mirror-average",
                     standardise=classifier in ON_STANDARDISED_FEATURES)


def check_augment(augment: str) -> None:
    if augment not in AUGMENTATIONS:
        raise TrainingError(f"Unknown augment {augment!r}: use {' or '.join(AUGMENTATIONS)}.")


def fit_features(extractor: Extractor, pixels: np.ndarray, labels: np.ndarray,
                 augment: str = "none") -> tuple[np.ndarray, np.ndarray]:
    """Fit ``extractor`` on the training ``pixels`` and return the examples a classifier learns
    from: features and labels, and with ``augment="flip"`` every image again, mirrored (the
    extractor learns from the images as they are, never from their mirror images); with
    ``"mirror-average"`` each image's features are the mean of its own and its mirror image's."""
    check_augment(augment)
    if augment == "mirror-average":
        extractor.set_params(mirror_average=True)
    progress = PROGRESS_EVERY if len(pixels) > PROGRESS_EVERY else 0
    examples = extractor.fit_transform(pixels, mirrored_too=augment == "flip",
                                       progress_every=progress)
    if augment == "flip":
        labels = np.concatenate([labels, labels])
    return examples, labels


def fit(classifier: ClassifierMixin, features: np.ndarray, labels: np.ndarray) -> list[str]:
    """Fit in place; return the warnings worth showing a reader (SGD stopping early, say)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        classifier.fit(features, labels)
    return [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]


# Training examples scored for the training accuracy: all of them up to this many, else a fixed
# seeded sample. Predicting every training example again cost a slow classifier about as much
# as its fit (an RBF SVM on ten classes: over 4 minutes after a 10-minute fit).
TRAINING_SAMPLE = 2000


def training_accuracy(classifier: ClassifierMixin, features: np.ndarray, labels: np.ndarray,
                      sample: int = TRAINING_SAMPLE, seed: int = 0) -> tuple[float, int]:
    """The accuracy of a fitted ``classifier`` on its training examples, and how many were
    scored: every one up to ``sample``, else ``sample`` of them chosen with ``seed`` (sorted, so
    the figure does not depend on anything but the seed and the examples)."""
    if len(labels) > sample:
        chosen = np.sort(np.random.default_rng(seed).choice(len(labels), sample, replace=False))
        features, labels = features[chosen], labels[chosen]
    return float(classifier.score(features, labels)), len(labels)


def assemble(extractor: Extractor, classifier: ClassifierMixin) -> Pipeline:
    """The model: the fitted extractor, then the fitted classifier, as one predictor of pixels."""
    return Pipeline([("features", extractor), ("classifier", classifier)])


def describe(model: Pipeline) -> str:
    extractor = model.named_steps["features"]
    return (f"{model.named_steps['classifier']!r} on {extractor.spec} features of "
            f"{extractor.image_size_} px images")


def save_model(path: str | Path, model: Pipeline) -> None:
    """Write the model file that evaluate reads (joblib, as in the handbook), in a folder made
    if needed (a run's -p model_file may name a new one; a rerun must make it too)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
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
