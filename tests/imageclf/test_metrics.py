import hashlib
import json

import numpy as np

from imageclf import metrics


def test_the_digest_is_of_the_predictions_in_table_order():
    predicted = np.array(["golf ball", "parachute", "golf ball"])
    scores = metrics.score(np.array(["golf ball", "golf ball", "golf ball"]), predicted, ["golf ball", "parachute"])
    assert scores["predictions_sha256"] == hashlib.sha256(b"golf ball\nparachute\ngolf ball\n").hexdigest()
    # Same accuracy, different predictions: a different digest.
    swapped = metrics.score(np.array(["golf ball"] * 3), np.roll(predicted, 1), ["golf ball", "parachute"])
    assert swapped["accuracy"] == scores["accuracy"]
    assert swapped["predictions_sha256"] != scores["predictions_sha256"]


def test_metrics_json_holds_the_digest(tmp_path):
    scores = metrics.score(np.array(["a", "b"]), np.array(["a", "a"]), ["a", "b"])
    metrics.write_metrics(tmp_path / "accuracy.json", tmp_path / "metrics.json", scores)
    assert json.loads((tmp_path / "accuracy.json").read_text()) == {"accuracy": 0.5}
    assert json.loads((tmp_path / "metrics.json").read_text())["predictions_sha256"] == metrics.predictions_digest(["a", "a"])
