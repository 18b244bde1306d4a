"""A Docker daemon that cannot run our containers stops a run with the fix named."""
import os
import shutil
import subprocess

import pytest

from container import daemon


def answering(returncode: int, stdout: str = "", stderr: str = ""):
    return lambda *args, **kwargs: subprocess.CompletedProcess(args, returncode, stdout, stderr)


@pytest.mark.parametrize("stderr, fix", [
    ("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon "
     "running?", "code/container/dockerd.sh start"),
    ("permission denied while trying to connect to the Docker daemon socket at "
     "unix:///var/run/docker.sock: connect: permission denied", "usermod -aG docker"),
])
def test_a_daemon_not_running_or_out_of_reach_names_the_fix(monkeypatch, stderr, fix):
    monkeypatch.setattr(daemon.subprocess, "run", answering(1, "null\n", stderr))
    with pytest.raises(daemon.DaemonError, match=fix) as raised:
        daemon.check("docker", {})
    assert stderr.split(":")[0] in str(raised.value)  # what Docker said, too


def test_userns_remap_is_refused_with_the_fix(monkeypatch):
    options = '["name=seccomp,profile=default","name=userns"]'
    monkeypatch.setattr(daemon.subprocess, "run", answering(0, options))
    with pytest.raises(daemon.DaemonError, match='remove "userns-remap" from /etc/docker'):
        daemon.check("docker", {})


def test_rootless_and_rootful_daemons_are_told_apart(monkeypatch):
    monkeypatch.setattr(daemon.subprocess, "run",
                        answering(0, '["name=seccomp,profile=default","name=rootless"]'))
    assert daemon.check("docker", {}).rootless
    monkeypatch.setattr(daemon.subprocess, "run", answering(0, '["name=seccomp"]'))
    assert not daemon.check("docker", {}).rootless


def test_a_real_client_without_a_daemon(tmp_path):
    """The docker CLI itself, pointed at a socket nobody serves."""
    if not shutil.which("docker"):
        pytest.skip("no docker CLI")
    env = dict(os.environ, DOCKER_HOST=f"unix://{tmp_path}/docker.sock")
    with pytest.raises(daemon.DaemonError, match="The Docker daemon is not running"):
        daemon.check("docker", env)
