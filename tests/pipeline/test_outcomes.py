"""The outcome log of the writing commands (pipeline/outcomes.py), which `workshop status` reads."""
import subprocess
import sys

from helpers import clone_repository, sh
from pipeline import outcomes


def test_a_failed_command_records_its_exit_code_and_error(tmp_path):
    clone = clone_repository(tmp_path / "ds")
    failed = sh([sys.executable, "-m", "pipeline", "run", "train", "-p", "max_iter", "ten"],
                clone, check=False)
    assert failed.returncode != 0
    last = outcomes.last(clone)
    assert last["command"][3:6] == ["run", "train", "-p"] and last["exit"] == failed.returncode
    assert last["error"] and last["error"].splitlines()[0] in failed.stderr


def test_reading_commands_record_nothing_and_a_torn_line_is_skipped(tmp_path):
    clone = clone_repository(tmp_path / "ds")
    sh([sys.executable, "-m", "pipeline", "compare"], clone)
    assert outcomes.last(clone) is None
    outcomes.record(clone, ["run", "prepare"], 0)
    with outcomes.path(clone).open("a") as log:
        log.write('{"event": "command-outcome", "command": ["python", "-m", "pip')  # cut short
    assert outcomes.last(clone)["command"][3:] == ["run", "prepare"]
    assert outcomes.last(clone)["error"] == ""
    ignored = subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True,
                             text=True).stdout
    assert ignored == ""  # inside .git: never part of the dataset


def test_an_interrupted_start_is_recorded_without_the_modules_it_cut_short(tmp_path):
    """A Ctrl-C while `python -m pipeline` imports its modules leaves them half-made; recording
    the outcome afterwards must not import them again (it printed a traceback once)."""
    clone = clone_repository(tmp_path / "ds")
    broken = ("import sys; sys.modules['nbconvert'] = None; sys.modules['asyncio'] = None\n"
              "from pipeline import outcomes\n"
              "outcomes.record_command(['run', 'prepare'], 130)\n")
    done = sh([sys.executable, "-c", broken], clone, check=False)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert outcomes.last(clone)["exit"] == 130
