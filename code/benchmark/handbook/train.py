"""The handbook's train step, as the benchmark's baseline (one process, as the handbook runs it).

As the handbook's ``code/train.py``: read data/train.csv, decode every image with
``skimage.io.imread_collection``, resize each to (100, 100, 3) float64 and flatten it, fit a
classifier with default arguments and no seed, and ``joblib.dump`` it to model.joblib. The only
addition is choosing the classifier on the command line (the handbook edits the script):
``train.py sgd 10`` | ``train.py sgd 100`` | ``train.py random-forest``.
"""
import sys

import joblib
import numpy as np
import pandas as pd
from skimage.io import imread_collection
from skimage.transform import resize
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import SGDClassifier


def load_images(filenames: list[str]) -> np.ndarray:
    images = imread_collection(filenames)
    resized = [resize(image, (100, 100, 3)) for image in images]
    return np.array(resized).reshape(len(resized), -1)


def make_classifier(argv: list[str]):
    if argv[:1] == ["random-forest"]:
        return RandomForestClassifier()
    return SGDClassifier(max_iter=int(argv[1]) if len(argv) > 1 else 10)


if __name__ == "__main__":
    table = pd.read_csv("data/train.csv")
    features = load_images(table["filename"].tolist())
    classifier = make_classifier(sys.argv[1:])
    classifier.fit(features, table["label"])
    joblib.dump(classifier, "model.joblib")
