"""How the handbook's scripts pair images with labels, and how often they get it wrong.

The handbook's prepare script lists each split with ``Path.rglob("*/*.JPEG")`` and writes the
file names and labels to a CSV in that order: the order the file system returns, folder by
folder. Its train script hands the names to ``skimage.io.imread_collection``, which sorts them
with scikit-image's ``alphanumeric_key`` before decoding, while the labels stay in CSV order. Row
``i`` of the features is then the ``i``-th file in sorted order, learned with the label of the
``i``-th file in listing order. With two folders listed in sorted order that happens to be
right; with ten classes on a real file system most rows get another class's label.

This module replays both orders on a folder of images, without decoding any: the stage
notebooks never pair this way (imageclf.images decodes in table order).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from skimage.io.collection import alphanumeric_key


def handbook_listing(split_dir: str | Path, categories: dict[str, str]) -> pd.DataFrame:
    """The rows the handbook's prepare script writes for ``split_dir``: ``filename``, ``label``,
    in ``rglob`` order (the file system's), for the folders named in ``categories``."""
    rows = [(str(path), categories[path.parent.name])
            for path in Path(split_dir).rglob("*/*.JPEG") if path.parent.name in categories]
    return pd.DataFrame(rows, columns=["filename", "label"])


def handbook_pairing(listing: pd.DataFrame, categories: dict[str, str]) -> pd.DataFrame:
    """Each CSV row beside the image ``imread_collection`` decodes for it: ``label`` (what the
    model is told), ``image`` (the file it sees), ``image_label`` (that file's true class) and
    ``kept`` (the two agree)."""
    decoded = sorted(listing["filename"], key=alphanumeric_key)
    labels = [categories[Path(name).parent.name] for name in decoded]
    return pd.DataFrame({"label": listing["label"].to_numpy(), "image": decoded,
                         "image_label": labels,
                         "kept": listing["label"].to_numpy() == pd.Series(labels).to_numpy()})


def label_mixing(pairing: pd.DataFrame) -> pd.DataFrame:
    """Counts of (true class of the image, label it is trained with): the diagonal is what the
    handbook's model learns right."""
    return pd.crosstab(pairing["image_label"], pairing["label"],
                       rownames=["image shows"], colnames=["trained as"])
