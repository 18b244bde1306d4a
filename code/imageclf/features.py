"""Turn decoded pixels into the vectors a classifier learns from."""
from __future__ import annotations

import numpy as np


def raw_pixels(pixels: np.ndarray) -> np.ndarray:
    """The handbook's features: every pixel value in [0, 1], flattened (float32, not float64)."""
    flat = pixels.reshape(len(pixels), -1).astype(np.float32)
    flat /= 255.0
    return flat
