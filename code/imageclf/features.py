"""Turn decoded pixels into the vectors a classifier learns from.

A feature set is named by a string: one kind, or several joined by ``+`` (``hog+color``), whose
vectors are concatenated. The kinds:

- ``raw``: every pixel value in [0, 1], flattened, as the handbook does (float32, not float64);
- ``color``: where the colours are: a hue/saturation/value histogram of the whole image and of
  each of its four quadrants (sky above, grass below tell parachutes from golf balls);
- ``hog``: histograms of oriented gradients (Dalal and Triggs): the outline of shapes;
- ``texture``: local binary patterns, whole image and quadrants: fine texture such as dimples;
- ``patches``: a codebook of small patches learned from the training images (imageclf.patches).

Histograms are square-rooted (the Hellinger mapping), which lets linear and kernel models
compare them well. ``patches`` learns from the training images, so features are computed by an
:class:`Extractor` that train fits and saves inside the model file, and evaluate reuses.

Everything is vectorised over a chunk of images with numpy (no per-image Python loop), and the
chunks keep memory bounded: only the features of all images are held, never float copies of
all pixels (except for ``raw``, whose features are the pixels).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .patches import PatchCodebook

KINDS = ("raw", "color", "hog", "texture", "patches")
CHUNK = 256  # images converted at a time: bounds the float intermediates to a few tens of MB


class FeatureError(ValueError):
    """An unknown feature name."""


def parse(spec: str) -> list[str]:
    """``"hog+color"`` -> ``["hog", "color"]``, refusing unknown or repeated kinds."""
    kinds = [kind.strip() for kind in str(spec).split("+")]
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown or not kinds or len(set(kinds)) != len(kinds):
        raise FeatureError(
            f"Unknown features {spec!r}: use one of {', '.join(KINDS)}, or several joined by + "
            "(for example hog+color), each at most once."
        )
    return kinds


def raw_pixels(pixels: np.ndarray) -> np.ndarray:
    """The handbook's features: every pixel value in [0, 1], flattened."""
    flat = pixels.reshape(len(pixels), -1).astype(np.float32)
    flat /= 255.0
    return flat


def _quadrants(images: np.ndarray) -> list[np.ndarray]:
    """The whole image, then its four quadrants (first two axes after the image axis)."""
    h, w = images.shape[1] // 2, images.shape[2] // 2
    return [images, images[:, :h, :w], images[:, :h, w:], images[:, h:, :w], images[:, h:, w:]]


def _histograms(codes: np.ndarray, n_bins: int) -> np.ndarray:
    """Per-image normalised, square-rooted histograms of integer ``codes`` (n, ...) in [0, n_bins)."""
    n = len(codes)
    flat = codes.reshape(n, -1) + (np.arange(n) * n_bins)[:, None]
    counts = np.bincount(flat.ravel(), minlength=n * n_bins).reshape(n, n_bins)
    return np.sqrt(counts / counts.sum(axis=1, keepdims=True)).astype(np.float32)


def _hsv_bins(bins: tuple[int, int, int]) -> np.ndarray:
    """Joint hue/saturation/value bin of every colour at 6 bits per channel: a lookup table, so
    that binning an image is one indexing operation instead of float arithmetic per pixel."""
    levels = (np.arange(64, dtype=np.float32) + 0.5) / 64
    r, g, b = np.meshgrid(levels, levels, levels, indexing="ij")
    value = np.maximum(np.maximum(r, g), b)
    chroma = value - np.minimum(np.minimum(r, g), b)
    saturation = chroma / value
    safe = np.where(chroma > 0, chroma, 1.0)
    hue = np.where(value == r, (g - b) / safe, np.where(value == g, 2.0 + (b - r) / safe, 4.0 + (r - g) / safe))
    hue = np.where(chroma > 0, (hue / 6.0) % 1.0, 0.0)
    codes = [np.minimum((channel * n).astype(np.int64), n - 1)
             for channel, n in zip((hue, saturation, value), bins)]
    return ((codes[0] * bins[1] + codes[1]) * bins[2] + codes[2]).ravel().astype(np.int16)


_HSV_TABLES: dict[tuple[int, int, int], np.ndarray] = {}


def color_histograms(pixels: np.ndarray, bins: tuple[int, int, int] = (8, 3, 3)) -> np.ndarray:
    """Joint HSV histograms of the image and its quadrants: 5 x 72 values with the default bins."""
    if bins not in _HSV_TABLES:
        _HSV_TABLES[bins] = _hsv_bins(bins)
    quantised = (pixels >> 2).astype(np.int64)
    joint = _HSV_TABLES[bins][(quantised[..., 0] << 12) | (quantised[..., 1] << 6) | quantised[..., 2]]
    n_bins = bins[0] * bins[1] * bins[2]
    return np.hstack([_histograms(part.astype(np.int64), n_bins) for part in _quadrants(joint)])


def _gray(pixels: np.ndarray) -> np.ndarray:
    return pixels.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def hog(pixels: np.ndarray, cell: int = 8, orientations: int = 9) -> np.ndarray:
    """Histograms of oriented gradients: unsigned orientations shared linearly between the two
    nearest bins, cells of ``cell`` pixels, blocks of 2x2 cells normalised with L2-Hys."""
    gray = _gray(pixels)
    gx = np.zeros_like(gray)
    gy = np.zeros_like(gray)
    gx[:, :, 1:-1] = gray[:, :, 2:] - gray[:, :, :-2]
    gy[:, 1:-1, :] = gray[:, 2:, :] - gray[:, :-2, :]
    n, height, width = gray.shape
    rows, cols = height // cell, width // cell
    magnitude = np.hypot(gx, gy)[:, : rows * cell, : cols * cell]
    angle = (np.degrees(np.arctan2(gy, gx)) % 180.0)[:, : rows * cell, : cols * cell]
    position = angle / (180.0 / orientations) - 0.5  # bin centres at half-bin offsets
    lower = np.floor(position)
    upper_share = position - lower
    cell_index = ((np.arange(rows * cell) // cell)[:, None] * cols + np.arange(cols * cell) // cell)
    base = (np.arange(n)[:, None, None] * rows * cols + cell_index) * orientations
    histogram = np.zeros(n * rows * cols * orientations, dtype=np.float64)
    for offset, share in ((0, 1.0 - upper_share), (1, upper_share)):
        bins = (lower.astype(np.int64) + offset) % orientations
        histogram += np.bincount((base + bins).ravel(), weights=(magnitude * share).ravel(),
                                 minlength=histogram.size)
    cells = histogram.reshape(n, rows, cols, orientations)
    blocks = np.concatenate([cells[:, :-1, :-1], cells[:, :-1, 1:], cells[:, 1:, :-1], cells[:, 1:, 1:]],
                            axis=-1)
    blocks = blocks / np.sqrt((blocks ** 2).sum(axis=-1, keepdims=True) + 1e-10)
    blocks = np.minimum(blocks, 0.2)
    blocks = blocks / np.sqrt((blocks ** 2).sum(axis=-1, keepdims=True) + 1e-10)
    return blocks.reshape(n, -1).astype(np.float32)


def texture(pixels: np.ndarray) -> np.ndarray:
    """Local binary patterns (8 neighbours at distance 1) of the image and its quadrants."""
    gray = _gray(pixels)
    centre = gray[:, 1:-1, 1:-1]
    h, w = centre.shape[1:]
    codes = np.zeros(centre.shape, dtype=np.int64)
    neighbours = [(0, 0), (0, 1), (0, 2), (1, 2), (2, 2), (2, 1), (2, 0), (1, 0)]
    for bit, (dy, dx) in enumerate(neighbours):
        codes |= (gray[:, dy: dy + h, dx: dx + w] >= centre).astype(np.int64) << bit
    return np.hstack([_histograms(part, 256) for part in _quadrants(codes)])


STATELESS = {"raw": raw_pixels, "color": color_histograms, "hog": hog, "texture": texture}


@dataclass
class Extractor:
    """Computes a feature set; holds what the learned kinds learned from the training images."""

    spec: str
    codebook: PatchCodebook | None = None

    @classmethod
    def fit(cls, spec: str, pixels: np.ndarray, codebook_size: int = 256, seed: int = 0) -> "Extractor":
        """Parse ``spec`` and learn what it needs from the training ``pixels`` (seeded)."""
        kinds = parse(spec)
        codebook = PatchCodebook.fit(pixels, codebook_size, seed) if "patches" in kinds else None
        return cls(spec, codebook)

    def _kind(self, kind: str, block: np.ndarray) -> np.ndarray:
        return self.codebook.encode(block) if kind == "patches" else STATELESS[kind](block)

    def transform(self, pixels: np.ndarray, mirrored: bool = False, chunk: int = CHUNK) -> np.ndarray:
        """float32 features of uint8 ``pixels`` (n, size, size, 3), read ``chunk`` images at a
        time (``pixels`` may be memory-mapped); ``mirrored`` flips every image left to right."""
        kinds = parse(self.spec)
        if not len(pixels):
            raise FeatureError("No images to compute features of.")
        if kinds == ["raw"] and not mirrored:
            return raw_pixels(np.asarray(pixels))
        parts = []
        for start in range(0, len(pixels), chunk):
            block = np.asarray(pixels[start: start + chunk])
            if mirrored:
                block = block[:, :, ::-1]
            parts.append(np.hstack([self._kind(kind, block) for kind in kinds]))
        return np.vstack(parts)


def compute(pixels: np.ndarray, spec: str, chunk: int = CHUNK) -> np.ndarray:
    """Features ``spec`` of ``pixels`` for feature sets that learn nothing (no ``patches``)."""
    if "patches" in parse(spec):
        raise FeatureError("patches are learned from training images: use Extractor.fit(...).transform.")
    return Extractor(spec).transform(pixels, chunk=chunk)
