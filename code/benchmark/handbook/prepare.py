"""The handbook's prepare step, as the benchmark's baseline: list two Imagenette folders into CSVs.

Written from the DataLad Handbook's description of its ``code/prepare.py``: walk the train and
val folders with ``Path.rglob("*/*.JPEG")``, keep golf balls and parachutes, and write
data/train.csv and data/test.csv with pandas' default index column. Run from the dataset root.
The handbook edits the folder table for other classes; here ``prepare.py FOLDER=LABEL ...``
replaces it (the benchmark's ten-class section names all ten).
"""
import sys
from pathlib import Path

import pandas as pd

FOLDERS_TO_LABELS = {"n03445777": "golf ball", "n03888257": "parachute"}


def files_and_labels(source: Path) -> tuple[list[str], list[str]]:
    filenames, labels = [], []
    for image_path in source.rglob("*/*.JPEG"):
        folder = image_path.parent.name
        if folder in FOLDERS_TO_LABELS:
            filenames.append(str(image_path))
            labels.append(FOLDERS_TO_LABELS[folder])
    return filenames, labels


def save_as_csv(filenames: list[str], labels: list[str], destination: Path) -> None:
    pd.DataFrame({"filename": filenames, "label": labels}).to_csv(destination)


if __name__ == "__main__":
    if sys.argv[1:]:
        FOLDERS_TO_LABELS = dict(arg.split("=", 1) for arg in sys.argv[1:])
    data = Path("data")
    for split, csv in (("train", "train.csv"), ("val", "test.csv")):
        save_as_csv(*files_and_labels(data / "raw" / "imagenette2-160" / split), data / csv)
