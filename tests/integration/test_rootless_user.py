"""A user who is not root runs the stages through rootless podman (issue 12 item 9).

CI runs as root, so the test creates an unprivileged user with subordinate ids and runs, as that
user (runuser, with its own HOME and XDG_RUNTIME_DIR), what the README has a user do in a clone:
install the input data, then prepare, train and evaluate through datalad containers-run.
"""
import json
import os
import pwd
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from helpers import require, sh

USER = "imageclf-rootless"


def as_user(user: pwd.struct_passwd, args: list[str], cwd: Path, venv_bin: Path, **extra: str):
    env = {"HOME": user.pw_dir, "USER": user.pw_name, "LOGNAME": user.pw_name, "LANG": "C.UTF-8",
           "XDG_RUNTIME_DIR": f"/run/user/{user.pw_uid}", "PATH": f"{venv_bin}:/usr/bin:/bin",
           "CI": os.environ.get("CI", ""), **extra}
    result = subprocess.run(["runuser", "-u", user.pw_name, "--", "env", "-i",
                             *(f"{key}={value}" for key, value in env.items()), *args],
                            cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise AssertionError(f"{args} as {user.pw_name} failed ({result.returncode}):\n"
                             f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


def next_free_range(table: Path) -> int:
    ends = [int(start) + int(count) for _, start, count in
            (line.split(":") for line in table.read_text().split() if line.count(":") == 2)]
    return max([100000, *ends])


@pytest.fixture(scope="module")
def rootless_user():
    require(os.getuid() == 0, "root (to create an unprivileged user)")
    for tool in ("useradd", "runuser", "podman", "newuidmap", "fuse-overlayfs"):
        require(bool(shutil.which(tool)),
                f"{tool} (apt-get install passwd util-linux podman uidmap fuse-overlayfs)")
    try:
        user = pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", USER], check=True)
        user = pwd.getpwnam(USER)
    for table, option in (("/etc/subuid", "--add-subuids"), ("/etc/subgid", "--add-subgids")):
        if not any(line.startswith(f"{USER}:") for line in Path(table).read_text().split()):
            start = next_free_range(Path(table))
            subprocess.run(["usermod", option, f"{start}-{start + 65535}", USER], check=True)
    runtime = Path(f"/run/user/{user.pw_uid}")  # what a login session would give the user
    runtime.mkdir(parents=True, exist_ok=True)
    os.chown(runtime, user.pw_uid, user.pw_gid)
    runtime.chmod(0o700)
    gitconfig = Path(user.pw_dir) / ".gitconfig"
    gitconfig.write_text("[user]\n\tname = Rootless\n\temail = rootless@localhost\n")
    os.chown(gitconfig, user.pw_uid, user.pw_gid)
    return user


def user_venv(user: pwd.struct_passwd, folder: Path) -> Path:
    """The bin folder of a venv the user can run with the tests' packages: the tests' own, or,
    where its interpreter is out of the user's reach (pyenv under /root), one built on the
    system's python3 of the same minor version that reads the tests' installed packages."""
    own = Path(sys.executable).parent
    if subprocess.run(["runuser", "-u", user.pw_name, "--", sys.executable, "-c", "pass"],
                      capture_output=True).returncode == 0:
        return own
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system = shutil.which(version, path="/usr/bin:/bin")
    require(bool(system),
            f"/usr/bin/{version}, or the tests' venv on an interpreter every user can run")
    venv = folder / "venv"
    subprocess.run([system, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = venv / "lib" / version / "site-packages"
    (site / "tests-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    for script in own.iterdir():  # datalad, git-annex, ...: the same entry points, our interpreter
        if script.is_file() and not (venv / "bin" / script.name).exists():
            head = script.read_bytes()[:200]
            if head.startswith(b"#!") and b"python" in head.split(b"\n", 1)[0]:
                body = script.read_text().split("\n", 1)[1]
                (venv / "bin" / script.name).write_text(f"#!{venv}/bin/python\n{body}")
                (venv / "bin" / script.name).chmod(0o755)
    return venv / "bin"


def copy_for(user: pwd.struct_passwd, source: Path, target: Path) -> Path:
    """A copy of a dataset, content included, that the user owns: pytest's folders are private
    to root, and git refuses a repository of another owner."""
    sh(["datalad", "clone", str(source), str(target)], target.parent)
    sh(["datalad", "get", "-r", "."], target)
    sh(["git", "remote", "remove", "origin"], target)  # a clone of it would try root's original
    subprocess.run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", str(target)], check=True)
    return target


def test_stages_run_as_an_unprivileged_user(rootless_user, registered_dataset, small_input_dataset):
    user = rootless_user
    work = Path(user.pw_dir) / f"test-{os.getpid()}"
    work.mkdir()
    try:
        shared = work / "shared"
        shared.mkdir()
        source = copy_for(user, registered_dataset, shared / "analysis")
        inputs = copy_for(user, small_input_dataset, shared / "imagenette")
        venv_bin = user_venv(user, shared)
        mine = work / "mine"
        mine.mkdir()
        os.chown(mine, user.pw_uid, user.pw_gid)
        clone = mine / "ds"
        code = {"PYTHONPATH": str(clone / "code")}

        as_user(user, ["datalad", "clone", str(source), str(clone)], mine, venv_bin)
        as_user(user, ["python", "-m", "pipeline", "data"], clone, venv_bin,
                IMAGENETTE_DATASET=str(inputs), **code)
        start = as_user(user, ["git", "rev-parse", "HEAD"], clone, venv_bin).stdout.strip()
        as_user(user, ["python", "-m", "pipeline", "run"], clone, venv_bin, **code)  # all stages

        subjects = as_user(user, ["git", "log", "--format=%s", f"{start}..HEAD"], clone,
                           venv_bin).stdout
        # prepare, train, evaluate: three run records
        assert subjects.count("[DATALAD RUNCMD]") == 3, subjects
        accuracy = json.loads((clone / "accuracy.json").read_text())
        assert 0.0 <= accuracy["accuracy"] <= 1.0
        assert os.stat(clone / "executed" / "evaluate.ipynb").st_uid == user.pw_uid
        assert as_user(user, ["git", "status", "--porcelain"], clone, venv_bin).stdout == ""
    finally:
        # The user's containers are gone with the runs; its image store stays for the next test run.
        shutil.rmtree(work, ignore_errors=True)
