"""benchmark/sweep: one sweep with -j 1 and -j 2, the speedup and the fixed cost per job read
from the jobs' event streams (a real sweep: tests/integration/test_sweep_end_to_end.py)."""
import subprocess

import pytest

from benchmark import sweep as bench_sweep
from pipeline import events
from pipeline.sweep.shell import Outcome


def write_streams(clone, name: str, fixed: list[float]) -> None:
    """What a sweep's jobs leave: one stream each, ending in its outcome; a shared prepare's."""
    logs = clone / ".git" / "imageclf-logs" / "sweeps" / name
    logs.mkdir(parents=True)
    for index, seconds in enumerate(fixed):
        done = Outcome(f"j{index}", True, seconds + 30.0, 0.5, stage_seconds=30.0)
        (logs / f"j{index}.jsonl").write_text(events.line("outcome", **done.event()) + "\n")
    failed = Outcome("broken", False, 3.0, message="`run` failed")
    (logs / "broken.jsonl").write_text(events.line("outcome", **failed.event()) + "\n")
    (logs / "prepare-k.jsonl").write_text(events.line("outcome", name="prepare-k", ok=True,
                                                      seconds=99.0) + "\n")


def test_a_runs_fixed_cost_is_the_mean_over_its_finished_jobs(tmp_path, monkeypatch):
    write_streams(tmp_path, "demo", [1.0, 2.0])
    monkeypatch.setattr(bench_sweep.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(
        a, 0, stdout="", stderr=""))
    run = bench_sweep.time_sweep(tmp_path, "sweeps/demo.yaml", 2, "none")
    assert run["jobs_at_once"] == 2 and run["fixed_per_job"] == 1.5


def test_a_failed_sweep_is_a_benchmark_error_with_its_output(tmp_path, monkeypatch):
    monkeypatch.setattr(bench_sweep.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(
        a, 3, stdout="the sweep said this", stderr="and this"))
    with pytest.raises(bench_sweep.BenchmarkError, match="(?s)-j 1 failed .*the sweep said this"):
        bench_sweep.time_sweep(tmp_path, "sweeps/demo.yaml", 1, "none")


def test_the_speedup_and_its_verdict(tmp_path, monkeypatch):
    monkeypatch.setattr(bench_sweep, "bench_clone", lambda root, target: target)
    monkeypatch.setattr(bench_sweep.commands, "remove_tree", lambda path: None)
    seconds = {1: 200.0, 2: 120.0}
    monkeypatch.setattr(bench_sweep, "time_sweep", lambda clone, f, parallel, c: {
        "jobs_at_once": parallel, "seconds": seconds[parallel], "fixed_per_job": 0.9})
    result = bench_sweep.measure(tmp_path, "sweeps/demo.yaml")
    assert result["speedup"] == pytest.approx(1.67, abs=0.01) and result["met"]
    text = bench_sweep.render(result)
    assert "-j 1: 200.0 s   -j 2: 120.0 s   speedup 1.67x (target >= 1.6x)" in text
    assert "0.9 s (target <= 5 s)   met" in text
    seconds[2] = 150.0
    assert not bench_sweep.measure(tmp_path, "sweeps/demo.yaml")["met"]
