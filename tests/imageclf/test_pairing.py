"""imageclf.pairing replays the handbook's two orders: its CSV in listing order, its images in
scikit-image's sorted order."""
import pandas as pd
from skimage.io import ImageCollection

from imageclf import pairing
from imagenette_fixture import GOLF, PARACHUTE, write_tree

CATEGORIES = {GOLF: "golf ball", PARACHUTE: "parachute", "n01440764": "tench"}


def test_the_listing_is_the_handbooks_csv_rows(tmp_path):
    top = write_tree(tmp_path, {"train": 3}, folders=tuple(CATEGORIES))
    (top / "train" / GOLF / "notes.txt").write_text("not an image")
    listing = pairing.handbook_listing(top / "train", CATEGORIES)
    assert len(listing) == 9 and set(listing["label"]) == set(CATEGORIES.values())
    assert all(CATEGORIES[name.split("/")[-2]] == label
               for name, label in zip(listing["filename"], listing["label"]))


def test_images_come_in_the_order_imread_collection_decodes_them(tmp_path):
    top = write_tree(tmp_path, {"train": 12}, folders=tuple(CATEGORIES))
    listing = pairing.handbook_listing(top / "train", CATEGORIES)
    listing = listing.iloc[::-1].reset_index(drop=True)  # any listing order
    pairs = pairing.handbook_pairing(listing, CATEGORIES)
    assert list(pairs["image"]) == list(ImageCollection(list(listing["filename"])).files)


def test_labels_survive_only_where_the_listing_happens_to_be_sorted():
    names = [f"r/{folder}/{folder}_{n}.JPEG" for folder in sorted(CATEGORIES) for n in (1, 2)]
    sorted_listing = pd.DataFrame({"filename": names,
                                   "label": [CATEGORIES[n.split("/")[1]] for n in names]})
    assert pairing.handbook_pairing(sorted_listing, CATEGORIES)["kept"].all()
    # the file system listed the folders the other way round: only the middle folder's rows
    # (golf balls: n03445777 sorts between tench and parachute) keep their label
    reversed_folders = pd.concat([sorted_listing.iloc[4:], sorted_listing.iloc[2:4],
                                  sorted_listing.iloc[:2]], ignore_index=True)
    pairs = pairing.handbook_pairing(reversed_folders, CATEGORIES)
    assert pairs["kept"].sum() == 2
    mixing = pairing.label_mixing(pairs)
    assert mixing.loc["tench", "parachute"] == 2 and mixing.to_numpy().sum() == 6
