import numpy as np
import pytest

from imageclf import features


def stripes(vertical: bool, n: int = 3, size: int = 32) -> np.ndarray:
    """Black and white stripes 4 px wide, vertical (gradient along x) or horizontal."""
    line = ((np.arange(size) // 4) % 2 * 255).astype(np.uint8)
    plane = np.tile(line, (size, 1)) if vertical else np.tile(line[:, None], (1, size))
    return np.repeat(np.stack([plane] * 3, axis=-1)[None], n, axis=0)


def noise(n=5, size=32, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


@pytest.mark.parametrize("spec, kinds", [("raw", ["raw"]), ("hog+color", ["hog", "color"]),
                                         (" texture + patches ", ["texture", "patches"])])
def test_parse(spec, kinds):
    assert features.parse(spec) == kinds


@pytest.mark.parametrize("spec", ["", "pixels", "hog+hog", "hog,color"])
def test_parse_refuses_unknown_or_repeated_kinds_naming_the_known_ones(spec):
    with pytest.raises(features.FeatureError, match="raw, color, hog, texture, patches"):
        features.parse(spec)


def test_color_histograms_tell_sky_from_grass_and_are_hellinger_normalised():
    sky = np.full((1, 16, 16, 3), (90, 150, 230), dtype=np.uint8)
    grass = np.full((1, 16, 16, 3), (60, 160, 50), dtype=np.uint8)
    h_sky, h_grass = features.color_histograms(sky), features.color_histograms(grass)
    assert h_sky.shape == (1, 5 * 72)
    # five regions (image and quadrants), each a square-rooted histogram: squares sum to 1
    assert np.allclose((h_sky.reshape(5, 72) ** 2).sum(axis=1), 1.0)
    assert np.argmax(h_sky[0, :72]) != np.argmax(h_grass[0, :72])


def test_color_lookup_matches_direct_hue_for_primary_colours():
    red, green, blue = (np.full((1, 4, 4, 3), c, dtype=np.uint8) for c in
                        [(255, 0, 0), (0, 255, 0), (0, 0, 255)])
    hue_bins = [np.argmax(features.color_histograms(c)[0, :72]) // 9 for c in (red, green, blue)]
    assert hue_bins == [0, 2, 5]  # hue 0, 1/3, 2/3 in 8 bins


def test_hog_sees_the_direction_of_edges():
    vertical, horizontal = features.hog(stripes(True)), features.hog(stripes(False))
    assert vertical.shape == (3, 3 * 3 * 4 * 9)  # 4x4 cells of 8 px -> 3x3 blocks of 2x2 cells x 9
    cells_v, cells_h = vertical.reshape(-1, 9).sum(axis=0), horizontal.reshape(-1, 9).sum(axis=0)
    # gradient along x: orientation 0 deg (bins 0 and 8 share it); along y: 90 deg (bin 4)
    assert cells_v[[0, 8]].sum() > 0.9 * cells_v.sum()
    assert cells_h[4] > 0.9 * cells_h.sum()


def test_texture_of_a_flat_image_is_one_pattern():
    flat = np.full((2, 10, 10, 3), 128, dtype=np.uint8)
    codes = features.texture(flat).reshape(2, 5, 256)
    assert np.allclose(codes[:, :, 255], 1.0) and np.allclose(codes[:, :, :255], 0.0)


def test_features_do_not_depend_on_the_chunk_size():
    pixels = noise(n=9)
    whole = features.compute(pixels, "hog+color+texture", chunk=256)
    assert np.array_equal(whole, features.compute(pixels, "hog+color+texture", chunk=2))
    assert whole.dtype == np.float32 and whole.shape[0] == 9


def test_memory_mapped_pixels_give_the_same_features(tmp_path):
    pixels = noise()
    np.save(tmp_path / "p.npy", pixels)
    mapped = np.load(tmp_path / "p.npy", mmap_mode="r")
    assert np.array_equal(features.compute(mapped, "color"), features.compute(pixels, "color"))


def test_mirrored_flips_left_and_right():
    pixels = noise(n=2)
    extractor = features.Extractor("raw")
    assert np.array_equal(extractor.transform(pixels, mirrored=True),
                          extractor.transform(pixels[:, :, ::-1].copy()))


def test_raw_features_are_the_handbooks_pixels_in_unit_range():
    pixels = noise(n=2, size=4)
    assert np.allclose(features.Extractor("raw").transform(pixels).reshape(pixels.shape) * 255, pixels)


def test_learned_kinds_need_fitting():
    with pytest.raises(features.FeatureError, match="Extractor.fit"):
        features.compute(noise(), "patches")


def test_no_images_is_a_clear_error():
    with pytest.raises(features.FeatureError, match="No images"):
        features.compute(noise(n=0), "color")
