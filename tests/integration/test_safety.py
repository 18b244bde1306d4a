"""Nothing lost, nothing escapes: concurrent runs, a killed run, hostile outputs, interruptions.

The soak test interrupts train and prepare at seeded random moments, saving included, with
SIGINT (Ctrl-C) and SIGTERM (`kill`). SOAK_INTERRUPTIONS sets how many (default 20),
SOAK_CONTAINER the container (default software; `none` runs the stages in .venv).
"""
import os
import random
import re
import signal
import string
import subprocess
import sys
import time


from helpers import git, sh, tool_env
from pipeline import history, lock
from pipeline.errors import EXIT_BUSY, EXIT_FAILED, signal_exit_code
from run_records import run_commits, run_record

PIPELINE = [sys.executable, "-m", "pipeline"]
OUR_FRAME = re.compile(r'File "[^"]*/(pipeline|container)/\w+\.py"')
OUTPUTS = {"prepare": ["data/train.csv", "data/test.csv", "data/train-pixels.npy",
                       "data/test-pixels.npy", "executed/prepare.ipynb"],
           "train": ["model.joblib", "executed/train.ipynb"]}


def start(clone, *args):
    return subprocess.Popen([*PIPELINE, *args], cwd=clone, env=tool_env(clone),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def annexed_content_complete(clone) -> None:
    """git annex fsck passes and every annexed file of the checkout has its content."""
    sh(["git", "annex", "fsck", "--quiet"], clone)
    for paths in OUTPUTS.values():
        for path in paths:
            if (clone / path).is_symlink():
                assert (clone / path).exists(), f"{path}: annexed content missing"


def test_one_writer_at_a_time_and_a_killed_command_is_settled_by_the_next(clone_with_data):
    clone = clone_with_data
    # A label with every printable character reaches the notebook as typed, through the record.
    label = string.printable.strip() + " {outputs} {} {0}"
    quoted = label.replace("\\", "\\\\").replace('"', '\\"')
    categories = '{n03445777: "%s", n03888257: parachute}' % quoted
    sh([*PIPELINE, "run", "prepare", "-p", "categories", categories, "--container", "none"], clone)
    assert history.notebook_parameters(clone, "HEAD", "executed/prepare.ipynb")["categories"] == {
        "n03445777": label, "n03888257": "parachute"}

    # Two trains started while another command writes: each waits, printing one line naming
    # the holder; one with --no-wait is refused. Then they run in turn, both recorded, each
    # model with its content.
    start_commit = git(clone, "rev-parse", "HEAD")
    with lock.hold(clone, command="the test, holding the lock"):
        runs = [start(clone, "run", "train", "-p", "max_iter", "10", "--container", "none"),
                start(clone, "run", "train", "-p", "classifier", "random-forest",
                      "--container", "none")]
        for run in runs:
            assert next(run.stdout).startswith(
                f"Waiting for pid {os.getpid()} (`the test, holding the lock`")
        refused = sh([*PIPELINE, "run", "evaluate", "--no-wait", "--container", "none"], clone,
                     check=False)
        assert refused.returncode == EXIT_BUSY, refused.stderr
        assert "`the test, holding the lock`" in refused.stderr
    printed = [run.communicate(timeout=600)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], printed
    # One line each, read above:
    assert [text.count("Waiting for") for text in printed] == [0, 0], printed
    commits = run_commits(clone, f"{start_commit}..HEAD")
    subjects = sorted(git(clone, "log", "-1", "--format=%s", c) for c in commits)
    assert len(commits) == 2 and "random-forest" in subjects[0] and "max_iter=10" in subjects[1]
    assert len({git(clone, "rev-parse", f"{c}:model.joblib") for c in commits}) == 2
    sh(["git", "annex", "fsck", "--all", "--quiet"], clone)  # every model ever recorded is here
    for commit in commits:
        key = os.path.basename(git(clone, "show", f"{commit}:model.joblib"))
        assert sh(["git", "annex", "contentlocation", key], clone).stdout.strip()

    # SIGKILL leaves no handler: the orphaned datalad keeps the lock while it lives (it may die
    # early on its closed output pipe), and the next command says what the history holds.
    before = git(clone, "rev-parse", "HEAD")
    victim = start(clone, "run", "train", "-p", "max_iter", "7", "--container", "none")
    for line in victim.stdout:
        if line.startswith("$ datalad run"):
            break
    time.sleep(2)  # datalad is under way (any moment would do: both outcomes are checked)
    victim.kill()
    victim.wait()
    next_run = sh([*PIPELINE, "run", "train", "-p", "max_iter", "8", "--container", "none"], clone)
    after = next_run.stderr + next_run.stdout
    trains = [git(clone, "log", "-1", "--format=%s", c)
              for c in run_commits(clone, f"{before}..HEAD")]
    recorded = "max_iter=7" in " ".join(trains)
    assert ("was recorded after all" if recorded else "was not recorded") in after
    assert "max_iter=8" in trains[-1]
    assert git(clone, "status", "--porcelain") == ""
    annexed_content_complete(clone)


def test_refusals_need_the_dataset_and_lose_nothing(clone_with_data):
    clone = clone_with_data
    (clone / "results").mkdir()
    (clone / "results/keep.txt").write_text("mine\n")  # git-ignored
    refused = sh([*PIPELINE, "run", "evaluate", "-p", "accuracy_file", "results/keep.txt",
                  "--container", "none"], clone, check=False)
    assert refused.returncode == EXIT_FAILED
    assert "results/keep.txt is a path git ignores (.gitignore: results/)" in refused.stderr
    assert (clone / "results/keep.txt").read_text() == "mine\n"
    unknown = sh([*PIPELINE, "run", "prepare", "-p", "categories",
                  "{n01440764: tench, n03888257: parachute}", "--container", "none"], clone,
                 check=False)
    assert unknown.returncode == EXIT_FAILED
    assert ("No category folder n01440764 in data/raw/imagenette2-160/train; the folders there "
            "are: n03445777, n03888257") in unknown.stderr
    assert not OUR_FRAME.search(refused.stderr + unknown.stderr)
    assert git(clone, "status", "--porcelain") == ""


def soak_clone(request):
    container = os.environ.get("SOAK_CONTAINER", "software")
    fixture = "clone_with_data" if container == "none" else "container_clone"
    return request.getfixturevalue(fixture), container


def test_soak_interruptions_are_always_recovered(request):
    clone, container = soak_clone(request)
    wanted = int(os.environ.get("SOAK_INTERRUPTIONS", "20"))
    rng = random.Random(13)
    durations = {}
    for stage in ("prepare", "train"):
        started = time.monotonic()
        sh([*PIPELINE, "run", stage, "--container", container], clone)
        durations[stage] = time.monotonic() - started

    interrupted = recovered = attempts = 0
    while interrupted < wanted and attempts < 3 * wanted:
        attempts += 1
        stage, sig = rng.choice(["prepare", "train"]), rng.choice([signal.SIGINT, signal.SIGTERM])
        # A new value each time, so that a run that completes changes its outputs and commits.
        value = ["-p", "image_size", str(100 + attempts)] if stage == "prepare" else [
            "-p", "max_iter", str(10 + attempts)]
        head = git(clone, "rev-parse", "HEAD")
        run = start(clone, "run", stage, *value, "--container", container)
        started = time.monotonic()
        time.sleep(rng.uniform(0.15, 0.98) * durations[stage])  # up to the save at its end
        os.kill(run.pid, sig)
        printed = run.communicate(timeout=600)[0]
        if run.returncode == 0:  # it ended before the signal: runs are shorter than measured
            durations[stage] = min(durations[stage], time.monotonic() - started)
        # The kernel may print its own traceback on SIGINT; ours must never show one.
        assert not OUR_FRAME.search(printed) and "unsaved changes" not in printed, printed
        if run.returncode == 0:
            continue  # it ended before the signal: not an interruption
        interrupted += 1
        assert run.returncode == signal_exit_code(sig), printed
        assert f"interrupted ({sig.name})" in printed, printed
        new = git(clone, "rev-parse", "HEAD")
        if new != head:  # the message must say what the history holds
            assert re.search(rf"(recorded it: commit|clean at commit) {new[:7]}", printed), printed
            assert f"executed/{stage}.ipynb" in run_record(clone, new)["outputs"]
        else:
            assert "recorded it" not in printed, printed
            assert ("nothing was saved" in printed
                    or f"clean at commit {head[:7]}" in printed), printed
        assert git(clone, "status", "--porcelain") == "", printed
        annexed_content_complete(clone)
        recovered += 1

    for stage in ("prepare", "train"):  # the next runs succeed
        setting = ["image_size", "64"] if stage == "prepare" else ["max_iter", "5"]
        sh([*PIPELINE, "run", stage, "-p", *setting, "--container", container], clone)
    print(f"\n{recovered}/{interrupted} recovered ({container}, {attempts} attempts)")
    assert interrupted == wanted and recovered == wanted
