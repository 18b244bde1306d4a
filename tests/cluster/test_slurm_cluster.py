"""code/cluster/slurm.sh: a single-node SLURM that starts, runs an array job and stops clean.

It runs the machine's one test cluster (the one CI starts before the tests): a test that finds
it running starts it again at the end, so the sweep tests after it still have it. It holds the
cluster alone meanwhile: a sweep test on another worker neither sees its array job nor loses the
cluster under it."""
import os
import shutil
import subprocess
import time
from pathlib import Path

from helpers import REPO, require, sharing

SCRIPT = REPO / "code" / "cluster" / "slurm.sh"
DAEMONS = {"slurmctld", "slurmd"}


def cluster(action: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), action], capture_output=True, text=True, check=check,
                          timeout=300)


def slurm_env() -> dict:
    conf = cluster("env").stdout.strip().split("=", 1)[1]
    return {**os.environ, "SLURM_CONF": conf}


def running(names: set[str]) -> list[str]:
    """Processes of these names on the machine, as ``name(pid)``."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            name = (proc / "comm").read_text().strip()
        except OSError:
            continue
        if proc.name.isdigit() and name in names:
            found.append(f"{name}({proc.name})")
    return found


def node_states(env: dict, settle: float = 60) -> list[str]:
    """The node's state once a job that just ended (another test's) has left it."""
    deadline = time.monotonic() + settle
    while True:
        states = subprocess.run(["sinfo", "-h", "-o", "%t"], env=env, capture_output=True,
                                text=True, check=True).stdout.split()
        if states == ["idle"] or time.monotonic() > deadline:
            return states
        time.sleep(1)


def test_the_cluster_starts_runs_an_array_and_stops_leaving_no_daemon(tmp_path):
    require(os.geteuid() == 0 and shutil.which("apt-get") is not None,
            "a single-node SLURM needs root and apt (code/cluster/slurm.sh start)")
    with sharing("slurm", exclusive=True):
        was_running = cluster("status", check=False).returncode == 0
        try:
            cluster("start")
            assert "already running" in cluster("start").stdout  # idempotent
            env = slurm_env()
            assert node_states(env) == ["idle"]
            subprocess.run(["sbatch", "--quiet", "--wait", "--array=0-2",
                            "--output", f"{tmp_path}/%a.out",
                            "--wrap", "echo task $SLURM_ARRAY_TASK_ID"],
                           env=env, check=True, timeout=120)
            assert sorted(p.read_text() for p in tmp_path.glob("*.out")) == [
                "task 0\n", "task 1\n", "task 2\n"]

            ours = Path(env["SLURM_CONF"]).parents[1] / "run" / "munge.ours"
            munge_was_ours = ours.exists()
            cluster("stop")
            cluster("stop")  # idempotent
            assert running(DAEMONS | ({"munged"} if munge_was_ours else set())) == []
            assert cluster("status", check=False).returncode == 3
        finally:
            if was_running:
                cluster("start")
