"""Score predictions and write the metrics files.

``accuracy.json`` holds only the accuracy, as in the handbook, so that ``git diff`` between
branches shows one changed line. ``metrics.json`` beside it adds per-class figures and the
confusion matrix.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support


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
    }


def write_json(path: str | Path, data: dict) -> None:
    """Stable JSON: sorted keys and a final newline, so equal results are equal bytes."""
    Path(path).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def write_metrics(accuracy_path: str | Path, metrics_path: str | Path, metrics: dict) -> None:
    write_json(accuracy_path, {"accuracy": metrics["accuracy"]})
    write_json(metrics_path, metrics)
