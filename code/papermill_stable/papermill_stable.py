"""``papermill --engine stable``: papermill's nbclient engine, byte-stable across runs and machines.

Three things would otherwise change an executed notebook (or the results in it) between two
runs of the same stage:

- Timing metadata. papermill stamps the notebook and every cell with start and end times and
  durations, and nbclient adds the kernel's message timestamps. This engine asks nbclient not to
  record timing, drops papermill's times (and its random id for the injected cell) before the
  notebook is written, and prints the slow cells' durations to stderr (the run's terminal).
- How output is split. The kernel flushes stdout and stderr in pieces whose boundaries depend on
  timing (a print, a pause, a print: one output or two). :func:`canonical_streams` writes every
  run of consecutive stream outputs as one stdout output then one stderr output.
- What the CPU chooses. numpy's and scipy's OpenBLAS pick a kernel for the processor they find,
  and numpy its own SIMD loops; BLAS and OpenMP start one thread per core. Different kernels and
  thread counts round differently, so a model trained on another machine differed in the last
  digits (issue 14). :func:`pinned_environment` is the one place that fixes them: the kernel that
  runs the notebook starts with these variables, overriding the host's own values, inside the
  container and in .venv alike (every stage runs through this engine).

When ``IMAGECLF_EVENTS=1`` (set by ``python -m pipeline`` for the commands it runs, and passed
into the container by the adapter), it also reports each cell's start and end as an event, a
JSON line on stderr (``{"event": "cell", "index": 3, "cells": 12}``, ``{"event": "cell-done",
"index": 3}``), which the pipeline's terminal reads for its progress bar
(code/pipeline/events.py documents them). A papermill run typed by hand prints none.
"""
from __future__ import annotations

import contextlib
import json
import os
import platform
import sys

from papermill.engines import NBClientEngine

TIMING_KEYS = ("start_time", "end_time", "duration")

# Thread counts: fixed, never the host's cores. One, because the results depend on the count
# (the learned patch features changed between 1 and 2 threads) and OpenBLAS never starts more
# threads than the cores it may use (taskset, a 1-core machine), whatever it is asked for.
THREADS = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
# x86-64: OpenBLAS's Haswell kernel (AVX2 + FMA) and numpy's loops of the same level (x86-64-v3),
# which every x86-64 processor of the last decade that has AVX2 runs (Intel since 2013, AMD
# since 2015); faster kernels (SkylakeX, AVX-512) round differently and are left unused.
X86_64_LEVEL = {"OPENBLAS_CORETYPE": "Haswell", "NPY_ENABLE_CPU_FEATURES": "X86_V3"}
X86_64_V3_FLAGS = {"avx", "avx2", "fma", "f16c", "bmi1", "bmi2", "movbe", "abm"}
# aarch64 (not run by this project's CI): OpenBLAS's generic ARMv8 kernel.
AARCH64_LEVEL = {"OPENBLAS_CORETYPE": "ARMV8"}
# The host's choices that would contradict the pins.
CONFLICTING = ("NPY_DISABLE_CPU_FEATURES", "MKL_NUM_THREADS", "GOTO_NUM_THREADS")


def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> set[str]:
    """The instruction-set flags of this processor (Linux), empty where they cannot be read."""
    try:
        with open(cpuinfo) as info:
            for line in info:
                if line.startswith(("flags", "Features")):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def pinned_environment(machine: str | None = None,
                       flags: set[str] | None = None) -> tuple[dict, str]:
    """The variables the notebook's kernel gets, and a warning ('' if none) when this processor
    cannot run the pinned kernel (its results may then differ in the last digits)."""
    machine = machine or platform.machine()
    pins = dict(THREADS)
    if machine in ("x86_64", "AMD64"):
        flags = cpu_flags() if flags is None else flags
        if X86_64_V3_FLAGS <= flags:
            pins.update(X86_64_LEVEL)
        else:
            return pins, ("this processor lacks AVX2/FMA: numpy and OpenBLAS use its own kernels, "
                          "so results may differ in the last digits from other machines'.")
    elif machine in ("aarch64", "arm64"):
        pins.update(AARCH64_LEVEL)
    else:
        return pins, (f"no BLAS kernel is pinned on {machine}: results may differ from other "
                      "machines'.")
    return pins, ""


@contextlib.contextmanager
def pinned_kernel_environment():
    """Set the pins in this process's environment while a kernel (its child) starts and runs."""
    pins, warning = pinned_environment()
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    saved = dict(os.environ)
    for name in CONFLICTING:
        os.environ.pop(name, None)
    os.environ.update(pins)
    try:
        yield pins
    finally:
        os.environ.clear()
        os.environ.update(saved)


STREAM_ORDER = ("stdout", "stderr")


def canonical_streams(outputs: list) -> list:
    """``outputs`` with each run of consecutive stream outputs replaced by at most one stdout and
    one stderr output, each holding its stream's text in order. The kernel's flushes decide where
    one output ends and the next begins, and the relative order of the two streams: both vary with
    timing, the text of each stream does not."""
    result: list = []
    run: list = []

    def close_run() -> None:
        for name in STREAM_ORDER:
            parts = [output for output in run if output.get("name") == name]
            if parts:
                merged = parts[0]
                merged["text"] = "".join(_text(part) for part in parts)
                result.append(merged)
        run.clear()

    for output in outputs:
        if output.get("output_type") == "stream" and output.get("name") in STREAM_ORDER:
            run.append(output)
        else:
            close_run()
            result.append(output)
    close_run()
    return result


def _text(output) -> str:
    text = output.get("text", "")
    return "".join(text) if isinstance(text, list) else text


def strip_timing(nb):
    """Remove papermill's and nbclient's timing metadata from ``nb`` in place, give the
    injected-parameters cell a fixed id instead of papermill's random one, and write stream
    outputs in their canonical form (:func:`canonical_streams`); return ``nb``."""
    for key in TIMING_KEYS:
        nb.metadata.get("papermill", {}).pop(key, None)
    for cell in nb.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell["id"] = "injected-parameters"
        cell.metadata.pop("execution", None)
        for key in TIMING_KEYS:
            cell.metadata.get("papermill", {}).pop(key, None)
        if cell.get("outputs"):
            cell["outputs"] = canonical_streams(cell["outputs"])
    return nb


def report_slow_cells(nb, threshold: float = 1.0) -> None:
    for index, cell in enumerate(nb.cells):
        duration = cell.metadata.get("papermill", {}).get("duration")
        if duration and duration >= threshold:
            print(f"cell {index}: {duration:.1f} s", file=sys.stderr)


EVENTS_SWITCH = "IMAGECLF_EVENTS"  # the name code/pipeline/events.py gives it too


def event(kind: str, **fields) -> None:
    """One event line on stderr (the format of code/pipeline/events.py), when asked for."""
    if os.environ.get(EVENTS_SWITCH) != "1":
        return
    print(json.dumps({"event": kind, **fields}, separators=(",", ":")), file=sys.stderr,
          flush=True)


def report_cells(nb_man) -> None:
    """Make papermill's execution manager report each cell's start and end as events."""
    cells = len(nb_man.nb.cells)
    start, complete = nb_man.cell_start, nb_man.cell_complete

    def cell_start(cell, cell_index=None, **kwargs):
        event("cell", index=cell_index, cells=cells)
        return start(cell, cell_index, **kwargs)

    def cell_complete(cell, cell_index=None, **kwargs):
        done = complete(cell, cell_index, **kwargs)
        event("cell-done", index=cell_index)
        return done

    nb_man.cell_start, nb_man.cell_complete = cell_start, cell_complete


class StableEngine(NBClientEngine):
    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, **kwargs):
        kwargs["record_timing"] = False  # nbclient's per-cell iopub timestamps
        report_cells(nb_man)
        with pinned_kernel_environment():
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)

    @classmethod
    def execute_notebook(cls, nb, kernel_name, output_path=None, **kwargs):
        # papermill writes the notebook this returns (also when a cell failed: it then adds the
        # error and raises), so making it canonical here covers every final write.
        nb = super().execute_notebook(nb, kernel_name, output_path=output_path, **kwargs)
        report_slow_cells(nb)
        return strip_timing(nb)
