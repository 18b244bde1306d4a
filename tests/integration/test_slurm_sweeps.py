"""Sweeps through a real SLURM (code/cluster/slurm.sh): the jobs as array tasks submitted with
sbatch, followed with squeue, their results through RIA stores, merged as local sweeps are,
with the same bytes as a local run."""
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import REPO, git, require, sh, sharing, tool_env

SWEEP = [sys.executable, "-m", "pipeline", "sweep"]
JOBS = """\
# three SGD jobs and one that fails in train (a codebook larger than the data's patches)
set: {train: {classifier: sgd}}
jobs:
  it-4: {train: {max_iter: 4}}
  it-5: {train: {max_iter: 5}}
  it-6: {train: {max_iter: 6}}
  broken: {train: {features: patches, codebook_size: 1000000}}
"""


@pytest.fixture(autouse=True)
def shared_cluster():
    """The test cluster stays up while these tests use it (test_slurm_cluster.py stops it)."""
    with sharing("slurm"):
        yield


def save_sweep(clone: Path, name: str, text: str) -> None:
    (clone / "sweeps" / f"{name}.yaml").write_text(text)
    sh(["datalad", "save", "-m", f"Sweep {name}", f"sweeps/{name}.yaml"], clone)


def branch_tip(clone: Path, branch: str) -> str:
    return sh(["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"], clone,
              check=False).stdout.strip()


def slurm_env(clone: Path) -> dict:
    """The tools' environment with SLURM_CONF: the caller's, else the test cluster's."""
    env = tool_env(clone)
    if "SLURM_CONF" not in env:
        line = subprocess.run([str(REPO / "code" / "cluster" / "slurm.sh"), "env"],
                              capture_output=True, text=True).stdout.strip()
        conf = line.split("=", 1)[-1]
        if Path(conf).is_file():
            env["SLURM_CONF"] = conf
    return env


def output_store(clone: Path) -> Path:
    """The dataset's repository in the default output store (.git/imageclf-ria/output)."""
    ident = git(clone, "config", "-f", ".datalad/config", "datalad.dataset.id")
    return clone / ".git" / "imageclf-ria" / "output" / ident[:3] / ident[3:]


def require_cluster(env: dict) -> None:
    answers = shutil.which("squeue") and subprocess.run(
        ["squeue", "-h"], env=env, capture_output=True).returncode == 0
    require(bool(answers) and "SLURM_CONF" in env,
            "a SLURM cluster (code/cluster/slurm.sh start, then export SLURM_CONF)")


def test_a_sweep_through_sbatch_is_merged_with_the_bytes_of_a_local_run(clone_with_data):
    clone = clone_with_data
    env = slurm_env(clone)
    require_cluster(env)
    save_sweep(clone, "cluster", JOBS)
    save_sweep(clone, "here", "set: {train: {classifier: sgd}}\njobs:\n"
                              "  it-5: {train: {max_iter: 5}}\n")
    tree = git(clone, "rev-parse", "HEAD^{tree}")

    dry = sh([*SWEEP, "cluster", "--executor", "slurm", "--dry-run", "--container", "none",
              "--time", "0:20:00"], clone, SLURM_CONF=env["SLURM_CONF"]).stdout
    assert "#SBATCH --time=0:20:00" in dry and "--dependency=afterany:PREPARE_ID" in dry, dry
    assert not branch_tip(clone, "sweep/cluster/it-4")  # nothing submitted

    sweep = subprocess.Popen([*SWEEP, "cluster", "--executor", "slurm", "--container", "none"],
                             cwd=clone, env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = ""
    while sweep.poll() is None and "imageclf-sweep-cluster" not in seen:
        seen = subprocess.run(["squeue", "-h", "-o", "%j %i"], env=env, capture_output=True,
                              text=True).stdout
        time.sleep(0.3)
    out, err = sweep.communicate(timeout=900)
    assert "imageclf-sweep-cluster" in seen, ("squeue never showed the array", out, err)
    assert sweep.returncode == 1, (out, err)  # one failed job
    assert "$ sbatch --parsable --array=0-3 --dependency=afterany:" in out, out
    failed = [line for line in err.splitlines() if line.startswith("FAILED broken")]
    assert failed, err
    assert "n_clusters=1000000" in open(failed[0].rsplit("log: ", 1)[1]).read()

    # merged as a local sweep: one commit with each job branch as a parent, tagged, tree kept
    jobs = [f"sweep/cluster/it-{n}" for n in (4, 5, 6)]
    tips = {branch_tip(clone, branch) for branch in jobs}
    assert "" not in tips and not branch_tip(clone, "sweep/cluster/broken")
    merge = git(clone, "rev-parse", "HEAD")
    assert git(clone, "rev-parse", "sweep/cluster") == merge
    assert set(git(clone, "log", "-1", "--format=%P", merge).split()[1:]) == tips
    assert git(clone, "rev-parse", "HEAD^{tree}") == tree
    assert git(clone, "status", "--porcelain") == ""
    assert "| it-5 |" in out
    assert "results through RIA stores in" in out, out

    # FAIRly big: the tasks pushed to the output store; the dataset fetched and knows the copies
    store = output_store(clone)
    assert {branch_tip(store, branch) for branch in jobs} == tips
    where = git(clone, "annex", "whereis", "--branch", "sweep/cluster/it-5").split("whereis ")
    model = next(entry for entry in where if entry.startswith("sweep/cluster/it-5:model.joblib"))
    assert "[imageclf-output-storage]" in model, where
    fresh = clone.parent / "fresh"
    sh(["datalad", "clone", str(clone), str(fresh)], clone.parent)
    sh(["git", "checkout", "--quiet", "-b", "it-5", "origin/sweep/cluster/it-5"], fresh)
    sh(["datalad", "get", "model.joblib"], fresh)  # from the output store: only it has a copy
    assert git(fresh, "annex", "find", "model.joblib") == "model.joblib"  # present, checksummed
    record = git(clone, "log", "-1", "--format=%B", "sweep/cluster/it-5~1")
    assert "-p classifier sgd -p max_iter 5" in record
    fsck = sh(["git", "annex", "fsck", "--fast", "--branch", "sweep/cluster/it-5"], clone)
    assert "failed" not in fsck.stdout, fsck.stdout
    scratch = clone / ".git" / "imageclf-sweeps" / "cluster"
    assert not (scratch.exists() and any(scratch.iterdir())), "a scratch clone was left"

    # the same job run here, through the same stores (reused: no "sibling exists"): the same
    # bytes in every file, executed notebooks included
    sh([*SWEEP, "here", "--container", "none", "--ria", str(clone / ".git" / "imageclf-ria")],
       clone)
    assert branch_tip(store, "sweep/here/it-5") == branch_tip(clone, "sweep/here/it-5")
    differ = git(clone, "diff", "--name-only", "sweep/here/it-5", "sweep/cluster/it-5")
    assert differ.split() == []


def test_a_sweep_through_sbatch_runs_its_stages_in_the_container(container_clone):
    clone = container_clone
    env = slurm_env(clone)
    require_cluster(env)
    save_sweep(clone, "boxed", "grid: {train: {max_iter: [5]}}\n")
    sh([*SWEEP, "boxed", "--executor", "slurm"], clone, SLURM_CONF=env["SLURM_CONF"])
    branch = "sweep/boxed/max_iter-5"
    assert git(clone, "merge-base", "--is-ancestor", branch, "sweep/boxed") == ""
    record = git(clone, "log", "-1", "--format=%B", f"{branch}~1")
    assert "datalad containers-run" in record or ".datalad/environments/software" in record
    notebook = git(clone, "show", f"{branch}:executed/train.ipynb")
    assert "container: software" in notebook and str(clone) not in notebook
    leftovers = sh(["podman", "ps", "-a", "--format", "{{.Mounts}}"], clone, check=False).stdout
    assert str(clone / ".git" / "imageclf-sweeps") not in leftovers  # this sweep's alone
