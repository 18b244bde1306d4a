import warnings

import numpy as np
import pytest
from skimage.feature import hog as skimage_hog
from skimage.feature import local_binary_pattern
from sklearn.exceptions import NotFittedError

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


def test_hog_is_scikit_images_on_the_gray_image():
    pixels = noise(n=2, size=24)
    gray = pixels.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    expected = [skimage_hog(image, orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2),
                            block_norm="L2-Hys") for image in gray]
    assert np.allclose(features.hog(pixels), np.array(expected, dtype=np.float32))


def test_hog_sees_the_direction_of_edges():
    vertical, horizontal = features.hog(stripes(True)), features.hog(stripes(False))
    assert vertical.shape == (3, 3 * 3 * 4 * 9)  # 4x4 cells of 8 px -> 3x3 blocks of 2x2 cells x 9
    cells_v, cells_h = vertical.reshape(-1, 9).sum(axis=0), horizontal.reshape(-1, 9).sum(axis=0)
    # gradient along x: orientation 0 deg (bins 0 and 8 share it); along y: 90 deg (bin 4)
    assert cells_v[[0, 8]].sum() > 0.9 * cells_v.sum()
    assert cells_h[4] > 0.9 * cells_h.sum()


def library_binary_patterns(image: np.ndarray) -> np.ndarray:
    """scikit-image's codes for our 3x3 neighbourhood, in our bit order, border left out.

    The library samples a circle: at radius 1 its diagonal neighbours are interpolated between
    pixels, where ours take the corner pixel (the original 3x3 operator of Ojala et al.). At
    radius sqrt(2) its diagonal points fall exactly on the corners (and its axis points between
    pixels). So its radius-1 codes give our four axis bits, its radius-sqrt(2) codes our four
    diagonal bits.
    """
    # scikit-image's bit p: the point at angle 2*pi*p/8, counter-clockwise from the right.
    library_neighbours = [(1, 2), (0, 2), (0, 1), (0, 0), (1, 0), (2, 0), (2, 1), (2, 2)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # float images: we want exactly this input
        by_radius = {radius: local_binary_pattern(image.astype(np.float64), 8, radius).astype(int)
                     for radius in (1.0, np.sqrt(2))}
    codes = np.zeros(image.shape, dtype=np.int64)
    for bit, neighbour in enumerate(library_neighbours):
        library = by_radius[1.0 if bit % 2 == 0 else np.sqrt(2)]
        codes |= ((library >> bit) & 1) << features.LBP_NEIGHBOURS.index(neighbour)
    return codes[1:-1, 1:-1]


@pytest.mark.parametrize("grey_levels", [None, 3])  # 3 grey levels: many ties with the centre
def test_binary_patterns_are_scikit_images_codes(grey_levels):
    pixels = noise(n=4, size=20)
    if grey_levels:
        pixels = np.repeat(pixels[..., :1] % grey_levels, 3, axis=-1)
    pixels[0] = stripes(True, n=1, size=20)[0]
    gray = features._gray(pixels)
    ours = features.binary_patterns(gray)
    assert ours.shape == (4, 18, 18)
    assert np.array_equal(ours, np.stack([library_binary_patterns(image) for image in gray]))


def test_texture_of_a_flat_image_is_one_pattern():
    flat = np.full((2, 10, 10, 3), 128, dtype=np.uint8)
    codes = features.texture(flat).reshape(2, 5, 256)
    assert np.allclose(codes[:, :, 255], 1.0) and np.allclose(codes[:, :, :255], 0.0)


def test_features_do_not_depend_on_the_chunk_size():
    pixels = noise(n=9)
    extractor = features.Extractor("hog+color+texture").fit(pixels)
    whole = extractor.transform(pixels, chunk=256)
    assert np.array_equal(whole, extractor.transform(pixels, chunk=2))
    assert whole.dtype == np.float32 and whole.shape[0] == 9


def test_memory_mapped_pixels_give_the_same_features(tmp_path):
    pixels = noise()
    np.save(tmp_path / "p.npy", pixels)
    mapped = np.load(tmp_path / "p.npy", mmap_mode="r")
    extractor = features.Extractor("color").fit(pixels)
    assert np.array_equal(extractor.transform(mapped), extractor.transform(pixels))


def test_mirrored_flips_left_and_right():
    pixels = noise(n=2)
    extractor = features.Extractor("raw").fit(pixels)
    assert np.array_equal(extractor.transform(pixels, mirrored=True),
                          extractor.transform(pixels[:, :, ::-1].copy()))


def test_raw_features_are_the_handbooks_pixels_in_unit_range():
    pixels = noise(n=2, size=4)
    raw = features.Extractor("raw").fit(pixels).transform(pixels)
    assert np.allclose(raw.reshape(pixels.shape) * 255, pixels)


def test_learned_kinds_are_learned_from_the_training_images():
    train = noise(n=4)
    extractor = features.Extractor("patches", codebook_size=4, random_state=0).fit(train)
    assert extractor.codebook_.centroids.shape[0] == 4
    assert features.Extractor("color").fit(train).codebook_ is None


def test_no_images_is_a_clear_error():
    with pytest.raises(features.FeatureError, match="No images"):
        features.Extractor("color").fit(noise(n=0))


def test_an_extractor_that_learned_nothing_yet_says_so():
    with pytest.raises(NotFittedError, match="not fitted yet"):
        features.Extractor("color").transform(noise())


def test_pixels_that_are_not_rgb_images_are_a_clear_error():
    with pytest.raises(features.FeatureError, match="Expected RGB images"):
        features.Extractor("color").fit(noise()[..., 0])


def test_an_unknown_spec_is_refused_when_fitting():
    with pytest.raises(features.FeatureError, match="Unknown features 'edges'"):
        features.Extractor("edges").fit(noise())


def test_features_do_not_depend_on_the_number_of_threads(monkeypatch):
    pixels = noise(n=9)
    extractor = features.Extractor("multiscale+color", codebook_size=4).fit(pixels)
    many = extractor.transform(pixels, chunk=2)
    monkeypatch.setattr(features, "workers", lambda: 1)
    assert np.array_equal(many, extractor.transform(pixels, chunk=2))


def test_mirror_average_is_the_mean_of_an_image_and_its_mirror_image():
    pixels = noise(n=4)
    plain = features.Extractor("color+texture").fit(pixels)
    averaged = features.Extractor("color+texture", mirror_average=True).fit(pixels)
    expected = (plain.transform(pixels) + plain.transform(pixels, mirrored=True)) / 2
    assert np.allclose(averaged.transform(pixels), expected, atol=1e-6)
    # left and right no longer matter
    assert np.allclose(averaged.transform(pixels), averaged.transform(pixels, mirrored=True),
                       atol=1e-6)


def test_standardised_examples_are_learned_in_one_pass_and_applied_to_new_images():
    pixels, others = noise(n=12), noise(n=3, seed=1)
    extractor = features.Extractor("color+texture", standardise=True)
    examples = extractor.fit_transform(pixels, mirrored_too=True)
    assert examples.shape[0] == 24
    used = examples.std(axis=0) > 0
    assert np.allclose(examples.mean(axis=0), 0, atol=1e-5)
    assert np.allclose(examples.std(axis=0)[used], 1, atol=1e-3)
    plain = features.Extractor("color+texture").fit(pixels)
    raw = np.vstack([plain.transform(pixels), plain.transform(pixels, mirrored=True)])
    assert np.allclose(extractor.transform(others),
                       (plain.transform(others) - raw.mean(axis=0)) / np.where(used,
                                                                                raw.std(axis=0), 1),
                       atol=1e-4)


def test_long_extractions_report_progress(capsys):
    features.Extractor("color").fit(noise(n=5)).transform(noise(n=5), chunk=2, progress_every=2)
    assert capsys.readouterr().out.splitlines() == [
        "features of 2/5 images", "features of 4/5 images", "features of 5/5 images"]


def test_models_saved_before_the_options_existed_load_and_transform():
    pixels = noise(n=3)
    old = features.Extractor("color").fit(pixels)
    for name in ("mirror_average", "standardise", "scales_", "mean_", "scale_"):
        old.__dict__.pop(name, None)  # what unpickling an older model gives
    assert np.array_equal(old.transform(pixels), features.Extractor("color").fit(pixels)
                          .transform(pixels))
    assert "Extractor(spec='color')" == repr(old)
