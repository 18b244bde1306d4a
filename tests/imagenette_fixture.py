"""Small archives with the layout of imagenette2-160.tgz, made by the tests themselves.

Each class gets its own colour, so a classifier separates them perfectly when (and only when)
every image is paired with its own label. Some images are grayscale or CMYK, as in the real data.
"""
from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

GOLF, PARACHUTE = "n03445777", "n03888257"
COLOURS = {GOLF: (200, 40, 40), PARACHUTE: (40, 40, 200)}


def make_image(folder: str, index: int, size: int = 40) -> Image.Image:
    rng = np.random.default_rng(index)
    base = np.array(COLOURS.get(folder, (40, 200, 40)), dtype=float)
    pixels = np.clip(base + rng.normal(0, 25, (size, size, 3)), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels)


def write_tree(root: Path, per_split: dict[str, int], folders=(GOLF, PARACHUTE)) -> Path:
    """imagenette2-160/{split}/{folder}/{folder}_{n}.JPEG under ``root``; every 5th image
    grayscale and every 7th CMYK."""
    top = root / "imagenette2-160"
    for split, count in per_split.items():
        for folder in folders:
            target = top / split / folder
            target.mkdir(parents=True, exist_ok=True)
            for n in range(count):
                image = make_image(folder, n + (1000 if split == "val" else 0))
                if n % 5 == 4:
                    image = image.convert("L")
                elif n % 7 == 6:
                    image = image.convert("CMYK")
                image.save(target / f"{folder}_{1000 + n}.JPEG", format="JPEG", quality=90)
    return top


def make_archive(directory: Path, per_split=None, folders=(GOLF, PARACHUTE)) -> Path:
    """A .tgz of :func:`write_tree`'s layout; returns its path."""
    tree = directory / "tree"
    write_tree(tree, per_split or {"train": 12, "val": 6}, folders)
    archive = directory / "imagenette2-160.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tree / "imagenette2-160", arcname="imagenette2-160")
    return archive
