import numpy as np
import pytest

from imageclf import features, multiscale
from test_patches import two_textures


def test_shrink_is_the_mean_of_each_block_in_unit_range():
    pixels = np.random.default_rng(0).integers(0, 256, (2, 12, 12, 3), dtype=np.uint8)
    small = multiscale.shrink(pixels, 3)
    expected = pixels.reshape(2, 4, 3, 4, 3, 3).mean(axis=(2, 4)) / 255
    assert small.dtype == np.float32 and np.allclose(small, expected, atol=1e-6)


@pytest.mark.parametrize("size, factors", [(100, [2, 4]), (128, [2, 4]), (48, [1, 2])])
def test_the_two_scales_are_at_most_64_and_32_px(size, factors):
    assert [multiscale.factor_for(size, working) for working, _ in multiscale.SCALES] == factors


def test_codebooks_are_seeded_and_one_per_scale():
    pixels, _ = two_textures(12, 0)
    first = multiscale.MultiScaleCodebook.fit(pixels, size=8, seed=3)
    again = multiscale.MultiScaleCodebook.fit(pixels, size=8, seed=3)
    other = multiscale.MultiScaleCodebook.fit(pixels, size=8, seed=4)
    assert [scale.factor for scale in first.scales] == [1, 2]
    assert all(np.array_equal(a.centroids, b.centroids) for a, b in zip(first.scales, again.scales))
    assert not np.array_equal(first.scales[0].centroids, other.scales[0].centroids)


def test_encoding_gives_five_regions_per_scale_and_separates_textures():
    from sklearn.linear_model import LogisticRegression

    train, train_labels = two_textures(40, 1)
    test, test_labels = two_textures(20, 2)
    extractor = features.Extractor("multiscale", codebook_size=8, random_state=0).fit(train)
    codes = extractor.transform(train)
    assert codes.shape == (40, 2 * 5 * 8) and codes.dtype == np.float32 and (codes >= 0).all()
    # the whole image's square-rooted sum, beside its quadrants'
    scale = extractor.scales_.scales[0]
    raw = scale.encode(train[:2]) ** 2
    assert np.allclose(raw[:, :8], raw[:, 8:].reshape(2, 4, 8).sum(axis=1), rtol=1e-4)
    model = LogisticRegression(max_iter=1000).fit(codes, train_labels)
    assert model.score(extractor.transform(test), test_labels) >= 0.95


def test_sample_patches_do_not_depend_on_how_many_images_are_shrunk_at_once(monkeypatch):
    pixels, _ = two_textures(9, 0)
    whole = multiscale._sample_patches(pixels, 1, 2, seed=5)
    monkeypatch.setattr(multiscale, "SAMPLE_CHUNK", 2)
    assert np.array_equal(whole, multiscale._sample_patches(pixels, 1, 2, seed=5))
