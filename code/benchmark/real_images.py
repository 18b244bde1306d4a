"""The real-images section of ``make bench`` (``python -m benchmark --only real``): all ten
Imagenette classes of the archive ``make data`` installed (``IMAGENETTE_URL`` pointing at a
ten-class archive), our stages with the ten-class params files beside the handbook's scripts on
the same images: time, peak RSS and accuracy of each, targets beside figures.

Both sides run directly in this environment (.venv, the container's pins), each stage a fresh
process under peak.py, in scratch trees that link to the clone's code and images, as the
generated ten-class section does. The handbook's prepare gets the ten folders on its command
line (the handbook edits its folder table); its train and evaluate are unchanged, so its
``imread_collection`` pairs sorted images with listed labels (imageclf.pairing) here too.
"""
from __future__ import annotations

import sys
from pathlib import Path

import yaml

from .measure import HANDBOOK, RAW, BenchmarkError, accuracy, measured, papermill, scratch_tree

PREPARE = "params/ten-classes/prepare.yaml"
BEST = "params/ten-classes/best.yaml"
FAST = "params/ten-classes/train.yaml"
HANDBOOK_MODELS = {"SGD max_iter 10": ["sgd", "10"], "random forest": ["random-forest"]}
# The targets of issue 25, for params/ten-classes/best.yaml on 2 cores.
TRAIN_EVALUATE_MAX_S = 300
PEAK_RSS_MAX_MB = 1024
ACCURACY_MIN = 0.80
MISSING_CLASSES = (f"{RAW} holds fewer than the ten Imagenette classes: point IMAGENETTE_URL "
                   "at a ten-class archive (file://... works) and run `make data` in a fresh "
                   "clone")


def categories(root: Path) -> dict[str, str]:
    return yaml.safe_load((root / PREPARE).read_text())["categories"]


def available(root: Path) -> bool:
    """True when the dataset's input data holds every folder of the ten-class params file."""
    train = root / RAW / "train"
    return all((train / folder).is_dir() for folder in categories(root))


def measure(clone: Path, scratch: Path, log: Path) -> dict:
    if not available(clone):
        raise BenchmarkError(MISSING_CLASSES)
    ours = scratch_tree(scratch / "real-ours", clone)
    stages = {"prepare": measured(papermill(ours, "prepare", PREPARE), ours, log)}
    results = {"images": _rows(ours), "ours": {}, "handbook": {}}
    for params_file in (BEST, FAST):
        print(f"  real images: train and evaluate with {params_file} ...", flush=True)
        train = measured(papermill(ours, "train", params_file), ours, log)
        evaluate = measured(papermill(ours, "evaluate"), ours, log)
        results["ours"][params_file] = _figures(stages["prepare"], train, evaluate, accuracy(ours))
    handbook = scratch_tree(scratch / "real-handbook", clone)
    folders = [f"{folder}={label}" for folder, label in categories(clone).items()]
    prepare = measured([sys.executable, f"{HANDBOOK}/prepare.py", *folders], handbook, log)
    for name, args in HANDBOOK_MODELS.items():
        print(f"  real images: the handbook's {name} ...", flush=True)
        train = measured([sys.executable, f"{HANDBOOK}/train.py", *args], handbook, log)
        evaluate = measured([sys.executable, f"{HANDBOOK}/evaluate.py"], handbook, log)
        results["handbook"][name] = _figures(prepare, train, evaluate, accuracy(handbook))
    return results


def _rows(tree: Path) -> int:
    return sum(sum(1 for _ in (tree / table).open()) - 1
               for table in ("data/train.csv", "data/test.csv"))


def _figures(prepare: dict, train: dict, evaluate: dict, score: float) -> dict:
    return {"prepare_s": prepare["seconds"], "train_s": train["seconds"],
            "evaluate_s": evaluate["seconds"],
            "train_evaluate_s": round(train["seconds"] + evaluate["seconds"], 1),
            "peak_rss_mb": max(step["peak_rss_mb"] for step in (prepare, train, evaluate)),
            "accuracy": round(score, 4)}


def rows(results: dict) -> list[tuple[str, str, str, str, bool | None]]:
    """(measure, handbook, ours, figure vs target, met): the best configuration against its
    targets, each handbook model beside it, and the fast configuration for scale."""
    images = results["images"]
    best = results["ours"][BEST]
    hb_rf = results["handbook"].get("random forest") or next(iter(results["handbook"].values()))
    table = [
        (f"real ten classes, {images} images: train+evaluate, {BEST}",
         f"{hb_rf['train_evaluate_s']} s", f"{best['train_evaluate_s']} s",
         f"target <= {TRAIN_EVALUATE_MAX_S} s",
         best["train_evaluate_s"] <= TRAIN_EVALUATE_MAX_S),
        ("real ten classes: peak RSS of any stage, best", f"{hb_rf['peak_rss_mb']:.0f} MB",
         f"{best['peak_rss_mb']:.0f} MB", f"target <= {PEAK_RSS_MAX_MB} MB",
         best["peak_rss_mb"] <= PEAK_RSS_MAX_MB),
        ("real ten classes: accuracy, best", f"{hb_rf['accuracy']:.4f}", f"{best['accuracy']:.4f}",
         f"target >= {ACCURACY_MIN:.2f}", best["accuracy"] >= ACCURACY_MIN),
    ]
    for name, figures in results["handbook"].items():
        table.append((f"real ten classes: handbook {name} (train+evaluate, peak, accuracy)",
                      f"{figures['train_evaluate_s']} s, {figures['peak_rss_mb']:.0f} MB, "
                      f"{figures['accuracy']:.4f}", "", "", None))
    fast = results["ours"].get(FAST)
    if fast:
        table.append((f"real ten classes: {FAST} (train+evaluate, peak, accuracy)", "",
                      f"{fast['train_evaluate_s']} s, {fast['peak_rss_mb']:.0f} MB, "
                      f"{fast['accuracy']:.4f}", "", None))
    return table
