"""List the images of the chosen categories and write the train/test CSVs.

The CSVs follow the handbook: pandas' default index column, then ``filename`` (a path relative
to the dataset root) and ``label``. Rows are sorted by file name so that the same data always
gives the same files, whatever order the file system lists them in.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

IMAGE_SUFFIXES = {".jpeg", ".jpg", ".png"}


class DataLayoutError(ValueError):
    """The raw data does not have the Imagenette layout the parameters ask for."""


def list_images(raw_dir: str | Path, split: str, categories: dict[str, str]) -> pd.DataFrame:
    """Return one row per image of ``raw_dir/split/<folder>`` for each folder in ``categories``.

    ``categories`` maps an Imagenette folder (``n03445777``) to its label (``golf ball``).
    Paths are returned as given (relative when ``raw_dir`` is relative), sorted.
    """
    if not categories:
        raise DataLayoutError("No categories given: set `categories` to {folder: label, ...}.")
    rows = []
    for folder, label in categories.items():
        class_dir = Path(raw_dir) / split / folder
        if not class_dir.is_dir():
            raise DataLayoutError(
                f"{class_dir} does not exist. Is the input data installed (`make data`) and is "
                f"{folder!r} an Imagenette folder name (for example n03445777)?"
            )
        # is_file() would follow annex symlinks and fail on content not yet fetched: list names.
        files = [p for p in class_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES]
        if not files:
            raise DataLayoutError(f"{class_dir} holds no images.")
        rows += [(p.as_posix(), label) for p in files]
    rows.sort()
    return pd.DataFrame(rows, columns=["filename", "label"])


def hold_out(frame: pd.DataFrame, share: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``frame`` into the rows to learn from and a held-out ``share`` of them, stratified
    by label and seeded: a test table for choosing settings without ever looking at the real
    test split. Both are sorted by file name, as :func:`list_images` returns them."""
    from sklearn.model_selection import train_test_split

    if not 0 < share < 1:
        raise DataLayoutError(f"holdout={share}: give a share between 0 and 1 (0.25 holds out a "
                              "quarter of the training images), or 0 to test on test_split.")
    kept, held = train_test_split(frame, test_size=share, stratify=frame["label"],
                                  random_state=seed)
    return (kept.sort_values("filename").reset_index(drop=True),
            held.sort_values("filename").reset_index(drop=True))


def write_split(frame: pd.DataFrame, csv_path: str | Path) -> None:
    """Write ``frame`` as the handbook does (default index column), creating the folder."""
    Path(csv_path).parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(csv_path, lineterminator="\n")


def read_split(csv_path: str | Path) -> pd.DataFrame:
    """Read a CSV written by :func:`write_split`, checking its columns."""
    frame = pd.read_csv(csv_path, index_col=0)
    missing = {"filename", "label"} - set(frame.columns)
    if missing:
        raise DataLayoutError(f"{csv_path} lacks the column(s) {sorted(missing)}; run prepare.")
    return frame


def class_counts(frame: pd.DataFrame) -> pd.Series:
    """Images per label, labels sorted."""
    return frame["label"].value_counts().sort_index()
