import numpy as np
import pandas as pd
import pytest
from PIL import Image
from skimage.io import imread_collection

from imageclf import dataset, features, images, modeling
from imagenette_fixture import COLOURS, GOLF, PARACHUTE, write_tree


def save(path, mode, size=(50, 30), colour=(10, 200, 30), fmt="JPEG"):
    Image.new("RGB", size, colour).convert(mode).save(path, format=fmt)
    return path


@pytest.mark.parametrize("mode", ["RGB", "L", "CMYK"])
def test_any_jpeg_becomes_square_rgb(tmp_path, mode):
    pixels = images.load_image(save(tmp_path / "x.JPEG", mode), 16)
    assert pixels.shape == (16, 16, 3) and pixels.dtype == np.uint8
    if mode == "L":  # grey stays grey: all channels equal
        assert (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all()
    else:
        assert pixels[..., 1].mean() > 150 > pixels[..., 0].mean()


def test_png_named_jpeg_is_read(tmp_path):
    pixels = images.load_image(save(tmp_path / "x.JPEG", "RGB", fmt="PNG"), 8)
    assert pixels.shape == (8, 8, 3)


def test_unreadable_images_are_skipped_and_reported(tmp_path):
    good = save(tmp_path / "good.JPEG", "RGB")
    (tmp_path / "empty.JPEG").write_bytes(b"")
    (tmp_path / "corrupt.JPEG").write_bytes(b"\xff\xd8\xff not a jpeg")
    loaded = images.load_images([tmp_path / "empty.JPEG", good, tmp_path / "corrupt.JPEG"], 8)
    assert loaded.kept.tolist() == [1]
    assert loaded.pixels.shape == (1, 8, 8, 3)
    skipped = [path for path, _ in loaded.skipped]
    assert skipped == [str(tmp_path / "empty.JPEG"), str(tmp_path / "corrupt.JPEG")]


def test_annexed_file_without_content_names_the_fix(tmp_path):
    (tmp_path / "missing.JPEG").symlink_to(tmp_path / ".git/annex/objects/xx")
    with pytest.raises(images.MissingContentError, match="datalad get"):
        images.load_images([tmp_path / "missing.JPEG"], 8)


def test_images_follow_the_table_order_when_folders_are_reversed(tmp_path, monkeypatch):
    """The handbook's bug, pinned down: with the folder order reversed, imread_collection's own
    sorting pairs every image with the other class's label; our loader keeps the CSV order."""
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path, {"train": 10, "val": 6})
    categories = {PARACHUTE: "parachute", GOLF: "golf ball"}  # reversed folder order
    def table(split):  # the handbook's prepare: one folder after another, in the given order
        frames = [dataset.list_images("imagenette2-160", split, {folder: label})
                  for folder, label in categories.items()]
        return pd.concat(frames, ignore_index=True)
    train, test = table("train"), table("val")
    assert train["label"].iloc[0] == "parachute"

    # The handbook's loader reorders the files: its first image is a golf ball (red).
    handbook_first = imread_collection(train["filename"].tolist())[0]
    assert handbook_first[..., 0].mean() > handbook_first[..., 2].mean()

    # Ours: row i is the file of row i; a parachute (blue) first.
    loaded = images.load_images(train["filename"].tolist(), 16)
    assert loaded.pixels[0][..., 2].mean() > loaded.pixels[0][..., 0].mean()
    for row, filename in enumerate(train["filename"]):
        assert (loaded.pixels[row] == images.load_image(filename, 16)).all()

    model = modeling.make_classifier("sgd", max_iter=20, random_state=0)
    modeling.fit(model, features.raw_pixels(loaded.pixels), train["label"].to_numpy())
    test_pixels = images.load_images(test["filename"].tolist(), 16).pixels
    assert model.score(features.raw_pixels(test_pixels), test["label"].to_numpy()) >= 0.9
    red = np.zeros((1, 16, 16, 3), dtype=np.uint8)
    red[..., 0] = COLOURS[GOLF][0]
    assert model.predict(features.raw_pixels(red))[0] == "golf ball"  # class names not swapped


def test_raw_pixels_are_float32_in_unit_range():
    pixels = np.full((2, 4, 4, 3), 255, dtype=np.uint8)
    flat = features.raw_pixels(pixels)
    assert flat.shape == (2, 48) and flat.dtype == np.float32 and flat.max() == 1.0


def test_pixels_file_round_trip_is_memory_mapped_and_checked(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (3, 4, 4, 3), dtype=np.uint8)
    images.save_pixels(tmp_path / "data" / "p.npy", pixels)
    mapped = images.open_pixels(tmp_path / "data" / "p.npy", rows=3)
    assert isinstance(mapped, np.memmap) and np.array_equal(mapped, pixels)
    with pytest.raises(ValueError, match="different prepare runs"):
        images.open_pixels(tmp_path / "data" / "p.npy", rows=4)
    with pytest.raises(FileNotFoundError, match="run the prepare stage"):
        images.open_pixels(tmp_path / "missing.npy")
    np.save(tmp_path / "f.npy", pixels.astype(np.float32))
    with pytest.raises(ValueError, match="RGB pixels"):
        images.open_pixels(tmp_path / "f.npy")


def test_parallel_decoding_gives_the_same_rows_in_the_same_order(tmp_path):
    write_tree(tmp_path, {"train": 7})
    paths = sorted(str(p) for p in (tmp_path / "imagenette2-160").rglob("*.JPEG"))
    (tmp_path / "broken.JPEG").write_bytes(b"not a jpeg")
    paths.insert(5, str(tmp_path / "broken.JPEG"))
    serial = images.load_images(paths, 8, workers=1, chunk=3)
    parallel = images.load_images(paths, 8, workers=2, chunk=3)
    assert np.array_equal(serial.pixels, parallel.pixels) and serial.pixels.shape[0] == 14
    assert parallel.kept.tolist() == [i for i in range(15) if i != 5]
    assert [path for path, _ in parallel.skipped] == [str(tmp_path / "broken.JPEG")]


def test_progress_is_counted_in_list_order(tmp_path, capsys):
    write_tree(tmp_path, {"train": 5})
    paths = sorted(str(p) for p in (tmp_path / "imagenette2-160").rglob("*.JPEG"))
    images.load_images(paths, 8, progress_every=4, workers=2, chunk=3)
    assert capsys.readouterr().out.splitlines() == [
        "loaded 4/10 images", "loaded 8/10 images", "loaded 10/10 images"]


def resident_file_kb() -> int:
    for line in open("/proc/self/status"):
        if line.startswith("RssFile:"):
            return int(line.split()[1])
    return 0


def test_released_rows_leave_the_resident_memory_and_read_the_same(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (400, 100, 100, 3), dtype=np.uint8)
    images.save_pixels(tmp_path / "p.npy", pixels)
    mapped = images.open_pixels(tmp_path / "p.npy")
    before = resident_file_kb()
    total = int(np.asarray(mapped).sum(dtype=np.int64))  # 12 MB of pages now resident
    assert resident_file_kb() - before > 8000
    images.release_pages(mapped, 0, len(mapped))
    assert resident_file_kb() - before < 2000
    assert int(np.asarray(mapped).sum(dtype=np.int64)) == total == int(pixels.sum(dtype=np.int64))
    images.release_pages(pixels, 0, 10)  # an array in memory: nothing to release, no error
