"""The figures the stage notebooks show. Each function returns a matplotlib Figure."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .images import load_image


def sample_grid(frame: pd.DataFrame, per_class: int = 6, seed: int = 0, size: int = 96) -> Figure:
    """A row of randomly chosen (seeded) images for each label."""
    labels = sorted(frame["label"].unique())
    fig, axes = plt.subplots(len(labels), per_class, figsize=(1.6 * per_class, 2.0 * len(labels)),
                             squeeze=False)
    rng = np.random.default_rng(seed)
    for row, label in zip(axes, labels):
        files = frame.loc[frame["label"] == label, "filename"].to_numpy()
        chosen = rng.choice(files, size=min(per_class, len(files)), replace=False)
        for ax in row:
            ax.axis("off")
        for ax, path in zip(row, chosen):
            ax.imshow(load_image(path, size))
        row[0].set_title(label, loc="left", fontsize=11)
    fig.suptitle("Sample images per class")
    fig.tight_layout()
    return fig


def class_balance(train_counts: pd.Series, test_counts: pd.Series) -> Figure:
    """Images per class in the train and test splits, side by side."""
    counts = pd.DataFrame({"train": train_counts, "test": test_counts}).fillna(0).astype(int)
    fig, ax = plt.subplots(figsize=(6, 0.6 + 0.5 * len(counts)))
    counts.plot.barh(ax=ax)
    for container in ax.containers:
        ax.bar_label(container, padding=2, fontsize=8)
    ax.set_xlabel("images")
    ax.set_title("Images per class")
    fig.tight_layout()
    return fig


def confusion_matrix(matrix: list[list[int]], labels: list[str], title: str = "Confusion matrix",
                     axes: tuple[str, str] = ("predicted", "true")) -> Figure:
    """The confusion matrix with counts in each cell (rows: true class); ``axes`` names the
    columns and rows of any other such table (images against the labels they were given)."""
    values = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(1.6 + 1.1 * len(labels), 1.2 + 1.0 * len(labels)))
    image = ax.imshow(values, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel(axes[0])
    ax.set_ylabel(axes[1])
    threshold = values.max() / 2 if values.size else 0
    for (i, j), count in np.ndenumerate(values):
        ax.text(j, i, str(count), ha="center", va="center",
                color="white" if count > threshold else "black")
    fig.colorbar(image, ax=ax, shrink=0.8)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def misclassified(frame: pd.DataFrame, predicted: np.ndarray, pixels: np.ndarray,
                  limit: int = 12) -> Figure:
    """The first ``limit`` misclassified test images (rows of ``pixels``), titled
    true -> predicted."""
    wrong = np.flatnonzero(frame["label"].to_numpy() != predicted)[:limit]
    columns = 6
    rows = max(1, -(-len(wrong) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(1.8 * columns, 2.4 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, index in zip(axes.flat, wrong):
        ax.imshow(pixels[index])
        ax.set_title(f"{frame['label'].iloc[index]}\n-> {predicted[index]}", fontsize=8)
    fig.suptitle(f"Misclassified test images (first {len(wrong)})" if len(wrong) else
                 "No misclassified test images")
    fig.tight_layout()
    return fig
