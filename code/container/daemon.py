"""Whether a Docker daemon can run the project's containers, and how it maps ids.

Checked before anything else in a run, so that a daemon that is not running, one the user may not
reach, or one that remaps ids stops the run with the fix in one message and the dataset as it
was. Podman has no daemon: there is nothing to check.

Docker's security options say how the daemon maps ids: ``name=rootless`` (rootless Docker: the
container's root is the user, nothing to map) and ``name=userns`` (``userns-remap``: the daemon
shifts every id itself, so the adapter could not know the host ids its outputs must belong to).

Standard library only: the adapter (adapter.py) runs with any python3.
"""
from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass

from pipeline.errors import PipelineError

NOT_RUNNING = ("cannot connect to the docker daemon", "is the docker daemon running",
               "no such file or directory", "connection refused")


class DaemonError(PipelineError):
    """The Docker daemon cannot run our containers; the message says how to fix it."""


@dataclass(frozen=True)
class Daemon:
    rootless: bool  # rootless Docker: the container's root is the user who runs the daemon


def security_options(engine: str, env: dict[str, str]) -> list[str]:
    """``docker info``'s security options, or a DaemonError that names the fix."""
    try:
        info = subprocess.run([engine, "info", "--format", "{{json .SecurityOptions}}"], env=env,
                              capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              timeout=60)
    except subprocess.TimeoutExpired:
        raise DaemonError(f"`{engine} info` did not answer within 60 s: the Docker daemon hangs. "
                          "Restart it, or use podman (CONTAINER_ENGINE=podman).") from None
    if info.returncode != 0:
        raise DaemonError(explain(engine, info.stderr))
    try:
        return list(json.loads(info.stdout) or [])
    except ValueError:
        return []


def explain(engine: str, stderr: str) -> str:
    """The fix for what ``docker info`` said."""
    said = (stderr.strip().splitlines() or ["no message"])[-1]
    lowered = stderr.lower()
    if "permission denied" in lowered:
        return (f"You may not use the Docker daemon ({said}). Add yourself to the group docker "
                "(`sudo usermod -aG docker $USER`, then log in again), or use rootless Docker "
                "(`dockerd-rootless-setuptool.sh install`) or podman (CONTAINER_ENGINE=podman).")
    if any(sign in lowered for sign in NOT_RUNNING):
        return (f"The Docker daemon is not running ({said}). Start it (`sudo systemctl start "
                "docker`; without systemd, as root: `code/container/dockerd.sh start`), or use "
                "podman (CONTAINER_ENGINE=podman).")
    return f"`{engine} info` failed: {said}. Check that Docker works (`{engine} info`)."


def check(engine: str, env: dict[str, str]) -> Daemon:
    """How the Docker daemon ``engine`` talks to runs containers; DaemonError if it cannot run
    ours as the adapter requires."""
    options = security_options(engine, env)
    names = {option.split(",", 1)[0] for option in options}
    if "name=userns" in names:
        raise DaemonError(
            "The Docker daemon runs with userns-remap, which shifts every id of a container by "
            "itself, so the files the container writes could not be handed back to you. Turn it "
            "off (remove \"userns-remap\" from /etc/docker/daemon.json and restart dockerd; "
            "the adapter runs each container as an unprivileged id of its own anyway), or use "
            "podman (CONTAINER_ENGINE=podman) or rootless Docker.")
    return Daemon(rootless="name=rootless" in names)
