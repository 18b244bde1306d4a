"""Every containers-run holds the dataset's lock, a hand-typed one too (the lock is the
adapter's, whatever the engine: tested with podman), and a run killed with SIGKILL (every
process of it, the container's included) leaves a dataset git accepts at once; the next command
settles it (in podman, and in Docker, which loads the image from the dataset)."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from container import grant
from helpers import git, require, sh, tool_env
from test_docker import docker_answers

PIPELINE = [sys.executable, "-m", "pipeline"]
WRITER = ("import itertools, pathlib, time\n"
          "for i in itertools.count():\n"
          "    pathlib.Path('ticks/now').write_text(str(i)); time.sleep(0.1)\n"
          "    if pathlib.Path('ticks/stop').exists(): break\n")


@pytest.fixture(params=["podman", "docker"])
def engine(request):
    if request.param == "docker":
        require(docker_answers(), "a Docker daemon (as root: code/container/dockerd.sh start)")
    return request.param


def start(args, clone, engine):
    return subprocess.Popen(args, cwd=clone, env=tool_env(clone, CONTAINER_ENGINE=engine),
                            start_new_session=True, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for(path: Path, process: subprocess.Popen, seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, process.stdout.read()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.1)


def hand_typed(clone, engine):
    """A containers-run as docs/workflow.md teaches it, typed by hand (no lock of ours)."""
    return start(["datalad", "containers-run", "-n", "software", "-m", "ticks", "--explicit",
                  "--output", "ticks", "python3 writer.py"], clone, engine)


def test_a_hand_typed_containers_run_and_a_pipeline_run_take_turns(container_clone):
    clone, engine = container_clone, "podman"
    (clone / "ticks").mkdir()
    (clone / "ticks" / ".keep").write_text("")
    (clone / "writer.py").write_text(WRITER)
    sh(["datalad", "save", "-m", "writer"], clone)
    start_commit = git(clone, "rev-parse", "HEAD")

    by_hand = hand_typed(clone, engine)
    wait_for(clone / "ticks" / "now", by_hand)
    pipeline = start([*PIPELINE, "run", "prepare"], clone, engine)
    first = pipeline.stdout.readline()
    assert first.startswith(f"Waiting for pid {by_hand.pid} (`datalad containers-run -n "
                            "software"), first
    time.sleep(2)
    assert pipeline.poll() is None and git(clone, "rev-parse", "HEAD") == start_commit
    (clone / "ticks" / "stop").write_text("")
    assert by_hand.wait(timeout=240) == 0, by_hand.stdout.read()
    printed = pipeline.communicate(timeout=600)[0]
    assert pipeline.returncode == 0, printed
    subjects = git(clone, "log", "--format=%s", f"{start_commit}..HEAD").splitlines()
    assert subjects[1] == "[DATALAD RUNCMD] ticks" and "Prepare" in subjects[0], subjects

    # And the other way round: the hand-typed run waits for the pipeline's; since that one
    # commits meanwhile (datalad would refuse to record across it), it runs nothing and says to
    # run it again, which then works.
    for name in ("stop", "now"):
        (clone / "ticks" / name).unlink()
    sh(["datalad", "save", "-m", "go on"], clone)
    pipeline = start([*PIPELINE, "run", "train"], clone, engine)
    deadline = time.monotonic() + 240
    while not container_processes(clone, engine):  # its container runs: datalad is past its git
        assert pipeline.poll() is None and time.monotonic() < deadline, pipeline.stdout.read()
        time.sleep(0.2)
    by_hand = hand_typed(clone, engine)
    assert pipeline.wait(timeout=600) == 0, pipeline.stdout.read()
    printed = by_hand.communicate(timeout=240)[0]
    assert by_hand.returncode != 0
    assert f"Waiting for pid {pipeline.pid} (`python -m pipeline run train`" in printed
    assert "committed to the dataset" in printed and "run the same command again" in printed
    assert not (clone / "ticks" / "now").exists()  # the container never ran
    assert git(clone, "status", "--porcelain") == ""
    assert "Train" in git(clone, "log", "-1", "--format=%s")
    again = hand_typed(clone, engine)
    wait_for(clone / "ticks" / "now", again)
    (clone / "ticks" / "stop").write_text("")
    assert again.wait(timeout=240) == 0, again.stdout.read()
    assert git(clone, "log", "-1", "--format=%s") == "[DATALAD RUNCMD] ticks"
    assert git(clone, "status", "--porcelain") == ""


def descendants(pid: int) -> set[int]:
    children = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, set()).add(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def container_processes(clone: Path, engine: str) -> set[int]:
    listed = subprocess.run([engine, "ps", "-q", "--filter", f"label=imageclf.dataset={clone}"],
                            capture_output=True, text=True, env=tool_env(clone))
    pids = set()
    for container in listed.stdout.split():
        pid = subprocess.run([engine, "inspect", "--format", "{{.State.Pid}}", container],
                             capture_output=True, text=True).stdout.strip()
        if pid.isdigit() and int(pid):
            pids |= {int(pid), *descendants(int(pid))}
    return pids


def test_a_run_killed_outright_leaves_a_dataset_git_accepts(container_clone, engine):
    require(os.getuid() == 0, "root (the run id's grant is what a kill must not leave behind)")
    clone = container_clone.resolve()
    head = git(clone, "rev-parse", "HEAD")
    run = start([*PIPELINE, "run", "prepare"], clone, engine)
    deadline = time.monotonic() + 240
    inside = set()
    while not inside:  # the notebook is running in the container
        assert run.poll() is None and time.monotonic() < deadline, run.stdout.read()
        inside = container_processes(clone, engine)
        time.sleep(0.3)
    assert grant.journal_path(clone).exists()
    victims = {run.pid, *descendants(run.pid), *inside}
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    run.wait()

    # At once, from another shell: git works, the work tree is still the user's.
    status = subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True,
                            text=True, env=tool_env())
    assert status.returncode == 0, status.stderr
    assert os.stat(clone).st_uid == os.getuid()

    # The next command settles the run as it always has, and the grant is undone.
    after = sh([*PIPELINE, "run", "prepare"], clone, CONTAINER_ENGINE=engine)
    assert "was not recorded" in after.stdout + after.stderr
    assert git(clone, "rev-parse", "HEAD~1") == head  # the next prepare only
    assert git(clone, "status", "--porcelain") == ""
    assert not grant.journal_path(clone).exists()
    for folder in (clone / "data", clone / "executed"):
        assert {os.lstat(path).st_uid for path in folder.iterdir()} == {os.getuid()}
    assert {os.stat(clone / folder).st_mode & 0o7777 for folder in (".", "data", "executed")} \
        == {0o755}
    assert container_processes(clone, engine) == set()
