"""The handbook's evaluate step, as the benchmark's baseline.

As the handbook's ``code/evaluate.py``: read data/test.csv, decode and resize the images the
way train.py does, predict with model.joblib, and write ``{"accuracy": ...}`` to accuracy.json.
"""
import json

import joblib
import pandas as pd
from sklearn.metrics import accuracy_score

from train import load_images

if __name__ == "__main__":
    table = pd.read_csv("data/test.csv")
    classifier = joblib.load("model.joblib")
    predicted = classifier.predict(load_images(table["filename"].tolist()))
    with open("accuracy.json", "w") as f:
        json.dump({"accuracy": accuracy_score(table["label"], predicted)}, f)
