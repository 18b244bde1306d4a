"""The figures, drawn without a display (Agg), checked for what a reader sees on them."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from imageclf import plots  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def texts(ax) -> list[str]:
    return [text.get_text() for text in ax.texts]


def test_class_balance_shows_train_and_test_counts_per_class():
    train = pd.Series({"golf ball": 9, "parachute": 7})
    test = pd.Series({"golf ball": 4, "parachute": 3})
    ax = plots.class_balance(train, test).axes[0]
    assert [label.get_text() for label in ax.get_yticklabels()] == ["golf ball", "parachute"]
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["train", "test"]
    widths = [[bar.get_width() for bar in bars] for bars in ax.containers]
    assert widths == [[9, 7], [4, 3]]
    assert ax.get_xlabel() == "images" and ax.get_title() == "Images per class"


def test_class_balance_counts_a_class_missing_from_one_split_as_zero():
    ax = plots.class_balance(pd.Series({"a": 2, "b": 1}), pd.Series({"a": 1})).axes[0]
    assert [[bar.get_width() for bar in bars] for bars in ax.containers] == [[2, 1], [1, 0]]


def test_confusion_matrix_writes_every_count_in_its_cell():
    figure = plots.confusion_matrix([[5, 1], [2, 7]], ["golf ball", "parachute"])
    ax = figure.axes[0]
    assert texts(ax) == ["5", "1", "2", "7"]
    assert [(round(t.get_position()[0]), round(t.get_position()[1])) for t in ax.texts] == \
        [(0, 0), (1, 0), (0, 1), (1, 1)]  # (column: predicted, row: true)
    assert ax.get_xlabel() == "predicted" and ax.get_ylabel() == "true"
    assert [label.get_text() for label in ax.get_yticklabels()] == ["golf ball", "parachute"]
    assert len(figure.axes) == 2  # the matrix and its colour bar


def test_misclassified_shows_the_wrong_ones_titled_truth_then_prediction():
    frame = pd.DataFrame({"label": ["a", "b", "a", "b"]})
    pixels = np.zeros((4, 8, 8, 3), dtype=np.uint8)
    figure = plots.misclassified(frame, np.array(["a", "a", "b", "b"]), pixels)
    shown = [ax for ax in figure.axes if ax.images]
    assert [ax.get_title() for ax in shown] == ["b\n-> a", "a\n-> b"]
    assert figure._suptitle.get_text() == "Misclassified test images (first 2)"


def test_misclassified_stops_at_the_limit_and_says_when_there_are_none():
    frame = pd.DataFrame({"label": ["a"] * 20})
    pixels = np.zeros((20, 8, 8, 3), dtype=np.uint8)
    limited = plots.misclassified(frame, np.array(["b"] * 20), pixels, limit=7)
    assert sum(bool(ax.images) for ax in limited.axes) == 7
    perfect = plots.misclassified(frame, np.array(["a"] * 20), pixels)
    assert not any(ax.images for ax in perfect.axes)
    assert perfect._suptitle.get_text() == "No misclassified test images"


def test_sample_grid_has_a_row_per_label_of_seeded_samples(tmp_path):
    rows = []
    for label in ("golf ball", "parachute"):
        for n in range(6):  # each image its own colour: the samples can be told apart
            path = tmp_path / f"{label}-{n}.png"
            colour = (250 - 40 * n,) * 3 if label == "golf ball" else (200, 0, 40 * n)
            Image.new("RGB", (20, 20), colour).save(path)
            rows.append((str(path), label))
    frame = pd.DataFrame(rows, columns=["filename", "label"])
    figure = plots.sample_grid(frame, per_class=3, seed=0, size=16)
    grid = np.array(figure.axes).reshape(2, 3)
    assert [row[0].get_title(loc="left") for row in grid] == ["golf ball", "parachute"]
    assert all(len(ax.images) == 1 for ax in grid.flat)
    assert all(tuple(ax.images[0].get_array()[0, 0, :2]) == (200, 0) for ax in grid[1])

    def shown(fig):
        return [ax.images[0].get_array()[0, 0].tolist() for ax in fig.axes]

    assert shown(plots.sample_grid(frame, per_class=3, seed=0, size=16)) == shown(figure)
    assert shown(plots.sample_grid(frame, per_class=3, seed=1, size=16)) != shown(figure)
