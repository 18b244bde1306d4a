"""An archive with the layout and size of the official imagenette2-160.tgz, made up locally.

Ten class folders, 9,469 training and 3,925 validation images (13,394, as the official release),
each 213x160 (landscape, shorter side 160 as there), smooth random colour fields with a class
tint and some texture, saved as JPEG. What is measured on it is time and memory, not accuracy.
"""
from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

TEN_CLASSES = ("n01440764", "n02102040", "n02979186", "n03000684", "n03028079",
               "n03394916", "n03417042", "n03425413", "n03445777", "n03888257")
OFFICIAL_COUNTS = {"train": 9469, "val": 3925}


def image(rng: np.random.Generator, tint: np.ndarray, grain: np.ndarray) -> Image.Image:
    coarse = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)  # upsampled: smooth like a photo
    smooth = Image.fromarray(coarse).resize((213, 160), Image.Resampling.BICUBIC)
    field = np.asarray(smooth, dtype=np.float32)
    return Image.fromarray(np.clip(0.6 * field + 0.4 * tint + grain, 0, 255).astype(np.uint8))


def make_archive(target: Path, counts: dict[str, int] = OFFICIAL_COUNTS, seed: int = 0) -> Path:
    """Write ``target`` (a .tgz) and return it; images are spread evenly over the ten classes."""
    rng = np.random.default_rng(seed)
    tints = rng.integers(0, 256, (len(TEN_CLASSES), 3)).astype(np.float32)
    grains = rng.normal(0, 12, (16, 160, 213, 3)).astype(np.float32)  # texture, drawn once
    tree = target.parent / "generated-tree"
    for split, total in counts.items():
        for n in range(total):
            folder = TEN_CLASSES[n % len(TEN_CLASSES)]
            path = tree / "imagenette2-160" / split / folder / f"{folder}_{n}.JPEG"
            path.parent.mkdir(parents=True, exist_ok=True)
            tint = tints[n % len(TEN_CLASSES)][None, None]
            image(rng, tint, grains[n % 16]).save(path, quality=85)
            if (n + 1) % 2000 == 0 or n + 1 == total:
                print(f"  generated {n + 1}/{total} {split} images", flush=True)
    with tarfile.open(target, "w:gz") as tar:
        tar.add(tree / "imagenette2-160", arcname="imagenette2-160")
    return target
