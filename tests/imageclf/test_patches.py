import numpy as np

from imageclf import features, patches


def two_textures(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Class a: fine checkerboard; class b: wide horizontal bands; both with noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:48, :48]
    fine = ((x // 2 + y // 2) % 2) * 200
    wide = ((y // 6) % 2) * 200
    images, labels = [], []
    for i in range(n):
        base = fine if i % 2 else wide
        noisy = np.clip(base[..., None] + rng.normal(0, 30, (48, 48, 3)) + 20, 0, 255)
        images.append(noisy.astype(np.uint8))
        labels.append("a" if i % 2 else "b")
    return np.stack(images), np.array(labels)


def test_same_seed_same_codebook_other_seed_other_codebook():
    pixels, _ = two_textures(10, 0)
    first = patches.PatchCodebook.fit(pixels, size=8, seed=3)
    again = patches.PatchCodebook.fit(pixels, size=8, seed=3)
    other = patches.PatchCodebook.fit(pixels, size=8, seed=4)
    assert np.array_equal(first.centroids, again.centroids)
    assert not np.array_equal(first.centroids, other.centroids)


def test_codes_separate_textures_that_colour_cannot():
    from sklearn.linear_model import LogisticRegression

    train, train_labels = two_textures(40, 1)
    test, test_labels = two_textures(20, 2)
    extractor = features.Extractor("patches", codebook_size=16, random_state=0).fit(train)
    codes = extractor.transform(train)
    assert codes.shape == (40, 4 * 16) and codes.dtype == np.float32 and (codes >= 0).all()
    model = LogisticRegression(max_iter=1000).fit(codes, train_labels)
    assert model.score(extractor.transform(test), test_labels) >= 0.95


def test_shrink_averages_blocks_to_about_the_working_size():
    pixels = np.zeros((1, 100, 100, 3), dtype=np.uint8)
    pixels[:, :, 50:] = 255
    small = patches.shrink(pixels)
    assert small.shape == (1, 50, 50, 3) and small[0, 0, 0, 0] == 0 and small[0, 0, 49, 0] == 1.0
