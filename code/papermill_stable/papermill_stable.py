"""``papermill --engine stable``: papermill's nbclient engine without volatile metadata.

papermill stamps the notebook and every cell with start and end times and durations, and
nbclient adds the kernel's message timestamps. Two runs with identical results then still
differ, so ``datalad rerun`` commits a new executed notebook every time. This engine runs the
notebook exactly like the default one, asks nbclient not to record timing, drops papermill's
times (and its random id for the injected cell) before the notebook is written, and prints the slow cells' durations to stderr instead
(the terminal of the run), where they stay visible.
"""
from __future__ import annotations

import sys

from papermill.engines import NBClientEngine

TIMING_KEYS = ("start_time", "end_time", "duration")


def strip_timing(nb):
    """Remove papermill's and nbclient's timing metadata from ``nb`` in place, and give the
    injected-parameters cell a fixed id instead of papermill's random one; return ``nb``."""
    for key in TIMING_KEYS:
        nb.metadata.get("papermill", {}).pop(key, None)
    for cell in nb.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell["id"] = "injected-parameters"
        cell.metadata.pop("execution", None)
        for key in TIMING_KEYS:
            cell.metadata.get("papermill", {}).pop(key, None)
        if cell.get("outputs"):
            cell["outputs"] = coalesce_streams(cell["outputs"])
    return nb


def coalesce_streams(outputs):
    """Join consecutive outputs of one stream: the kernel flushes stdout on a timer, so where one
    run sends two prints in one message another (on a busier machine) sends two."""
    joined = []
    for output in outputs:
        previous = joined[-1] if joined else None
        if (previous is not None and output.get("output_type") == "stream"
                and previous.get("output_type") == "stream" and previous.get("name") == output.get("name")):
            previous["text"] = "".join([*previous["text"], *output["text"]])
        else:
            joined.append(output)
    return joined


def report_slow_cells(nb, threshold: float = 1.0) -> None:
    for index, cell in enumerate(nb.cells):
        duration = cell.metadata.get("papermill", {}).get("duration")
        if duration and duration >= threshold:
            print(f"cell {index}: {duration:.1f} s", file=sys.stderr)


class StableEngine(NBClientEngine):
    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, **kwargs):
        kwargs["record_timing"] = False  # nbclient's per-cell iopub timestamps
        return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)

    @classmethod
    def execute_notebook(cls, nb, kernel_name, output_path=None, **kwargs):
        # papermill writes the notebook this returns (also when a cell failed: it then adds the
        # error and raises), so stripping here covers every final write.
        nb = super().execute_notebook(nb, kernel_name, output_path=output_path, **kwargs)
        report_slow_cells(nb)
        return strip_timing(nb)
