"""Learned features: a codebook of small colour patches (Coates, Lee and Ng, AISTATS 2011).

Training picks random 6x6 patches from the training images, normalises and whitens them, and
clusters them with k-means (seeded). An image is then described by how strongly each of its
patches (every other position) resembles each codebook entry (the "triangle" activation),
summed over the four quadrants of the image. One layer, no gradient descent, a few seconds on
a CPU, and it captures what hand-made features miss (dimples, canopy seams, strings).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.cluster import MiniBatchKMeans

PATCH = 6  # pixels per side
STRIDE = 2
WORKING_SIZE = 48  # images are averaged down to about this size first
SAMPLES = 100_000  # patches the codebook is learned from
CHUNK = 32  # images encoded at a time: keeps the distance matrices near 20 MB


def shrink(pixels: np.ndarray) -> np.ndarray:
    """Average blocks of pixels down to about WORKING_SIZE, as float32 in [0, 1]."""
    factor = max(1, pixels.shape[1] // WORKING_SIZE)
    n, size = len(pixels), (pixels.shape[1] // factor) * factor
    blocks = pixels[:, :size, :size].reshape(n, size // factor, factor, size // factor, factor, 3)
    return blocks.mean(axis=(2, 4), dtype=np.float32) / 255.0


def _normalise(patches: np.ndarray) -> np.ndarray:
    """Each patch (last axis) to zero mean and unit contrast."""
    patches = patches - patches.mean(axis=-1, keepdims=True)
    return patches / np.sqrt(patches.var(axis=-1, keepdims=True) + 0.01)


def _windows(images: np.ndarray) -> np.ndarray:
    """All patches at every STRIDE-th position: a view of shape (n, rows, cols, 3, PATCH, PATCH)."""
    return sliding_window_view(images, (PATCH, PATCH), axis=(1, 2))[:, ::STRIDE, ::STRIDE]


@dataclass
class PatchCodebook:
    """Whitening and k-means centroids learned from training images."""

    mean: np.ndarray
    whitening: np.ndarray
    centroids: np.ndarray

    @classmethod
    def fit(cls, pixels: np.ndarray, size: int = 256, seed: int = 0) -> "PatchCodebook":
        """Learn ``size`` patch prototypes from random patches of uint8 ``pixels`` (seeded)."""
        images = shrink(np.asarray(pixels))
        windows = _windows(images)
        n, rows, cols = windows.shape[:3]
        rng = np.random.default_rng(seed)
        count = min(SAMPLES, n * rows * cols)
        picks = rng.choice(n * rows * cols, size=count, replace=False)
        index = np.unravel_index(picks, (n, rows, cols))
        sample = _normalise(windows[index].reshape(count, -1))
        mean = sample.mean(axis=0)
        eigenvalues, eigenvectors = np.linalg.eigh(np.cov(sample - mean, rowvar=False))
        whitening = (eigenvectors / np.sqrt(eigenvalues + 0.1)) @ eigenvectors.T
        kmeans = MiniBatchKMeans(n_clusters=size, random_state=seed, n_init=3, batch_size=4096)
        kmeans.fit((sample - mean) @ whitening)
        return cls(mean.astype(np.float32), whitening.astype(np.float32),
                   kmeans.cluster_centers_.astype(np.float32))

    def encode(self, pixels: np.ndarray) -> np.ndarray:
        """(n, 4 * codebook size) float32: triangle activations summed per image quadrant."""
        squared_centroids = (self.centroids ** 2).sum(axis=1)
        parts = []
        for start in range(0, len(pixels), CHUNK):
            windows = _windows(shrink(np.asarray(pixels[start: start + CHUNK])))
            n, rows, cols = windows.shape[:3]
            normalised = _normalise(windows.reshape(n * rows * cols, -1))
            whitened = (normalised - self.mean) @ self.whitening
            distances = np.sqrt(np.maximum(
                (whitened ** 2).sum(axis=1)[:, None] - 2 * whitened @ self.centroids.T
                + squared_centroids, 0))
            active = np.maximum(distances.mean(axis=1, keepdims=True) - distances, 0)
            active = active.reshape(n, rows, cols, -1)
            h, w = rows // 2, cols // 2
            quadrants = (active[:, :h, :w], active[:, :h, w:], active[:, h:, :w], active[:, h:, w:])
            parts.append(np.concatenate([part.sum(axis=(1, 2)) for part in quadrants], axis=1))
        return np.vstack(parts).astype(np.float32)
