import json

import joblib
import numpy as np
import pytest

from imageclf import features, metrics, modeling


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (30, 5)), rng.normal(3, 1, (30, 5))]).astype(np.float32)
    y = np.array(["golf ball"] * 30 + ["parachute"] * 30)
    return X, y


@pytest.mark.parametrize("name", modeling.CLASSIFIERS)
def test_same_seed_gives_byte_identical_model_files(tmp_path, data, name):
    paths = []
    for n in range(2):
        model = modeling.make_classifier(name, max_iter=20, n_estimators=10, random_state=7)
        modeling.fit(model, *data)
        paths.append(tmp_path / f"model{n}.joblib")
        modeling.save_model(paths[-1], model, image_size=100, extractor=features.Extractor("hog+color"))
    assert paths[0].read_bytes() == paths[1].read_bytes()
    bundle = modeling.load_model(paths[0])
    assert bundle["image_size"] == 100 and bundle["features"] == "hog+color"
    assert bundle["extractor"].spec == "hog+color"
    assert bundle["classifier"].score(*data) > 0.9


def test_sgd_stopping_early_is_reported(data):
    model = modeling.make_classifier("sgd", max_iter=1, random_state=0)
    assert any("max_iter" in w for w in modeling.fit(model, *data))


def test_unknown_classifier_lists_the_known_ones():
    with pytest.raises(ValueError, match="sgd, random-forest, gradient-boosting"):
        modeling.make_classifier("deep-net")


def test_seed_is_what_changes_a_seeded_model(data):
    def trained(seed):
        model = modeling.make_classifier("random-forest", n_estimators=5, random_state=seed)
        modeling.fit(model, *data)
        return [tree.tree_.threshold.tolist() for tree in model.estimators_]

    assert trained(1) == trained(1) and trained(1) != trained(2)


def test_foreign_model_file_is_refused(tmp_path):
    joblib.dump([1, 2], tmp_path / "m.joblib")
    with pytest.raises(ValueError, match="train"):
        modeling.load_model(tmp_path / "m.joblib")


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
