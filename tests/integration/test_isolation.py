"""The container cannot touch the dataset's machinery or any file that is not a declared output,
is never host root, and an interrupted run leaves nothing running: in podman and in Docker, which
loads the registered image from the dataset (code/container/sandbox.py, grant.py, adapter.py)."""
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from container import adapter, grant, sandbox
from helpers import git, require, sh, tool_env
from pipeline.image import IMAGE_DIR
from test_docker import docker_answers

PROBE = '''\
import os, pathlib

def attempt(path):
    try:
        with open(path, "a") as target:
            target.write("written from inside")
        return "written"
    except OSError as error:
        return type(error).__name__

def host_id(table, inside):
    for line in open(table):
        start, host, count = map(int, line.split())
        if start <= inside < start + count:
            return host + inside - start

print("host uid:", host_id("/proc/self/uid_map", os.getuid()))
print("git:", attempt(".git/hooks/post-commit"))
print("annex:", attempt(os.path.realpath("annexed.bin")))
print("code:", attempt("code/pipeline/__init__.py"))
print("tracked:", attempt("probe.py"))
print("venv sees:", sorted(os.listdir(".venv")))
try:
    os.setuid(0)
    print("setuid: done")
except OSError as error:
    print("setuid:", type(error).__name__)
attempt(".venv/evil.pth")
pathlib.Path("out/result.txt").write_text("ok")
'''


@pytest.fixture(params=["podman", "docker"])
def engine(request):
    if request.param == "docker":
        require(docker_answers(), "a Docker daemon (as root: code/container/dockerd.sh start)")
    return request.param


@pytest.fixture(scope="module")
def isolated_clone(tmp_path_factory, registered_dataset):
    """One clone for the tests (each leaves it clean): fetching the image twice costs CI time."""
    require(bool(shutil.which("podman")), "podman (the isolation is podman's)")
    clone = tmp_path_factory.mktemp("isolated") / "ds"
    sh(["datalad", "clone", str(registered_dataset), str(clone)], clone.parent)
    return clone.resolve()


def containers(clone: Path, engine: str) -> str:
    listed = subprocess.run([engine, "ps", "-a", "-q", "--filter",
                             f"label=imageclf.dataset={clone}"],
                            capture_output=True, text=True, env=tool_env(clone))
    return listed.stdout.strip()


def test_container_writes_its_outputs_and_nothing_else_and_never_as_host_root(isolated_clone,
                                                                              engine):
    clone = isolated_clone
    out = f"out-{engine}"
    (clone / "probe.py").write_text(PROBE.replace("out/", f"{out}/"))
    if not (clone / "annexed.bin").exists():
        (clone / "annexed.bin").write_bytes(bytes(range(256)) * 16)
    (clone / out).mkdir()
    (clone / out / ".keep").write_text("")
    sh(["datalad", "save", "-m", f"probe for {engine}"], clone)
    assert (clone / "annexed.bin").is_symlink()  # annexed: content in .git/annex/objects
    annexed = (clone / "annexed.bin").read_bytes()
    (clone / ".venv").mkdir(exist_ok=True)
    (clone / ".venv" / "marker").write_text("host only")
    # A container left behind by an adapter that was killed (SIGKILL): the next run removes it.
    sh(["datalad", "get", IMAGE_DIR], clone)
    image = adapter.ensure_loaded(engine, clone / IMAGE_DIR)
    sh([engine, "create", "--label", f"imageclf.dataset={clone}",
        "--label", "imageclf.adapter=1-1", image, "true"], clone)
    untouched = {path: os.lstat(clone / path) for path in ("probe.py", "README.md", "code")}

    printed = sh(["datalad", "containers-run", "-n", "software", "--explicit", "--output", out,
                  "python3 probe.py"], clone, CONTAINER_ENGINE=engine).stdout

    host_uid = int(re.search(r"host uid: (\d+)", printed).group(1))
    assert host_uid != 0  # never host root
    if os.getuid() == 0:  # as root: the run id, which may write the declared outputs alone
        assert host_uid == sandbox.id_mapping()[0]
        assert "tracked: PermissionError" in printed
    else:
        assert host_uid == os.getuid()
    assert "git: OSError" in printed or "git: PermissionError" in printed
    assert not (clone / ".git" / "hooks" / "post-commit").exists()
    assert "annex: written" not in printed and (clone / "annexed.bin").read_bytes() == annexed
    assert "code: written" not in printed
    assert "venv sees: []" in printed  # hidden: an empty folder in its place
    assert sorted(os.listdir(clone / ".venv")) == ["marker"]
    assert (clone / out / "result.txt").read_text() == "ok"
    assert os.stat(clone / out / "result.txt").st_uid == os.getuid()  # owned by the user again
    assert os.stat(clone).st_uid == os.getuid()
    # Nothing but the outputs changed owner, mode or ctime (git re-reads none of them):
    assert {path: os.lstat(clone / path) for path in untouched} == untouched
    assert git(clone, "status", "--porcelain") == ""  # the run record holds the output
    assert containers(clone, engine) == ""
    assert not grant.journal_path(clone).exists()


def test_interrupt_stops_the_container_and_nothing_writes_afterwards(isolated_clone, engine):
    clone = isolated_clone
    (clone / "ticks").mkdir()
    writer = ("import itertools, pathlib, time\n"
              "for i in itertools.count():\n"
              "    pathlib.Path('ticks/now').write_text(str(i)); time.sleep(0.1)\n")
    (clone / "writer.py").write_text(writer)
    sh(["datalad", "save", "-m", "writer"], clone)
    run = subprocess.Popen(["datalad", "containers-run", "-n", "software", "--explicit",
                            "--output", "ticks", "python3 writer.py"], cwd=clone,
                           env=tool_env(clone, CONTAINER_ENGINE=engine), start_new_session=True,
                           stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 180
    while not (clone / "ticks" / "now").exists():
        assert run.poll() is None and time.monotonic() < deadline, \
            run.stdout.read() if run.poll() else "timeout"
        time.sleep(0.2)
    os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    printed, _ = run.communicate(timeout=120)
    assert "stopping the container" in printed
    assert containers(clone, engine) == ""  # none left, not even in state Created
    now = clone / "ticks" / "now"
    before = now.stat().st_mtime_ns, now.read_text()
    time.sleep(10)
    assert (now.stat().st_mtime_ns, now.read_text()) == before
    assert os.stat(clone / "ticks" / "now").st_uid == os.getuid()
    shutil.rmtree(clone / "ticks")  # the interrupted run's leftover: clean for the next test
    assert git(clone, "status", "--porcelain") == ""
