"""The container cannot touch the dataset's machinery, and an interrupted run leaves nothing
running (real podman through the registered image; code/container/sandbox.py and adapter.py)."""
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from helpers import git, require, sh, tool_env
from container import adapter

PROBE = '''\
import os, pathlib

def attempt(path):
    try:
        with open(path, "a") as target:
            target.write("written from inside")
        return "written"
    except OSError as error:
        return type(error).__name__

print("uid_map:", " ".join(open("/proc/self/uid_map").read().split()))
print("git:", attempt(".git/hooks/post-commit"))
print("annex:", attempt(os.path.realpath("annexed.bin")))
print("code:", attempt("code/pipeline/__init__.py"))
print("venv sees:", sorted(os.listdir(".venv")))
attempt(".venv/evil.pth")
pathlib.Path("out/result.txt").write_text("ok")
'''


@pytest.fixture(scope="module")
def isolated_clone(tmp_path_factory, registered_dataset):
    """One clone for both tests (each leaves it clean): fetching the image twice costs CI time."""
    require(bool(shutil.which("podman")), "podman (the isolation is podman's)")
    clone = tmp_path_factory.mktemp("isolated") / "ds"
    sh(["datalad", "clone", str(registered_dataset), str(clone)], clone.parent)
    return clone.resolve()


def podman_containers(clone: Path) -> str:
    listed = subprocess.run(["podman", "ps", "-a", "-q", "--filter",
                             f"label=imageclf.dataset={clone}"],
                            capture_output=True, text=True, env=tool_env(clone))
    return listed.stdout.strip()


def test_container_cannot_write_git_venv_annex_or_code_but_writes_outputs(isolated_clone):
    clone = isolated_clone
    (clone / "probe.py").write_text(PROBE)
    (clone / "annexed.bin").write_bytes(bytes(range(256)) * 16)
    (clone / "out").mkdir()
    (clone / "out" / ".keep").write_text("")
    sh(["datalad", "save", "-m", "probe"], clone)
    assert (clone / "annexed.bin").is_symlink()  # annexed: content in .git/annex/objects
    annexed = (clone / "annexed.bin").read_bytes()
    (clone / ".venv").mkdir()
    (clone / ".venv" / "marker").write_text("host only")
    # A container left behind by an adapter that was killed (SIGKILL): the next run removes it.
    image = adapter.image_id(clone / ".datalad/environments/software/image")
    sh(["podman", "create", "--label", f"imageclf.dataset={clone}",
        "--label", "imageclf.adapter=1-1", image, "true"], clone)

    printed = sh(["datalad", "containers-run", "-n", "software", "--explicit", "--output", "out",
                  "python3 probe.py"], clone).stdout

    assert "uid_map:" in printed and "uid_map: 0 0 4294967295" not in printed  # never host root
    assert "git: OSError" in printed or "git: PermissionError" in printed
    assert not (clone / ".git" / "hooks" / "post-commit").exists()
    assert "annex: written" not in printed and (clone / "annexed.bin").read_bytes() == annexed
    assert "code: written" not in printed
    assert "venv sees: []" in printed  # hidden: an empty folder in its place
    assert sorted(os.listdir(clone / ".venv")) == ["marker"]
    assert (clone / "out" / "result.txt").read_text() == "ok"
    assert os.stat(clone / "out" / "result.txt").st_uid == os.getuid()  # owned by the user again
    assert os.stat(clone).st_uid == os.getuid()
    assert git(clone, "status", "--porcelain") == ""  # the run record holds the output
    assert podman_containers(clone) == ""


def test_interrupt_stops_the_container_and_nothing_writes_afterwards(isolated_clone):
    clone = isolated_clone
    (clone / "ticks").mkdir()
    writer = ("import itertools, pathlib, time\n"
              "for i in itertools.count():\n"
              "    pathlib.Path('ticks/now').write_text(str(i)); time.sleep(0.1)\n")
    (clone / "writer.py").write_text(writer)
    sh(["datalad", "save", "-m", "writer"], clone)
    run = subprocess.Popen(["datalad", "containers-run", "-n", "software", "--explicit",
                            "--output", "ticks", "python3 writer.py"], cwd=clone,
                           env=tool_env(clone), start_new_session=True, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 180
    while not (clone / "ticks" / "now").exists():
        assert run.poll() is None and time.monotonic() < deadline, \
            run.stdout.read() if run.poll() else "timeout"
        time.sleep(0.2)
    os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    printed, _ = run.communicate(timeout=120)
    assert "stopping the container" in printed
    assert podman_containers(clone) == ""  # none left, not even in state Created
    now = clone / "ticks" / "now"
    before = now.stat().st_mtime_ns, now.read_text()
    time.sleep(10)
    assert (now.stat().st_mtime_ns, now.read_text()) == before
    assert os.stat(clone / "ticks" / "now").st_uid == os.getuid()
    shutil.rmtree(clone / "ticks")  # the interrupted run's leftover: clean for the next test
    assert git(clone, "status", "--porcelain") == ""
