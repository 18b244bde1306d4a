import joblib
import numpy as np
import pytest
from sklearn.pipeline import Pipeline

from imageclf import classifiers, features, modeling


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (30, 5)), rng.normal(3, 1, (30, 5))]).astype(np.float32)
    y = np.array(["golf ball"] * 30 + ["parachute"] * 30)
    return X, y


def dark_and_light(n: int = 8, size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Dark images labelled golf ball, light ones parachute: any feature set tells them apart."""
    rng = np.random.default_rng(1)
    dark = rng.integers(0, 100, (n, size, size, 3), dtype=np.uint8)
    light = rng.integers(156, 256, (n, size, size, 3), dtype=np.uint8)
    return np.concatenate([dark, light]), np.array(["golf ball"] * n + ["parachute"] * n)


def trained_model(pixels, labels, spec="color", augment="none"):
    extractor = features.Extractor(spec, codebook_size=4, random_state=0)
    examples, example_labels = modeling.fit_features(extractor, pixels, labels, augment)
    classifier = modeling.make_classifier("random-forest", n_estimators=5, random_state=0)
    modeling.fit(classifier, examples, example_labels)
    return modeling.assemble(extractor, classifier)


@pytest.mark.parametrize("name", classifiers.NAMES)
def test_same_seed_gives_byte_identical_model_files(tmp_path, data, name):
    paths = []
    for n in range(2):
        classifier = modeling.make_classifier(name, max_iter=20, n_estimators=10, random_state=7)
        modeling.fit(classifier, *data)
        paths.append(tmp_path / f"model{n}.joblib")
        extractor = features.Extractor("hog+color").fit(np.zeros((1, 16, 16, 3), np.uint8))
        modeling.save_model(paths[-1], modeling.assemble(extractor, classifier))
    assert paths[0].read_bytes() == paths[1].read_bytes()
    model = modeling.load_model(paths[0])
    assert model.named_steps["features"].spec == "hog+color"
    assert model.named_steps["classifier"].score(*data) > 0.9


def test_the_model_predicts_from_pixels_and_survives_a_round_trip(tmp_path):
    pixels, labels = dark_and_light()
    model = trained_model(pixels, labels, "color+patches")
    assert isinstance(model, Pipeline)
    modeling.save_model(tmp_path / "model.joblib", model)
    loaded = modeling.load_model(tmp_path / "model.joblib")
    assert list(loaded.predict(pixels)) == list(labels)
    assert list(loaded.predict(pixels)) == list(model.predict(pixels))
    assert modeling.describe(loaded).endswith("on color+patches features of 16 px images")


def test_the_model_refuses_images_of_another_size():
    pixels, labels = dark_and_light(size=16)
    model = trained_model(pixels, labels)
    other, _ = dark_and_light(size=24)
    with pytest.raises(features.ImageSizeError,
                       match="trained on 16 px images, these are 24x24 px: run prepare and train "
                             "with the same image_size"):
        model.predict(other)


def test_flip_augmentation_adds_every_image_mirrored():
    pixels, labels = dark_and_light(n=3)
    pixels[:, :, :8] = 0  # left halves black: mirrored images differ from the originals
    extractor = features.Extractor("raw")
    examples, example_labels = modeling.fit_features(extractor, pixels, labels, "flip")
    assert examples.shape == (12, 16 * 16 * 3)
    assert list(example_labels) == list(labels) * 2
    assert np.array_equal(examples[:6], features.raw_pixels(pixels))
    assert np.array_equal(examples[6:], features.raw_pixels(pixels[:, :, ::-1].copy()))


def test_no_augmentation_keeps_the_examples_as_they_are():
    pixels, labels = dark_and_light(n=3)
    examples, example_labels = modeling.fit_features(features.Extractor("raw"), pixels, labels)
    assert np.array_equal(examples, features.raw_pixels(pixels)) and example_labels is labels


def test_flip_does_not_change_what_the_extractor_learns():
    pixels, labels = dark_and_light(n=4)
    plain, flipped = (features.Extractor("patches", codebook_size=4, random_state=0)
                      for _ in range(2))
    modeling.fit_features(plain, pixels, labels)
    modeling.fit_features(flipped, pixels, labels, "flip")
    assert np.array_equal(plain.codebook_.centroids, flipped.codebook_.centroids)


def test_unknown_augmentation_is_refused_before_any_work():
    extractor = features.Extractor("raw")
    with pytest.raises(modeling.TrainingError, match="Unknown augment 'rotate': use none or flip"):
        modeling.fit_features(extractor, *dark_and_light(), "rotate")
    assert not hasattr(extractor, "image_size_")


def test_sgd_stopping_early_is_reported(data):
    classifier = modeling.make_classifier("sgd", max_iter=1, random_state=0)
    assert any("max_iter" in w for w in modeling.fit(classifier, *data))


def test_unknown_classifier_lists_the_known_ones():
    with pytest.raises(modeling.TrainingError, match="sgd, random-forest, gradient-boosting"):
        modeling.make_classifier("deep-net")


def test_every_listed_classifier_can_be_made():
    for name in classifiers.NAMES:
        assert modeling.make_classifier(name) is not None


def test_seed_is_what_changes_a_seeded_model(data):
    def trained(seed):
        classifier = modeling.make_classifier("random-forest", n_estimators=5, random_state=seed)
        modeling.fit(classifier, *data)
        return [tree.tree_.threshold.tolist() for tree in classifier.estimators_]

    assert trained(1) == trained(1) and trained(1) != trained(2)


def test_foreign_model_file_is_refused(tmp_path):
    joblib.dump([1, 2], tmp_path / "m.joblib")
    with pytest.raises(modeling.ModelFileError, match="not a model written by the train stage; "
                                                      "run train again"):
        modeling.load_model(tmp_path / "m.joblib")


def test_a_file_that_is_no_pickle_is_refused(tmp_path):
    (tmp_path / "m.joblib").write_text("not a model\n")
    with pytest.raises(modeling.ModelFileError, match="not a model file.*run train again"):
        modeling.load_model(tmp_path / "m.joblib")


def test_a_model_in_the_old_dict_format_is_refused(tmp_path, data):
    """Before the model was one Pipeline, train wrote a dict; evaluate must say to train again."""
    classifier = modeling.make_classifier("sgd", random_state=0)
    modeling.fit(classifier, *data)
    old = {"classifier": classifier, "image_size": 100, "features": "raw",
           "extractor": features.Extractor("raw")}
    joblib.dump(old, tmp_path / "model.joblib")
    with pytest.raises(modeling.ModelFileError, match="a dict.*run train again"):
        modeling.load_model(tmp_path / "model.joblib")


class CountingClassifier:
    """Predicts the first label for every row and remembers how many rows it was asked about."""

    def __init__(self):
        self.rows = 0

    def score(self, features, labels):
        self.rows += len(features)
        return float(np.mean(labels == labels[0]))


def test_training_accuracy_scores_every_example_when_there_are_few(data):
    classifier = modeling.make_classifier("logistic-regression", max_iter=100, random_state=0)
    modeling.fit(classifier, *data)
    assert modeling.training_accuracy(classifier, *data) == (classifier.score(*data), 60)


def test_training_accuracy_of_many_examples_scores_a_fixed_sample():
    labels = np.repeat(np.array(["a", "b", "c"]), 2000)
    features = np.zeros((len(labels), 2), dtype=np.float32)
    counting = CountingClassifier()
    first = modeling.training_accuracy(counting, features, labels, sample=500, seed=3)
    assert counting.rows == 500 and first[1] == 500
    assert modeling.training_accuracy(CountingClassifier(), features, labels, sample=500,
                                      seed=3) == first
    assert 0.2 < first[0] < 0.5  # about a third of a sample drawn from all three labels


@pytest.mark.parametrize("shift", [0.0, 5.0])  # standardised examples, and others
def test_ridge_is_ridgeclassifiers_solution_without_changing_the_examples(shift):
    from sklearn.linear_model import RidgeClassifier

    rng = np.random.default_rng(0)
    labels = np.repeat(np.array(["a", "b", "c"]), 50)
    examples = rng.normal(0, 1, (150, 6)) + np.repeat(np.eye(3, 6) * 2, 50, axis=0) + shift
    examples = examples.astype(np.float32)
    before = examples.copy()
    ridge = modeling.make_classifier("ridge", C=0.1)
    modeling.fit(ridge, examples, labels)
    reference = RidgeClassifier(alpha=10.0).fit(examples, labels)
    assert np.allclose(ridge.decision_function(examples), reference.decision_function(examples),
                       atol=1e-3)
    assert np.array_equal(ridge.predict(examples), reference.predict(examples))
    assert np.array_equal(examples, before)


def test_the_extractor_is_set_up_for_the_classifier_and_augmentation():
    extractor = modeling.make_extractor("multiscale", "ridge", "mirror-average", codebook_size=8)
    assert extractor.standardise and extractor.mirror_average and extractor.codebook_size == 8
    plain = modeling.make_extractor("color", "random-forest")
    assert not plain.standardise and not plain.mirror_average


def test_mirror_average_training_keeps_one_example_per_image():
    pixels, labels = dark_and_light(n=3)
    extractor = modeling.make_extractor("color", "ridge", "mirror-average")
    examples, example_labels = modeling.fit_features(extractor, pixels, labels, "mirror-average")
    assert examples.shape[0] == 6 and example_labels is labels
