"""Decode images into RGB arrays, in the order they are listed.

The handbook's ``skimage.io.imread_collection`` natural-sorts the file names it is given, while
the labels stay in CSV order: images and labels line up only by luck of folder order. Here each
image is decoded in exactly the order of the list, so row ``i`` of the pixels always belongs to
row ``i`` of the CSV.

Pillow decodes (it reads JPEG at a reduced scale straight from the DCT when the image is much
larger than needed) and converts grayscale, CMYK and palette images to RGB. Pixels stay uint8:
a third of the memory of float32, an eighth of the handbook's float64.
"""
from __future__ import annotations

import mmap
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, UnidentifiedImageError


@dataclass
class LoadedImages:
    """Pixels of the images that could be read, and which rows of the list they are."""

    pixels: np.ndarray  # (n, size, size, 3) uint8
    kept: np.ndarray  # indices into the list that was loaded
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


class MissingContentError(FileNotFoundError):
    """An annexed image whose content is not in this clone."""


def require_content(path: Path, fetch: str | Path) -> None:
    """Raise :class:`MissingContentError` for an annexed file whose content is not here."""
    if path.is_symlink() and not path.exists():
        raise MissingContentError(
            f"{path}: the file's content is not in this clone. Fetch it with "
            f"`datalad get {fetch}` or declare it as an --input of the run."
        )


def load_image(path: str | Path, size: int) -> np.ndarray:
    """One image as a (size, size, 3) uint8 RGB array, squashed to a square as the handbook does."""
    path = Path(path)
    require_content(path, path.parent)
    with Image.open(path) as image:
        image.draft("RGB", (size, size))  # JPEG only: decode at the smallest scale >= size
        rgb = image.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
        return np.asarray(rgb, dtype=np.uint8)


def _decode_chunk(paths: Sequence[str | Path],
                  size: int) -> tuple[np.ndarray, list[int], list[tuple[str, str]]]:
    """Decode ``paths``; return their pixels, the positions that could be read, and the skipped."""
    pixels = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    kept: list[int] = []
    skipped: list[tuple[str, str]] = []
    for index, path in enumerate(paths):
        try:
            pixels[len(kept)] = load_image(path, size)
            kept.append(index)
        except MissingContentError:
            raise
        except (UnidentifiedImageError, OSError, ValueError) as error:
            skipped.append((str(path), f"{type(error).__name__}: {error}"))
    return pixels[: len(kept)], kept, skipped


def default_workers() -> int:
    return max(1, min(4, len(os.sched_getaffinity(0))))


def load_images(
    paths: Sequence[str | Path], size: int, progress_every: int = 500, workers: int | None = None,
    chunk: int = 250,
) -> LoadedImages:
    """Decode ``paths`` in order; unreadable images are skipped and reported, never fatal.

    Chunks of ``chunk`` images are decoded by ``workers`` processes (default: the cores this
    process may use, at most 4) and put back in list order, so the result does not depend on
    how many there are. Progress lines carry counts only, no rates: they end up in the executed
    notebook, which must not change with timing.
    """
    workers = default_workers() if workers is None else workers
    chunks = [paths[start: start + chunk] for start in range(0, len(paths), chunk)]
    pixels = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    kept: list[int] = []
    skipped: list[tuple[str, str]] = []
    reported = 0

    def collect(results) -> None:
        nonlocal reported
        done = 0
        for number, (chunk_pixels, chunk_kept, chunk_skipped) in enumerate(results):
            pixels[len(kept): len(kept) + len(chunk_kept)] = chunk_pixels
            kept.extend(number * chunk + index for index in chunk_kept)
            skipped.extend(chunk_skipped)
            done += len(chunks[number])
            while progress_every and (reported + progress_every <= done
                                      or (done == len(paths) > reported)):
                reported = min(reported + progress_every, done)
                print(f"loaded {reported}/{len(paths)} images", flush=True)

    if workers > 1 and len(chunks) > 1:
        # spawn, not fork: the notebook kernel runs threads that a forked child must not inherit
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            collect(pool.map(_decode_chunk, chunks, [size] * len(chunks)))
    else:
        collect(_decode_chunk(part, size) for part in chunks)
    return LoadedImages(pixels[: len(kept)], np.asarray(kept, dtype=np.int64), skipped)


def decode_table(table, size: int):
    """Decode the images of a table's ``filename`` column; return the table without the rows
    that could not be read (reported) and the pixels of the rest, row for row."""
    loaded = load_images(table["filename"].tolist(), size)
    for path, reason in loaded.skipped:
        print("  skipped", path, "-", reason)
    return table.iloc[loaded.kept].reset_index(drop=True), loaded.pixels


def save_pixels(path: str | Path, pixels: np.ndarray) -> None:
    """Write decoded pixels (uint8, rows in CSV order) as a .npy file: the decode-once cache that
    train and evaluate read instead of the JPEGs."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.ascontiguousarray(pixels, dtype=np.uint8), allow_pickle=False)


def open_pixels(path: str | Path, rows: int | None = None) -> np.ndarray:
    """Memory-map a file written by :func:`save_pixels`: nothing is read until it is used, so a
    stage holds only the chunks it is turning into features. ``rows`` checks it matches its CSV."""
    path = Path(path)
    require_content(path, path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: run the prepare stage, which writes it.")
    pixels = np.load(path, mmap_mode="r", allow_pickle=False)
    if pixels.ndim != 4 or pixels.shape[3] != 3 or pixels.dtype != np.uint8:
        raise ValueError(f"{path} does not hold RGB pixels written by prepare; run prepare again.")
    if rows is not None and len(pixels) != rows:
        raise ValueError(f"{path} has {len(pixels)} images but its table {rows} rows: they come "
                         "from different prepare runs. Run prepare again.")
    return pixels


def release_pages(pixels: np.ndarray, start: int, stop: int) -> None:
    """Let go of the memory-mapped file pages of rows ``start:stop`` of ``pixels`` once they
    have been read (nothing for an array in memory). A mapped page read once stays in the
    process's resident memory: train would otherwise hold every training image's pixels (465 MB
    for ten classes at 128 px) beside the features. The file stays in the page cache, so
    reading the rows again costs no disk access."""
    mapping = getattr(pixels, "_mmap", None)  # numpy.memmap's own mmap.mmap (numpy >= 1.x)
    if mapping is None or not hasattr(mapping, "madvise") or not len(pixels):
        return
    base = np.frombuffer(mapping, dtype=np.uint8).ctypes.data
    first = pixels[start: stop]
    begin = first.ctypes.data - base
    end = begin + first.nbytes
    begin -= begin % mmap.PAGESIZE
    end = min(len(mapping), end + (-end) % mmap.PAGESIZE)
    if end > begin:
        mapping.madvise(mmap.MADV_DONTNEED, begin, end - begin)
