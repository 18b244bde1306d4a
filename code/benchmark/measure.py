"""Each measurement of the benchmark; every one returns a dict of figures.

Direct measurements (loading, train memory, ten classes) run in this environment (.venv, the
same pins as the container) in scratch folders that link to a clone's code and images. The
story runs in containers, both sides through ``datalad containers-run`` in clones of the dataset.
"""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from pipeline import commands, compare, declaration, overhead, process, stages
from pipeline.git import git

HERE = Path(__file__).resolve().parent
HANDBOOK = "code/benchmark/handbook"
RAW = "data/raw/imagenette2-160"
TWO_CLASSES = ("n03445777", "n03888257")
# The story's models as compare.evaluations names them; the handbook's side uses the same names.
STORY_MODELS = ("SGD-10", "SGD-100", "random forest")


class BenchmarkError(RuntimeError):
    pass


def measured(args: list[str], cwd: Path, log: Path) -> dict:
    """Run ``args`` under peak.py; its output goes to ``log``; returns seconds and peak RSS."""
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(args)}\n")
        out.flush()
        done = subprocess.run([sys.executable, str(HERE / "peak.py"), *args], cwd=cwd,
                              env=process.tool_env(), stdout=out, stderr=subprocess.PIPE,
                              text=True, stdin=subprocess.DEVNULL)
        out.write(done.stderr)
    figures = json.loads(done.stderr.strip().splitlines()[-1])
    if figures["returncode"]:
        raise BenchmarkError(f"{' '.join(args)} failed in {cwd}; see {log}")
    return figures


def papermill(root: Path, stage: str, params_file: str | None = None) -> list[str]:
    """The stage's papermill call as stages.yaml in ``root`` declares it, with this
    environment's Python."""
    spec = declaration.read(root)[stage]
    return [sys.executable, "-m", *stages.papermill_args(spec, params_file)]


def scratch_tree(target: Path, clone: Path, raw: Path | None = None) -> Path:
    """A folder the notebooks take for the dataset (imageclf.project finds its root: .datalad
    and notebooks/): links to the clone's dataset configuration, code, notebooks, params and
    stage declaration, and to its images (or to ``raw``). Its results stay out of the clone."""
    (target / "data" / "raw").mkdir(parents=True)
    (target / "executed").mkdir()
    for name in (".datalad", "code", "notebooks", "params", declaration.FILE):
        (target / name).symlink_to(clone / name)
    (target / RAW).symlink_to(raw or (clone / RAW).resolve())
    return target


def clone_dataset(root: Path, target: Path, log: Path) -> Path:
    """A clone of the dataset with the images and the container image present, and without
    the story's tags, branch and runs (so that the story starts from scratch)."""
    with log.open("a") as out:
        def run(*args: str) -> None:
            commands.run(list(args), cwd=target, quiet=True, stdout=out, stderr=subprocess.STDOUT)
        overhead.fetch_images(root, out)
        commands.run(["datalad", "clone", str(root), str(target)], quiet=True, stdout=out,
                     stderr=subprocess.STDOUT)
        run("datalad", "get", RAW, ".datalad/environments")
        if git(target, "tag", "--list", "ready4analysis"):
            run("git", "reset", "--hard", "--quiet", "ready4analysis^")
        for tag in ("ready4analysis", "SGD-100", "random-forest"):
            git(target, "tag", "-d", tag)
        git(target, "branch", "-D", "randomforest")
    return target


def image_loading(clone: Path) -> dict:
    """Decode every golf ball and parachute image, the handbook's way and ours, in-process."""
    from imageclf import images

    spec = importlib.util.spec_from_file_location("handbook_train", clone / HANDBOOK / "train.py")
    handbook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(handbook)
    files = sorted(str(p) for p in (clone / RAW).rglob("*/*.JPEG") if p.parent.name in TWO_CLASSES)
    images.load_images(files[:200], 100, progress_every=0)  # warm the file cache for both
    started = time.perf_counter()
    handbook.load_images(files)
    handbook_seconds = time.perf_counter() - started
    started = time.perf_counter()
    images.load_images(files, 100, progress_every=0)
    ours_seconds = time.perf_counter() - started
    return {"images": len(files), "handbook_s": round(handbook_seconds, 2),
            "ours_s": round(ours_seconds, 2),
            "speedup": round(handbook_seconds / ours_seconds, 1)}


def train_memory(clone: Path, scratch: Path, log: Path) -> dict:
    """Peak RSS and time of one train step: the handbook's script (SGD, max_iter 10) against our
    train notebook with the same classifier on the same pixels, and with the best parameters."""
    handbook = scratch_tree(scratch / "handbook", clone)
    measured([sys.executable, f"{HANDBOOK}/prepare.py"], handbook, log)
    base = measured([sys.executable, f"{HANDBOOK}/train.py", "sgd", "10"], handbook, log)
    ours = scratch_tree(scratch / "ours", clone)
    measured(papermill(ours, "prepare"), ours, log)
    same = measured(papermill(ours, "train"), ours, log)
    best = measured(papermill(ours, "train", "params/best/train.yaml"), ours, log)
    return {"handbook_sgd10": base, "ours_sgd10": same, "ours_best": best,
            "ratio_sgd10": round(same["peak_rss_mb"] / base["peak_rss_mb"], 3),
            "ratio_best": round(best["peak_rss_mb"] / base["peak_rss_mb"], 3)}


def accuracy(clone: Path) -> float:
    return json.loads((clone / "accuracy.json").read_text())["accuracy"]


def handbook_story(clone: Path, log: Path) -> dict:
    """The handbook's seven steps, each one ``datalad containers-run`` of its script."""
    def step(message: str, inputs: list[str], outputs: list[str], command: str) -> None:
        args = stages.datalad_call(message, inputs, outputs, command)
        with log.open("a") as out:
            commands.run(args, cwd=clone, quiet=True, stdout=out, stderr=subprocess.STDOUT)

    started = time.perf_counter()
    accuracies = {}
    step("handbook: prepare", [f"{RAW}/train", f"{RAW}/val"], ["data/train.csv", "data/test.csv"],
         f"python3 {HANDBOOK}/prepare.py")
    for name, args in zip(STORY_MODELS, ("sgd 10", "sgd 100", "random-forest")):
        step(f"handbook: train {name}", ["data/train.csv", f"{RAW}/train"], ["model.joblib"],
             f"python3 {HANDBOOK}/train.py {args}")
        step(f"handbook: evaluate {name}", ["data/test.csv", "model.joblib", f"{RAW}/val"],
             ["accuracy.json"], f"python3 {HANDBOOK}/evaluate.py")
        accuracies[name] = accuracy(clone)
    return {"seconds": round(time.perf_counter() - started, 1), "accuracy": accuracies}


def our_story(clone: Path, log: Path) -> dict:
    """``python -m pipeline tutorial`` (prepare, three trainings and evaluations, tags, branch),
    then the best parameters through containers-run as a user runs them."""
    def pipeline(*args: str) -> float:
        started = time.perf_counter()
        with log.open("a") as out:
            commands.run([sys.executable, "-m", "pipeline", *args], cwd=clone, quiet=True,
                         stdout=out, stderr=subprocess.STDOUT)
        return time.perf_counter() - started

    seconds = pipeline("tutorial", "--container", stages.CONTAINER)
    accuracies = story_accuracies(compare.evaluations(clone))
    best_seconds = (pipeline("run", "train", "-f", "params/best/train.yaml")
                    + pipeline("run", "evaluate"))
    return {"seconds": round(seconds, 1), "accuracy": accuracies,
            "best": {"accuracy": accuracy(clone), "seconds": round(best_seconds, 1)}}


def story_accuracies(evaluations) -> dict[str, float]:
    """The accuracy of each story model in compare's table (its ``model`` column names them)."""
    named = evaluations[evaluations["model"].isin(STORY_MODELS)]
    return {model: float(value) for model, value in zip(named["model"], named["accuracy"])}


def containers_run_overhead(root: Path) -> list[dict]:
    return [{k: round(v, 2) if isinstance(v, float) else v for k, v in row.items()}
            for row in overhead.measure(root)]


def ten_classes(clone: Path, scratch: Path, log: Path, archive: Path | None = None) -> dict:
    """prepare, train and evaluate on all ten classes of an archive of the official size."""
    from . import generate

    if archive is None:
        print("  generating an archive of 13,394 images in ten classes ...", flush=True)
        archive = generate.make_archive(scratch / "imagenette2-160-generated.tgz")
    extracted = scratch / "ten-raw"
    with tarfile.open(archive) as tar:
        # the data filter exists from Python 3.11.4 on; Debian 12's 3.11.2 lacks it
        kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tar.extractall(extracted, **kwargs)
    tree = scratch_tree(scratch / "ten", clone, raw=extracted / "imagenette2-160")
    steps = {"prepare": papermill(tree, "prepare", "params/ten-classes/prepare.yaml"),
             "train": papermill(tree, "train", "params/ten-classes/train.yaml"),
             "evaluate": papermill(tree, "evaluate")}
    figures = {}
    for name, args in steps.items():
        print(f"  ten classes: {name} ...", flush=True)
        figures[name] = measured(args, tree, log)
    rows = sum(sum(1 for _ in (tree / table).open()) - 1
               for table in ("data/train.csv", "data/test.csv"))
    return {"images": rows, "stages": figures,
            "seconds": round(sum(f["seconds"] for f in figures.values()), 1),
            "peak_rss_mb": max(f["peak_rss_mb"] for f in figures.values()),
            "accuracy": accuracy(tree)}
