"""A job's shell: each command in its own process group, into the job's log and its event
stream; the outcome last; a push not stopped by Ctrl-C."""
import threading

import pytest

from helpers import git
from pipeline import events
from pipeline.sweep.shell import JobFailed, JobShell, Outcome, Processes, Stopped
from test_sweep_jobs import dataset, demo_jobs, job_clone, push  # noqa: F401 - dataset: fixture


def test_a_jobs_stream_holds_each_command_with_its_phase_then_its_outcome(dataset):  # noqa: F811
    jobs = demo_jobs(dataset, ["a"])
    clone = job_clone(jobs, dataset, "a", 0.7)
    push(jobs, clone, "a")
    stream = events.read(jobs.events_path("a"))
    commands = [event for event in stream if event["event"] == "command"]
    assert {event["phase"] for event in commands} == {"push"}  # this shell only pushed
    assert [event["args"][:3] for event in commands] == [
        ["git", "annex", "copy"], ["git", "push", "--quiet"], ["git", "annex", "fsck"]]
    assert all(event["exit"] == 0 and event["seconds"] >= 0 for event in commands)
    with jobs.shell("b") as shell:
        failed = shell.outcome(False, message="`x` failed")
    assert Outcome.from_event(events.last(jobs.events_path("b"), "outcome")) == failed


def test_a_failed_command_is_in_the_stream_and_names_the_log(dataset):  # noqa: F811
    jobs = demo_jobs(dataset, ["a"])
    with jobs.shell("a") as shell, pytest.raises(Exception, match="exit code 3") as failure:
        shell.sh(["sh", "-c", "echo problem; exit 3"], dataset)
    assert failure.value.log == jobs.logs / "a.log"
    assert "problem" in (jobs.logs / "a.log").read_text()
    assert events.last(jobs.events_path("a"), "command")["exit"] == 3
    assert git(dataset, "status", "--porcelain") == ""  # logs live in .git


def test_an_outcome_round_trips_through_its_event(tmp_path):
    outcome = Outcome("a b", True, 12.5, 0.75, tmp_path / "a.log", stage_seconds=10.0)
    assert Outcome.from_event(outcome.event()) == outcome
    assert outcome.fixed_seconds == 2.5


def test_an_interrupt_stops_commands_but_lets_a_push_finish(tmp_path):
    processes = Processes()
    (tmp_path / "logs").mkdir()
    results = {}

    def run(name, phase, seconds):
        with JobShell(name, tmp_path / "logs", processes) as shell:
            try:
                shell.sh(["sh", "-c", f"sleep {seconds}"], tmp_path, phase)
                results[name] = "finished"
            except Stopped:
                results[name] = "stopped"

    threads = [threading.Thread(target=run, args=("stage", "stage", 30)),
               threading.Thread(target=run, args=("push", "push", 1))]
    for thread in threads:
        thread.start()
    while processes.running() < 2:
        threading.Event().wait(0.05)
    processes.interrupt()
    for thread in threads:
        thread.join(timeout=20)
    assert results == {"stage": "stopped", "push": "finished"}
    with JobShell("late", tmp_path / "logs", processes) as shell, pytest.raises(Stopped):
        shell.sh(["true"], tmp_path)  # nothing new starts once the sweep stops
    assert JobFailed("x").log is None
