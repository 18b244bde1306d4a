"""benchmark.scale and benchmark.slurm: the generated sweeps, the scheduler's delay per task,
and the table of phases against the number of jobs."""
import pytest

from benchmark import __main__ as bench, scale, slurm
from helpers import STAGES
from pipeline import events
from pipeline.sweep import sweepfile
from pipeline.sweep.shell import Outcome
from pipeline.checks import load_yaml


@pytest.mark.parametrize("count", [25, 200])
def test_the_generated_sweep_has_that_many_cheap_distinct_jobs(count):
    parsed = sweepfile.parse(load_yaml(scale.sweep_text(count), "s.yaml"), "s.yaml",
                             f"scale-{count}", STAGES)
    assert len(parsed.jobs) == count == len({job.name for job in parsed.jobs})
    assert {job.stage_overrides("train")["max_iter"] for job in parsed.jobs} == {1, 2}
    assert all(job.stage_overrides("train")["classifier"] == "sgd" for job in parsed.jobs)


def test_a_task_waits_from_the_moment_a_slot_is_free():
    # two slots: tasks 1 and 2 wait for the submission, task 3 for the first end, 4 the second
    spans = [(10.0, 20.0), (10.5, 30.0), (21.0, 40.0), (31.0, 50.0)]
    assert slurm.task_start_delays(spans, submitted=9.0) == pytest.approx([1.0, 1.5, 1.0, 1.0])


def measured(jobs: int, per_job: float, quadratic: float = 0.0) -> dict:
    row = {phase: per_job * jobs + quadratic * jobs ** 2 for phase in scale.PHASES}
    row.update({"jobs": jobs, "push per job": per_job, "submit": 2.0})
    return row


def test_the_scale_table_shows_each_phase_its_slope_and_projection():
    rows = [measured(25, 0.5), measured(200, 0.5)]
    rows[1]["merge"] = rows[0]["merge"] * 64  # quadratic
    result = {"measured": rows, "synthetic": [{"jobs": 2000, "merge": 1.5, "summary": 60.0}],
              "slopes": scale.slopes(rows), "target": 10_000}
    text = scale.render(result)
    lines = {line.split("  ")[0]: line.split() for line in text.splitlines()}
    assert lines["run"][-2:] == ["1.00", "5,000"]  # 100 s at 200 jobs, linear
    assert lines["merge"][-2:] == ["2.00", "2,000,000"]  # 800 s at 200 jobs, quadratic
    assert lines["submit"][-2:] == ["0.00", "2"]  # one submission whatever the size
    assert lines["push per job"][-1] == "0"  # a per-job figure is not carried to a total
    assert "fabricated 2,000 job branches: merge 1.5 s" in text and "FAIRly-big" in text


def test_the_slurm_comparison_is_a_row_of_the_benchmark_table():
    result = {"sweep": "sweeps/x.yaml", "container": "software", "jobs": 8,
              "local": {"seconds": 100.0, "fixed_per_job": 1.5, "image_per_job": 0.1},
              "slurm": {"seconds": 120.0, "start_delay_mean": 0.8,
                        "first_start_after_submit": 1.2, "fixed_per_job": 9.0,
                        "image_per_job": 6.5},
              "extra_per_job": 5.0}
    table = bench.rows({"slurm": result})
    assert table[0][2] == "100.0 s -> 120.0 s" and "1.20x" in table[0][3]
    assert table[1][2] == "+5.0 s" and "0.8 s after its slot is free" in table[1][3]
    assert table[2][2] == "1.5 s -> 9.0 s" and "0.1 s -> 6.5 s" in table[2][3]


def test_a_jobs_fixed_cost_and_image_copy_come_from_its_stream(tmp_path):
    logs = tmp_path / ".git" / "imageclf-logs" / "sweeps" / "s"
    logs.mkdir(parents=True)

    def command(phase, seconds):
        return events.line("command", job="a", phase=phase, args=["x"], cwd="/x",
                           seconds=seconds, exit=0)

    outcome = Outcome("a", True, seconds=38.0, accuracy=0.5, stage_seconds=30.0)
    (logs / "a.jsonl").write_text("\n".join([
        command("set-up", 0.5), command("image", 6.0), command("stage", 30.0),
        command("push", 1.5), events.line("outcome", **outcome.event())]) + "\n")
    (logs / "prepare-k1.jsonl").write_text(command("image", 99.0) + "\n")
    assert slurm.job_costs(tmp_path, "s") == {"fixed_per_job": 8.0, "image_per_job": 6.0}
