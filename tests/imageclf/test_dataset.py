import pandas as pd
import pytest

from imageclf import dataset
from imagenette_fixture import GOLF, PARACHUTE, write_tree

CATEGORIES = {GOLF: "golf ball", PARACHUTE: "parachute"}


@pytest.fixture
def raw(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # paths in the tables are relative to the dataset root
    write_tree(tmp_path / "data/raw", {"train": 4, "val": 2})
    return "data/raw/imagenette2-160"


def test_lists_each_category_with_its_label_sorted(raw):
    table = dataset.list_images(raw, "train", CATEGORIES)
    assert list(table.columns) == ["filename", "label"]
    assert len(table) == 8
    assert table["filename"].tolist() == sorted(table["filename"])
    for filename, label in zip(table["filename"], table["label"]):
        assert filename.startswith(raw + "/train/")
        folder = filename.split("/")[-2]
        assert label == CATEGORIES[folder]


def test_order_of_categories_does_not_change_the_table(raw):
    reversed_categories = dict(reversed(list(CATEGORIES.items())))
    assert dataset.list_images(raw, "val", reversed_categories).equals(
        dataset.list_images(raw, "val", CATEGORIES))


def test_written_table_has_handbook_layout_and_reads_back(raw, tmp_path):
    table = dataset.list_images(raw, "val", CATEGORIES)
    dataset.write_split(table, "data/test.csv")
    text = (tmp_path / "data/test.csv").read_text()
    # pandas' default index column, as in the handbook
    assert text.splitlines()[0] == ",filename,label"
    assert text.splitlines()[1].startswith(f"0,{raw}/val/{GOLF}/")
    assert dataset.read_split("data/test.csv").equals(table)


def test_missing_category_folder_says_what_to_do(raw):
    with pytest.raises(dataset.DataLayoutError, match="make data"):
        dataset.list_images(raw, "train", {"n99999999": "unicorn"})


def test_table_without_label_column_is_refused(tmp_path):
    pd.DataFrame({"filename": ["a.JPEG"]}).to_csv(tmp_path / "bad.csv")
    with pytest.raises(dataset.DataLayoutError, match="label"):
        dataset.read_split(tmp_path / "bad.csv")


def test_class_counts_sorted_by_label(raw):
    counts = dataset.class_counts(dataset.list_images(raw, "train", CATEGORIES))
    assert counts.to_dict() == {"golf ball": 4, "parachute": 4}


def test_a_held_out_share_is_stratified_seeded_and_sorted():
    rows = [(f"raw/train/{folder}/{n:03d}.JPEG", label)
            for folder, label in (("a", "golf ball"), ("b", "parachute")) for n in range(40)]
    frame = pd.DataFrame(rows, columns=["filename", "label"])
    kept, held = dataset.hold_out(frame, 0.25, seed=1)
    assert len(held) == 20 and dataset.class_counts(held).tolist() == [10, 10]
    assert set(kept["filename"]) | set(held["filename"]) == set(frame["filename"])
    assert not set(kept["filename"]) & set(held["filename"])
    assert list(held["filename"]) == sorted(held["filename"])
    again = dataset.hold_out(frame, 0.25, seed=1)[1]
    assert again.equals(held) and not dataset.hold_out(frame, 0.25, seed=2)[1].equals(held)


@pytest.mark.parametrize("share", [0, 1, 1.5])
def test_a_held_out_share_outside_zero_and_one_is_refused(share):
    frame = pd.DataFrame({"filename": ["x", "y"], "label": ["a", "b"]})
    with pytest.raises(dataset.DataLayoutError, match="between 0 and 1"):
        dataset.hold_out(frame, share, seed=0)
