"""Score predictions and write the metrics files.

``accuracy.json`` holds only the accuracy, as in the handbook, so that ``git diff`` between
branches shows one changed line. ``metrics.json`` beside it adds per-class figures and the
confusion matrix, and a digest of every prediction: two models that score the same accuracy
but predict differently are told apart (tests/expected/stand-in.json holds the expected ones).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support


def predictions_digest(predicted) -> str:
    """sha256 of the predicted labels in test-table order, one per line (UTF-8)."""
    return hashlib.sha256("".join(f"{label}\n" for label in predicted).encode()).hexdigest()


def score(true_labels: np.ndarray, predicted: np.ndarray, labels: list[str]) -> dict:
    """Accuracy, per-class precision/recall/F1/support and the confusion matrix (rows: truth)."""
    precision, recall, f1, support = precision_recall_fscore_support(
        true_labels, predicted, labels=labels, zero_division=0
    )
    return {
        "accuracy": float(accuracy_score(true_labels, predicted)),
        "n_test_images": int(len(true_labels)),
        "per_class": {
            label: {
                "precision": float(p), "recall": float(r), "f1": float(f), "support": int(s),
            }
            for label, p, r, f, s in zip(labels, precision, recall, f1, support)
        },
        "labels": list(labels),
        "confusion_matrix": confusion_matrix(true_labels, predicted, labels=labels).tolist(),
        "predictions_sha256": predictions_digest(predicted),
    }


def most_confused(matrix: list[list[int]], labels: list[str], top: int = 5) -> pd.DataFrame:
    """The ``top`` off-diagonal cells of a confusion matrix (rows: truth), most images first
    (ties by name): which class is taken for which, how often, and what share of the true
    class's test images that is."""
    values = np.asarray(matrix)
    cells = [(int(values[i, j]), labels[i], labels[j], values[i, j] / max(values[i].sum(), 1))
             for i in range(len(labels)) for j in range(len(labels)) if i != j and values[i, j]]
    cells.sort(key=lambda cell: (-cell[0], cell[1], cell[2]))
    return pd.DataFrame([{"true": t, "predicted": p, "images": n, "share of true": round(s, 3)}
                         for n, t, p, s in cells[:top]],
                        columns=["true", "predicted", "images", "share of true"])


def write_json(path: str | Path, data: dict) -> None:
    """Stable JSON: sorted keys and a final newline, so equal results are equal bytes; its
    folder made if needed (as a rerun of the run that named it must)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def write_metrics(accuracy_path: str | Path, metrics_path: str | Path, metrics: dict) -> None:
    write_json(accuracy_path, {"accuracy": metrics["accuracy"]})
    write_json(metrics_path, metrics)
