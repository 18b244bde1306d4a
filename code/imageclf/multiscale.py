"""Learned features at two scales: the patch codebook of imageclf.patches, learned and applied
on the image at about 64 and about 32 pixels a side.

A 6x6 patch of the image shrunk to 64 px is a small detail (a dimple, a string, an edge); at
32 px it is a part of an object (a horn's bell, a wheel, a window). Each scale has its own
whitening and k-means codebook, learned from random patches of the training images (seeded),
and describes an image by the triangle activations of its patches summed over the whole image
and each quadrant, square-rooted: 5 x codebook size values per scale. With ten Imagenette
classes the two scales together reached 0.77 held-out accuracy where either alone reached
0.72-0.75 (docs/parameters.md).

Written for memory and time at ten classes: the codebooks learn from patches gathered a chunk
of images at a time (never all images at once as floats), and encoding works on ``CHUNK``
images at a time with one distance matrix per chunk, updated in place.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.cluster import MiniBatchKMeans

from .images import release_pages
from .patches import PATCH, _normalise

# (working size, stride): the fine scale takes every other patch, the coarse one every patch.
SCALES = ((64, 2), (32, 1))
SAMPLES = 100_000  # patches each codebook is learned from
CHUNK = 32  # images encoded at a time: a 128 px image has 900 fine patches
SAMPLE_CHUNK = 512  # images shrunk at a time while gathering the sample patches


def factor_for(size: int, working: int) -> int:
    """The block size that averages a ``size`` px image down to at most ``working`` px."""
    return max(1, -(-size // working))


def shrink(pixels: np.ndarray, factor: int) -> np.ndarray:
    """Average ``factor`` x ``factor`` blocks of uint8 pixels, as float32 in [0, 1]: a sum of
    strided slices (several times faster than a mean over reshaped axes)."""
    size = (pixels.shape[1] // factor) * factor
    pixels = np.asarray(pixels[:, :size, :size])
    total = np.zeros((len(pixels), size // factor, size // factor, 3), dtype=np.float32)
    for dy in range(factor):
        for dx in range(factor):
            total += pixels[:, dy::factor, dx::factor]
    total *= np.float32(1 / (255 * factor * factor))
    return total


def windows(images: np.ndarray, stride: int) -> np.ndarray:
    """Every ``stride``-th PATCH x PATCH patch: a view (n, rows, cols, 3, PATCH, PATCH)."""
    return sliding_window_view(images, (PATCH, PATCH), axis=(1, 2))[:, ::stride, ::stride]


@dataclass
class ScaleCodebook:
    """One scale: block factor and stride, whitening and k-means centroids."""

    factor: int
    stride: int
    mean: np.ndarray
    whitening: np.ndarray
    centroids: np.ndarray

    @classmethod
    def fit(cls, pixels: np.ndarray, factor: int, stride: int, size: int,
            seed: int) -> "ScaleCodebook":
        sample = _normalise(_sample_patches(pixels, factor, stride, seed))
        mean = sample.mean(axis=0)
        eigenvalues, eigenvectors = np.linalg.eigh(np.cov(sample - mean, rowvar=False))
        whitening = (eigenvectors / np.sqrt(eigenvalues + 0.1)) @ eigenvectors.T
        kmeans = MiniBatchKMeans(n_clusters=size, random_state=seed, n_init=3, batch_size=4096)
        kmeans.fit((sample - mean) @ whitening)
        return cls(factor, stride, mean.astype(np.float32), whitening.astype(np.float32),
                   kmeans.cluster_centers_.astype(np.float32))

    def encode(self, pixels: np.ndarray) -> np.ndarray:
        """(n, 5 x codebook size) float32: activations summed over the image and its quadrants."""
        squared_centroids = (self.centroids ** 2).sum(axis=1)
        parts = []
        for start in range(0, len(pixels), CHUNK):
            patches = windows(shrink(pixels[start: start + CHUNK], self.factor), self.stride)
            n, rows, cols = patches.shape[:3]
            whitened = (_normalise(patches.reshape(n * rows * cols, -1)) - self.mean) @ \
                self.whitening
            # distances to the centroids, then the triangle activation, in one array
            active = whitened @ self.centroids.T
            active *= -2
            active += (whitened ** 2).sum(axis=1)[:, None]
            active += squared_centroids
            np.maximum(active, 0, out=active)
            np.sqrt(active, out=active)
            np.subtract(active.mean(axis=1, keepdims=True), active, out=active)
            np.maximum(active, 0, out=active)
            active = active.reshape(n, rows, cols, -1)
            h, w = rows // 2, cols // 2
            quadrants = [active[:, :h, :w], active[:, :h, w:], active[:, h:, :w], active[:, h:, w:]]
            sums = [part.sum(axis=(1, 2)) for part in quadrants]
            parts.append(np.concatenate([sum(sums), *sums], axis=1))
        # square roots, as for the histograms: a few strong activations weigh less against many
        # weak ones (the whole image is then no longer the sum of its quadrants)
        return np.sqrt(np.vstack(parts)).astype(np.float32)


def _sample_patches(pixels: np.ndarray, factor: int, stride: int, seed: int) -> np.ndarray:
    """SAMPLES random patches (seeded) of the images shrunk by ``factor``, flattened, gathered
    SAMPLE_CHUNK images at a time."""
    n = len(pixels)
    rows, cols = windows(shrink(pixels[:1], factor), stride).shape[1:3]
    count = min(SAMPLES, n * rows * cols)
    picks = np.sort(np.random.default_rng(seed).choice(n * rows * cols, size=count,
                                                         replace=False))
    image, row, col = np.unravel_index(picks, (n, rows, cols))
    gathered = []
    for start in range(0, n, SAMPLE_CHUNK):
        chosen = (image >= start) & (image < start + SAMPLE_CHUNK)
        if chosen.any():
            view = windows(shrink(pixels[start: start + SAMPLE_CHUNK], factor), stride)
            gathered.append(view[image[chosen] - start, row[chosen], col[chosen]])
            release_pages(pixels, start, start + SAMPLE_CHUNK)
    return np.concatenate(gathered).reshape(count, -1)


@dataclass
class MultiScaleCodebook:
    """A codebook per scale of SCALES, for images of one size."""

    scales: list[ScaleCodebook]

    @classmethod
    def fit(cls, pixels: np.ndarray, size: int = 512, seed: int = 0) -> "MultiScaleCodebook":
        """Each scale's codebook, learned in a thread of its own (k-means is single-threaded
        under the pinned engine; each fit alone is the same whatever runs beside it)."""
        image_size = pixels.shape[1]

        def fit_scale(scale: tuple[int, int]) -> ScaleCodebook:
            working, stride = scale
            return ScaleCodebook.fit(pixels, factor_for(image_size, working), stride, size, seed)

        with ThreadPoolExecutor(len(SCALES)) as pool:
            return cls(list(pool.map(fit_scale, SCALES)))

    def encode(self, pixels: np.ndarray) -> np.ndarray:
        return np.hstack([scale.encode(pixels) for scale in self.scales])
