"""Sweeps with real datalad, git-annex and podman: jobs in throwaway clones on branches of their
own, pushed back under the lock, merged with one commit; interrupted and resumed; verified."""
import json
import signal
import subprocess
import sys
import time

from helpers import git, sh, tool_env
from imagenette_fixture import GOLF, PARACHUTE

PAIRS = f"""\
# a class-pair sweep: each order of the two classes is a prepare of its own; `broken` shares
# the first prepare and fails in train (more codebook entries than the data has patches: only a
# run can find that out, the values pass every check)
set: {{train: {{classifier: sgd, max_iter: 5}}}}
jobs:
  golf-parachute: {{prepare: {{categories: {{{GOLF}: golf ball, {PARACHUTE}: parachute}}}}}}
  parachute-golf: {{prepare: {{categories: {{{PARACHUTE}: parachute, {GOLF}: golf ball}}}}}}
  broken:
    prepare: {{categories: {{{GOLF}: golf ball, {PARACHUTE}: parachute}}}}
    train: {{features: patches, codebook_size: 1000000}}
"""
SWEEP = [sys.executable, "-m", "pipeline", "sweep"]


def save_sweep(clone, name: str, text: str) -> None:
    (clone / "sweeps" / f"{name}.yaml").write_text(text)
    sh(["datalad", "save", "-m", f"Sweep {name}", f"sweeps/{name}.yaml"], clone)


def branch_tip(clone, branch: str) -> str:
    return sh(["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"], clone,
              check=False).stdout.strip()


def wait_for(condition, what: str, process, limit: float = 600.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert process.poll() is None, f"the sweep ended before {what}: {process.communicate()}"
        assert time.monotonic() < deadline, f"no {what} after {limit} s"
        time.sleep(0.5)


def test_an_interrupted_sweep_resumes_and_one_commit_reaches_every_job(clone_with_data, tmp_path):
    clone = clone_with_data
    save_sweep(clone, "pairs", PAIRS)
    tree = git(clone, "rev-parse", "HEAD^{tree}")
    scratch = clone / ".git" / "imageclf-sweeps" / "pairs"

    # Both prepares, then the jobs: Ctrl-C once the first job has pushed its branch.
    first = subprocess.Popen([*SWEEP, "sweeps/pairs.yaml", "-j", "2", "--container", "none"],
                             cwd=clone, env=tool_env(clone), stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: branch_tip(clone, "sweep/pairs/golf-parachute"), "first job branch", first)
    first.send_signal(signal.SIGINT)
    out, err = first.communicate(timeout=300)
    assert first.returncode == 130, (out, err)
    kept = branch_tip(clone, "sweep/pairs/golf-parachute")
    # the other job may have finished too; if not, it left nothing half there
    done = 1 + bool(branch_tip(clone, "sweep/pairs/parachute-golf"))
    assert f"interrupted (SIGINT): {done} of 3 jobs have their branch" in err, err
    assert not (scratch.exists() and any(scratch.iterdir())), "a scratch clone was left behind"
    assert git(clone, "status", "--porcelain") == ""

    # Run again: only the jobs without a result run; the failing one does not stop the other.
    again = sh([*SWEEP, "sweeps/pairs.yaml", "-j", "2", "--container", "none"], clone, check=False)
    assert again.returncode == 1, again  # exit code: the number of failed jobs
    assert (f"3 jobs from sweeps/pairs.yaml, {done} with a result already (kept); "
            f"running {3 - done}") in again.stdout
    failed = [line for line in again.stderr.splitlines() if line.startswith("FAILED broken")]
    assert failed, again.stderr
    log = failed[0].rsplit("log: ", 1)[1]
    assert "n_clusters=1000000" in open(log).read()
    assert branch_tip(clone, "sweep/pairs/golf-parachute") == kept
    other = branch_tip(clone, "sweep/pairs/parachute-golf")
    assert other and not branch_tip(clone, "sweep/pairs/broken")
    # jobs with equal prepare parameters shared one prepare: two for three jobs
    assert len(git(clone, "for-each-ref", "refs/sweep-bases/pairs").splitlines()) == 2
    assert git(clone, "rev-parse", f"{other}~2") != git(clone, "rev-parse", f"{kept}~2")

    # One commit on the user's branch records both jobs; the tag reaches them; the tree is kept.
    merge = git(clone, "rev-parse", "HEAD")
    assert git(clone, "rev-parse", "sweep/pairs") == merge
    assert set(git(clone, "log", "-1", "--format=%P", merge).split()[1:]) == {kept, other}
    assert git(clone, "rev-parse", "HEAD^{tree}") == tree
    assert git(clone, "status", "--porcelain") == ""
    for branch in ("sweep/pairs/golf-parachute", "sweep/pairs/parachute-golf"):
        fsck = sh(["git", "annex", "fsck", "--fast", "--branch", branch], clone)
        assert "fixing" not in fsck.stdout and "failed" not in fsck.stdout, fsck.stdout
        record = git(clone, "log", "-1", "--format=%B", f"{branch}~1")
        assert "-p classifier sgd -p max_iter 5" in record  # the job's overrides, recorded
    assert not (scratch.exists() and any(scratch.iterdir()))

    # The summary: both accuracies, the failed job without a result, and the plot.
    summary = sh([*SWEEP, "pairs", "--summary"], clone).stdout
    accuracy = json.loads(git(clone, "show", f"{kept}:accuracy.json"))["accuracy"]
    rows = summary.replace("**", "").splitlines()
    row = next(line for line in rows if line.startswith("| golf-parachute | golf ball+parachute |"))
    assert f"| {accuracy:.4f} |" in row
    assert "| broken |" in summary and "no result" in summary
    assert (clone / "results" / "sweeps" / "pairs.png").stat().st_size > 1000

    # verify reproduces a job byte for byte in a fresh clone.
    fresh = tmp_path / "fresh"
    sh(["datalad", "clone", str(clone), str(fresh)], tmp_path)
    job = "origin/sweep/pairs/golf-parachute"
    verified = sh([sys.executable, "-m", "pipeline", "verify", f"{job}~2..{job}"], fresh)
    assert "0 different" in verified.stdout, verified.stdout


def test_a_container_sweep_pushes_jobs_finishing_together(container_clone):
    clone = container_clone
    save_sweep(clone, "pair", "grid: {train: {max_iter: [5, 6]}}\n")
    result = sh([*SWEEP, "pair", "-j", "2"], clone)
    assert "fixed cost per job" in result.stdout
    for value in (5, 6):
        branch = f"sweep/pair/max_iter-{value}"
        assert git(clone, "merge-base", "--is-ancestor", branch, "sweep/pair") == ""
        message = git(clone, "log", "-1", "--format=%B", f"{branch}~1")
        assert "datalad containers-run" in message or ".datalad/environments/software" in message
        assert f"max_iter={value}" in message
    assert sh(["git", "annex", "fsck", "--fast", "--all", "--quiet"], clone).returncode == 0
    leftovers = sh(["podman", "ps", "-a", "--format", "{{.Mounts}}"], clone, check=False).stdout
    assert str(clone / ".git" / "imageclf-sweeps") not in leftovers  # this sweep's alone


def test_after_the_story_a_sweep_starts_from_its_prepare_result(story_clone, tmp_path):
    """The story's prepare is what a sweep of train settings would compute again: the jobs
    start from it (no prepare run), and get its pixels from the dataset."""
    story, _ = story_clone
    clone = tmp_path / "ds"
    sh(["datalad", "clone", str(story), str(clone)], tmp_path)
    sh(["git", "config", "annex.hardlink", "true"], clone)  # the image: a link, not a copy
    save_sweep(clone, "after", "jobs: {sgd-7: {train: {classifier: sgd, max_iter: 7}}}\n")
    start = git(clone, "rev-parse", "HEAD")
    result = sh([*SWEEP, "after", "-j", "1"], clone)
    assert "0 prepare run(s)" in result.stdout, result.stdout
    assert "the jobs start from your branch's prepare run" in result.stdout
    assert not list((clone / ".git/imageclf-logs/sweeps/after").glob("prepare-*.log"))
    branch = "sweep/after/sgd-7"
    assert git(clone, "rev-parse", f"{branch}~2") == start  # train and evaluate, on HEAD
    assert "max_iter=7" in git(clone, "log", "-1", "--format=%B", f"{branch}~1")
    assert 0 < json.loads(git(clone, "show", f"{branch}:accuracy.json"))["accuracy"] <= 1
