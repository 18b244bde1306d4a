"""The SLURM executor's pure parts: its sbatch script and commands, the plan a task reads, the
status files, and the command's checks (a real cluster: tests/integration/test_slurm_sweeps.py)."""
import argparse
from pathlib import Path

import pytest

from pipeline import sweep
from pipeline.sweep import slurm, slurm_cli, slurm_task
from pipeline.sweep.jobs import Outcome

PAIR = sweep.Sweep("pair", "sweeps/pair.yaml", {s: f"params/{s}.yaml" for s in sweep.STAGES},
                   (sweep.Job("a b", {"train": {"max_iter": 5}}),
                    sweep.Job("cats", {"prepare": {"categories": {"n1": "golf ball"}}})))


def test_the_script_asks_for_the_resources_and_runs_the_task_entry_point():
    resources = slurm.Resources(partition="short", time="0:10:00", cpus=2, mem="1G")
    text = slurm.script(Path("/data/my ds"), PAIR, Path("/data/my ds/.git/logs/plan.json"),
                        resources)
    header = [line for line in text.splitlines() if line.startswith("#SBATCH")]
    assert header == ["#SBATCH --job-name=imageclf-sweep-pair", "#SBATCH --partition=short",
                      "#SBATCH --time=0:10:00", "#SBATCH --cpus-per-task=2", "#SBATCH --mem=1G",
                      "#SBATCH --output=/data/my ds/.git/logs/%x-%A_%a.out",
                      "#SBATCH --chdir=/data/my ds"]
    assert text.splitlines()[-1].endswith(
        "-m pipeline.sweep.slurm_task '/data/my ds/.git/logs/plan.json' \"$1\" "
        "\"$SLURM_ARRAY_TASK_ID\"")
    assert "PYTHONPATH='/data/my ds/code'" in text
    assert "--partition" not in slurm.script(Path("/d"), PAIR, Path("/d/p.json"),
                                             slurm.Resources())


def test_jobs_are_submitted_after_the_prepares_and_alone_without_any():
    script = Path("/d/sweep.sbatch")
    first, second = slurm.sbatch_commands(script, 2, 5)
    assert first == ["sbatch", "--parsable", "--array=0-1", "/d/sweep.sbatch", "prepare"]
    assert second == ["sbatch", "--parsable", "--array=0-4", "--dependency=afterany:PREPARE_ID",
                      "/d/sweep.sbatch", "job"]
    assert slurm.sbatch_commands(script, 0, 3) == [
        ["sbatch", "--parsable", "--array=0-2", "/d/sweep.sbatch", "job"]]


def test_a_task_reads_the_same_sweep_from_the_plan():
    assert slurm_task.sweep_from_plan(slurm_task.sweep_to_plan(PAIR)) == PAIR


def test_a_status_file_round_trips_and_a_missing_one_reads_as_none(tmp_path):
    outcome = Outcome("a b", True, 12.5, 0.75, tmp_path / "a.log", stage_seconds=10.0)
    path = slurm_task.status_path(tmp_path, "job", "a b")
    assert slurm_task.read_status(path) is None
    slurm_task.write_status(path, outcome)
    assert slurm_task.read_status(path) == outcome
    assert [p.name for p in tmp_path.iterdir()] == ["job-a b.json"]  # no partial file left


def command(**options) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("-j", "--jobs", type=int, default=1)
    slurm_cli.add_options(parser)
    args = parser.parse_args([])
    vars(args).update(options, root=Path("."), container="none", scratch=None, ria=None)
    return args


@pytest.mark.parametrize("options, says", [
    ({"dry_run": True}, "add --executor slurm"),
    ({"executor": "slurm", "jobs": 2}, "-j is the local executor's"),
    ({"executor": "slurm", "cpus": 0}, "--cpus needs"),
])
def test_options_that_do_not_fit_say_what_to_change(options, says):
    with pytest.raises(sweep.SweepError, match=says):
        slurm_cli.run(command(**options), PAIR)


def test_without_sbatch_the_message_says_how_to_get_a_cluster(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(sweep.SweepError, match="code/cluster/slurm.sh start"):
        slurm.require_slurm()
