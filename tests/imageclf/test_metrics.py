import hashlib
import json

import numpy as np

from imageclf import metrics


def test_the_digest_is_of_the_predictions_in_table_order():
    predicted = np.array(["golf ball", "parachute", "golf ball"])
    truth = np.array(["golf ball"] * 3)
    scores = metrics.score(truth, predicted, ["golf ball", "parachute"])
    expected = hashlib.sha256(b"golf ball\nparachute\ngolf ball\n").hexdigest()
    assert scores["predictions_sha256"] == expected
    # Same accuracy, different predictions: a different digest.
    swapped = metrics.score(truth, np.roll(predicted, 1), ["golf ball", "parachute"])
    assert swapped["accuracy"] == scores["accuracy"]
    assert swapped["predictions_sha256"] != scores["predictions_sha256"]


def test_metrics_json_holds_the_digest(tmp_path):
    scores = metrics.score(np.array(["a", "b"]), np.array(["a", "a"]), ["a", "b"])
    metrics.write_metrics(tmp_path / "accuracy.json", tmp_path / "metrics.json", scores)
    assert json.loads((tmp_path / "accuracy.json").read_text()) == {"accuracy": 0.5}
    written = json.loads((tmp_path / "metrics.json").read_text())
    assert written["predictions_sha256"] == metrics.predictions_digest(["a", "a"])


def test_metrics_files(tmp_path):
    truth = np.array(["a", "a", "b", "b"])
    predicted = np.array(["a", "b", "b", "b"])
    scores = metrics.score(truth, predicted, ["a", "b"])
    assert scores["accuracy"] == 0.75
    assert scores["confusion_matrix"] == [[1, 1], [0, 2]]
    assert scores["per_class"]["a"]["recall"] == 0.5
    metrics.write_metrics(tmp_path / "accuracy.json", tmp_path / "metrics.json", scores)
    assert (tmp_path / "accuracy.json").read_text() == '{\n  "accuracy": 0.75\n}\n'
    assert json.loads((tmp_path / "metrics.json").read_text())["n_test_images"] == 4


def test_most_confused_lists_the_largest_mistakes_first_with_their_share():
    labels = ["church", "golf ball", "parachute"]
    matrix = [[8, 0, 2],   # 2 of 10 churches taken for parachutes
              [3, 6, 1],   # 3 of 10 golf balls for churches, 1 for a parachute
              [0, 2, 8]]
    table = metrics.most_confused(matrix, labels, top=3)
    assert table.to_dict("records") == [
        {"true": "golf ball", "predicted": "church", "images": 3, "share of true": 0.3},
        {"true": "church", "predicted": "parachute", "images": 2, "share of true": 0.2},
        {"true": "parachute", "predicted": "golf ball", "images": 2, "share of true": 0.2},
    ]
    assert metrics.most_confused([[5, 0], [0, 5]], ["a", "b"]).empty
