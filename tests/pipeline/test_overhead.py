"""The overhead benchmark's arithmetic and order, with a fake timer and fake commands: the
fastest of the repeats kept, overhead = containers-run minus papermill, outputs unlocked before
the direct run and reset after it, the scratch clone gone. (tests/benchmark runs it for real.)"""
import os
import subprocess
import tempfile

import pytest

from helpers import STAGES
from pipeline import declaration, overhead, stages


def test_timed_measures_with_perf_counter_around_the_command(monkeypatch, tmp_path):
    (tmp_path / "marker").touch()
    ticks = iter([10.0, 12.5])
    monkeypatch.setattr(overhead.time, "perf_counter", lambda: next(ticks))
    assert overhead.timed(["test", "-f", "marker"], tmp_path) == 2.5  # ran in cwd


def test_timed_runs_a_string_in_a_shell_and_hides_its_output(tmp_path, capfd):
    seconds = overhead.timed("echo out; echo err >&2; test -d .", tmp_path)
    assert seconds >= 0
    assert capfd.readouterr() == ("", "")


def test_a_failing_command_is_no_measurement(tmp_path):
    with pytest.raises(subprocess.CalledProcessError):
        overhead.timed(["false"], tmp_path)


class FakePlan:
    def __init__(self, stage):
        self.stage = stage

    def datalad_command(self, container):
        return ["datalad", "containers-run", "-n", container, self.stage]

    def papermill_command(self):
        return f"papermill notebooks/{self.stage}.ipynb"

    def outputs(self):
        return [f"{self.stage}.out"]


# Seconds per stage and repeat: (containers-run, papermill).
TIMES = {"prepare": [(9.0, 7.0), (8.0, 7.5)],
         "train": [(5.0, 3.0), (6.0, 2.0)],
         "evaluate": [(2.0, 2.5), (3.0, 2.2)]}


@pytest.fixture
def measured(monkeypatch, capsys):
    events, scratches = [], []
    remaining = {stage: list(pairs) for stage, pairs in TIMES.items()}

    def timed(args, cwd):
        stage = args[-1] if isinstance(args, list) and args[0] == "datalad" else (
            args[1].split("/")[1].removesuffix(".ipynb"))
        kind = 0 if args[0] == "datalad" else 1
        events.append(("timed", stage, "containers-run" if kind == 0 else "papermill"))
        seconds = remaining[stage][0][kind]
        if kind == 1:
            remaining[stage].pop(0)
        return seconds

    def mkdtemp(prefix):
        scratches.append(real_mkdtemp(prefix=prefix))
        return scratches[-1]

    real_mkdtemp = tempfile.mkdtemp
    monkeypatch.setattr(overhead, "timed", timed)
    monkeypatch.setattr(overhead.tempfile, "mkdtemp", mkdtemp)
    monkeypatch.setattr(overhead.commands, "run",
                        lambda args, **kwargs: events.append(("run", *args)))
    monkeypatch.setattr(stages, "plan", lambda clone, stage: FakePlan(stage))
    monkeypatch.setattr(declaration, "names", lambda clone: STAGES)
    rows = overhead.measure("/the/dataset", container="software", repeats=2)
    return rows, events, scratches, capsys.readouterr().out


def test_rows_keep_the_fastest_of_each_and_their_difference(measured):
    rows = measured[0]
    assert [row["stage"] for row in rows] == list(STAGES)
    by_stage = {row["stage"]: row for row in rows}
    assert (by_stage["prepare"]["containers_run"], by_stage["prepare"]["papermill"]) == (8.0, 7.0)
    assert (by_stage["train"]["containers_run"], by_stage["train"]["papermill"]) == (5.0, 2.0)
    for row in rows:
        assert row["overhead"] == pytest.approx(row["containers_run"] - row["papermill"])
    assert by_stage["evaluate"]["overhead"] == pytest.approx(-0.2)  # noise can make it negative


def test_each_stage_prints_one_line(measured):
    out = measured[3]
    assert out.splitlines() == [
        "prepare   papermill    7.0 s   containers-run    8.0 s   overhead  +1.0 s",
        "train     papermill    2.0 s   containers-run    5.0 s   overhead  +3.0 s",
        "evaluate  papermill    2.2 s   containers-run    2.0 s   overhead  -0.2 s",
    ]


def test_outputs_are_unlocked_before_and_reset_after_each_direct_run(measured):
    events = measured[1]
    start = events.index(("timed", "train", "containers-run"))
    assert events[start:start + 4] == [
        ("timed", "train", "containers-run"),
        ("run", "datalad", "unlock", "train.out"),
        ("timed", "train", "papermill"),
        ("run", "git", "reset", "--hard", "--quiet"),
    ]
    first_timed = next(i for i, event in enumerate(events) if event[0] == "timed")
    fetched = [event for event in events[:first_timed] if event[:3] == ("run", "datalad", "get")]
    assert len(fetched) == 2  # the images into the dataset, then images and image into the clone
    assert ".datalad/environments" in fetched[1]


def test_the_scratch_clone_is_removed(measured):
    scratches = measured[2]
    assert len(scratches) == 1
    assert not os.path.exists(scratches[0])


def test_a_failed_measurement_removes_the_scratch_clone_too(monkeypatch):
    scratches = []

    def mkdtemp(prefix):
        scratches.append(real_mkdtemp(prefix=prefix))
        return scratches[-1]

    def timed(args, cwd):
        raise subprocess.CalledProcessError(1, args)

    real_mkdtemp = tempfile.mkdtemp
    monkeypatch.setattr(overhead.tempfile, "mkdtemp", mkdtemp)
    monkeypatch.setattr(overhead, "timed", timed)
    monkeypatch.setattr(overhead.commands, "run", lambda args, **kwargs: None)
    monkeypatch.setattr(stages, "plan", lambda clone, stage: FakePlan(stage))
    monkeypatch.setattr(declaration, "names", lambda clone: STAGES)
    with pytest.raises(subprocess.CalledProcessError):
        overhead.measure("/the/dataset")
    assert len(scratches) == 1 and not os.path.exists(scratches[0])
