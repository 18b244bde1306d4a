"""A stage's terminal output reads as a lesson; the full output is in the log; VERBOSE=1 shows
all."""
import re
import sys

from helpers import git, sh


def test_a_stage_prints_its_command_what_it_found_and_its_outcome(container_clone):
    printed = sh([sys.executable, "-m", "pipeline", "run", "prepare"], container_clone).stdout
    lines = printed.splitlines()
    assert len(lines) <= 10, printed
    assert lines[0].startswith(
        "$ datalad containers-run -n software -m 'Prepare train and test tables")
    found = r"  \| \d+ training images, \d+ test images"
    assert any(re.fullmatch(found, line) for line in lines), printed
    outcome = r"^  get\(ok\) \d+ \w+, run\(ok\), add\(ok\) 5 files, save\(ok\)  \[[\d.]+ s\]$"
    assert re.search(outcome, printed, re.M), printed
    log = re.fullmatch(r"\(full output of every command: (\S+)\)", lines[-1]).group(1)
    assert log.startswith(".git/imageclf-logs/")
    logged = (container_clone / log).read_text()
    assert "Executing Cell 1" in logged and "get(ok): data/raw/" in logged
    assert git(container_clone, "status", "--porcelain") == ""  # the log leaves the dataset clean

    # VERBOSE=1: everything as it comes, papermill's cell markers included.
    verbose = sh([sys.executable, "-m", "pipeline", "run", "prepare"], container_clone, VERBOSE="1")
    everything = verbose.stdout + verbose.stderr
    assert "Executing Cell 1" in everything and "action summary" in everything
    assert "full output of every command" not in everything
