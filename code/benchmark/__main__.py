"""``python -m benchmark``: run every measurement, print the table, write the JSON."""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from imageclf import project
from pipeline import commands

from . import isolation_cost, measure, real_images, scale, slurm, sweep, workshop

SECTIONS = ("loading", "memory", "story", "overhead", "isolation", "ten", "real", "sweep",
            "slurm", "scale", "workshop")
# scale takes about 25 minutes, workshop about 31 (and root): only when asked for (--only)
DEFAULT_SECTIONS = SECTIONS[:-2]
# The sections that measure in a clone of the dataset with the story's data and image.
IN_A_CLONE = {"loading", "memory", "story", "ten", "real"}


# Each target once: the table prints it and judges the figure by it.
SPEEDUP_MIN = 5  # image loading, ours vs the handbook's
RSS_RATIO_MAX = 0.25  # train peak RSS, ours / the handbook's
STORY_RATIO_MAX = 0.5  # whole story in containers, ours / the handbook's
BEST_ACCURACY_MIN = 0.92  # params/best/train.yaml
OVERHEAD_MAX_S = 1.5  # datalad containers-run over papermill alone, per stage
TEN_CLASSES_MAX_S = 75  # prepare + train + evaluate on 13,394 images (about 60 s measured)
TEN_CLASSES_RSS_MAX_MB = 1024
SWEEP_FILE = "sweeps/features-classifiers.yaml"  # 8 jobs; targets in benchmark/sweep.py


def rows(results: dict) -> list[tuple[str, str, str, str, bool | None]]:
    """(measure, handbook, ours, figure vs target, met) for every figure that has a target."""
    table = []
    if "loading" in results:
        r = results["loading"]
        table.append((f"image loading, {r['images']} images", f"{r['handbook_s']} s",
                      f"{r['ours_s']} s", f"{r['speedup']}x faster (target >= {SPEEDUP_MIN}x)",
                      r["speedup"] >= SPEEDUP_MIN))
    if "memory" in results:
        r = results["memory"]
        base = r["handbook_sgd10"]["peak_rss_mb"]
        for key, label in (("sgd10", "SGD max_iter 10, raw pixels"),
                           ("best", "params/best/train.yaml")):
            ours, ratio = r[f"ours_{key}"], r[f"ratio_{key}"]
            table.append((f"train peak RSS, {label}", f"{base:.0f} MB",
                          f"{ours['peak_rss_mb']:.0f} MB",
                          f"{ratio:.0%} of the handbook's (target <= {RSS_RATIO_MAX:.0%})",
                          ratio <= RSS_RATIO_MAX))
    if "story" in results:
        r = results["story"]
        ratio = r["ours"]["seconds"] / r["handbook"]["seconds"]
        table.append(("whole story in containers", f"{r['handbook']['seconds']} s",
                      f"{r['ours']['seconds']} s",
                      f"{ratio:.0%} of the handbook's (target <= {STORY_RATIO_MAX:.0%})",
                      ratio <= STORY_RATIO_MAX))
        for name, value in r["handbook"]["accuracy"].items():
            table.append((f"accuracy {name}", f"{value:.4f}",
                          f"{r['ours']['accuracy'][name]:.4f}", "", None))
        best = r["ours"]["best"]["accuracy"]
        table.append(("accuracy params/best/train.yaml (containers-run)", "", f"{best:.4f}",
                      f"target >= {BEST_ACCURACY_MIN}", best >= BEST_ACCURACY_MIN))
    if "overhead" in results:
        for row in results["overhead"]:
            table.append((f"containers-run overhead, {row['stage']}", "",
                          f"{row['overhead']:+.2f} s", f"target <= {OVERHEAD_MAX_S} s",
                          row["overhead"] <= OVERHEAD_MAX_S))
    if "isolation" in results:
        table.extend(isolation_cost.rows(results["isolation"]))
    if "ten" in results:
        r = results["ten"]
        table.append((f"ten classes, {r['images']} images: prepare+train+evaluate", "",
                      f"{r['seconds']} s", f"target <= {TEN_CLASSES_MAX_S} s",
                      r["seconds"] <= TEN_CLASSES_MAX_S))
        table.append(("ten classes: peak RSS of any stage", "", f"{r['peak_rss_mb']:.0f} MB",
                      f"target <= {TEN_CLASSES_RSS_MAX_MB} MB",
                      r["peak_rss_mb"] <= TEN_CLASSES_RSS_MAX_MB))
        if "accuracy" in r:  # generated colour fields: ten labels learned at all, not a photo task
            table.append(("ten classes: accuracy (generated images)", "", f"{r['accuracy']:.4f}",
                          "", None))
    if "real" in results:
        table.extend(real_images.rows(results["real"]))
    if "sweep" in results:
        r = results["sweep"]
        one, two = r["runs"]
        table.append((f"sweep {r['sweep']}: -j 2 against -j 1", "",
                      f"{one['seconds']} s -> {two['seconds']} s",
                      f"{r['speedup']}x faster (target >= {r['speedup_target']}x)",
                      r["speedup"] >= r["speedup_target"]))
        table.append(("sweep: fixed cost per job beyond its stages", "",
                      f"{r['fixed_per_job']:.1f} s", f"target <= {r['fixed_target']:.0f} s",
                      r["fixed_per_job"] <= r["fixed_target"]))
    if results.get("slurm"):
        table.extend(slurm.rows(results["slurm"]))
    if "workshop" in results:
        table.extend(workshop.rows(results["workshop"]))
    return table


HEADER = ("measure", "handbook", "ours", "figure", "met")


def render(table: list[tuple]) -> str:
    widths = [max(len(str(row[i])) for row in [HEADER, *table]) for i in range(4)]
    lines = []
    for row in [HEADER, *table]:
        mark = "target" if row is HEADER else {True: "met", False: "NOT met", None: ""}[row[4]]
        cells = "  ".join(str(cell).ljust(width) for cell, width in zip(row[:4], widths))
        lines.append(f"{cells}  {mark}")
    return "\n".join(lines)


def sizes_of(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(sorted(int(size) for size in text.split(",")))
    except ValueError:
        sizes = ()
    if len(sizes) < 2 or sizes[0] < 2:
        raise SystemExit(f"error: --sizes {text}: give two or more numbers of jobs, such as "
                         "25,50,100,200")
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmark", description=__doc__)
    parser.add_argument("--only", action="append", choices=SECTIONS, help="run only these sections")
    parser.add_argument("--archive", type=Path, help="ten classes: reuse this generated archive")
    parser.add_argument("--json", type=Path, default=Path("results/benchmark.json"))
    parser.add_argument("--sizes", default=",".join(map(str, scale.SIZES)),
                        help="scale: the numbers of jobs of its sweeps (default %(default)s)")
    parser.add_argument("--fabricated", default=",".join(map(str, scale.SYNTHETIC)),
                        help="scale: the numbers of fabricated job branches whose merge and "
                             "summary it times after the largest sweep; 0 for none "
                             "(default %(default)s)")
    parser.add_argument("--participants", type=int, default=workshop.PARTICIPANTS,
                        help="workshop: participants at once (default %(default)s)")
    args = parser.parse_args()
    try:
        root = project.find_root()
    except project.NotInDataset as error:
        raise SystemExit(f"error: {error}") from None
    sections = args.only or [section for section in DEFAULT_SECTIONS
                             if (section != "slurm" or slurm.cluster_answers())
                             and (section != "real" or real_images.available(root))]
    if "real" in sections and not real_images.available(root):  # asked for by --only
        raise SystemExit(f"error: {real_images.MISSING_CLASSES}")
    if not args.only and "slurm" not in sections:
        print("benchmark: no SLURM answers (squeue): the slurm section is left out; "
              "code/cluster/slurm.sh start runs one here", flush=True)
    if not args.only and "real" not in sections:
        print("benchmark: data/raw holds fewer than ten Imagenette classes: the real-images "
              "section is left out (IMAGENETTE_URL=file://...ten-class archive, make data)",
              flush=True)
    scratch = Path(tempfile.mkdtemp(prefix="imageclf-bench-"))
    log = scratch / "benchmark.log"
    results: dict = {"machine": {"cores": os.cpu_count()}, "sections": list(sections)}
    started = time.perf_counter()
    try:
        print(f"benchmark: scratch folder {scratch}, command output in {log}", flush=True)
        # A clone with the story's data and image, for the sections that measure in it.
        clone = (measure.clone_dataset(root, scratch / "ours-story", log)
                 if IN_A_CLONE & set(sections) else None)
        steps = {
            "loading": lambda: measure.image_loading(clone),
            "memory": lambda: measure.train_memory(clone, scratch, log),
            "story": lambda: {
                "handbook": measure.handbook_story(
                    measure.clone_dataset(root, scratch / "handbook-story", log), log),
                "ours": measure.our_story(clone, log)},
            "overhead": lambda: measure.containers_run_overhead(root),
            "isolation": lambda: isolation_cost.measure(root, scratch),
            "ten": lambda: measure.ten_classes(clone, scratch, log, args.archive),
            "real": lambda: real_images.measure(clone, scratch, log),
            "sweep": lambda: sweep.measure(root, SWEEP_FILE, os.environ.get("CONTAINER")
                                          or "software"),
            "slurm": lambda: slurm.measure(root, SWEEP_FILE, os.environ.get("CONTAINER")
                                           or "software", log),
            "workshop": lambda: workshop.measure(root, log, args.participants),
            "scale": lambda: scale.measure(
                root, log, sizes_of(args.sizes),
                tuple(int(n) for n in args.fabricated.split(",") if int(n))),
        }
        for name in sections:
            print(f"== {name} ...", flush=True)
            section_started = time.perf_counter()
            results[name] = steps[name]()
            print(f"   done in {time.perf_counter() - section_started:.0f} s", flush=True)
    except (measure.BenchmarkError, commands.CommandFailed) as error:
        tail = ("\n(last lines of the log:)\n" + "\n".join(log.read_text().splitlines()[-30:])
                if isinstance(error, commands.CommandFailed) else "")
        for left in scratch.iterdir():  # the clones and trees go; the log stays for reading
            if left != log:
                commands.remove_tree(left)
        raise SystemExit(f"error: {error}{tail}\n(the full log: {log})") from None
    results["seconds"] = round(time.perf_counter() - started, 1)
    table = rows(results)
    results["table"] = [dict(zip(HEADER, row)) for row in table]
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print("\n" + render(table))
    if "scale" in results:
        print("\nsweeps at scale (--executor slurm, --container none):\n" +
              scale.render(results["scale"]))
    print(f"\nwrote {args.json}; benchmark took {results['seconds']:.0f} s")
    commands.remove_tree(scratch)


if __name__ == "__main__":
    main()
