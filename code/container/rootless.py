"""Rootless podman that can run the project's containers as the user.

Standard library only: the adapter (adapter.py) runs with any python3.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

from pipeline.errors import PipelineError


class RootlessError(PipelineError):
    """Rootless podman cannot run containers as the user here, and we cannot fix it."""


def config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def storage_conf_text(home: Path, fuse_overlayfs: str) -> str:
    return ("# Written by imageclf (code/container/rootless.py): rootless podman fell back to vfs "
            "here.\n"
            "[storage]\ndriver = \"overlay\"\n"
            f"rootless_storage_path = \"{home}/.local/share/imageclf/containers/storage\"\n"
            f"[storage.options.overlay]\nmount_program = \"{fuse_overlayfs}\"\n")


@functools.lru_cache(maxsize=None)
def storage_conf(containers_conf: str | None) -> Path | None:
    """A storage.conf for rootless podman where its own choice, vfs, cannot run our containers.

    Where the kernel refuses native rootless overlay (e.g. a home on overlayfs), podman falls back
    to vfs, and a vfs container started as the user (``--userns keep-id``) cannot even stat
    /bin/sh. Overlay through fuse-overlayfs works. A store of its own (not the user's default,
    whose database would insist on vfs) keeps the user's images and settings untouched.
    """
    project_conf = config_home() / "imageclf" / "storage.conf"
    if project_conf.exists():
        return project_conf
    if (config_home() / "containers" / "storage.conf").exists():
        return None  # the user chose a storage: respect it
    env = dict(os.environ, **({"CONTAINERS_CONF": containers_conf} if containers_conf else {}))
    probe = subprocess.run(["podman", "info", "--format", "{{.Store.GraphDriverName}}"], env=env,
                           capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if probe.stdout.strip() != "vfs":
        return None
    fuse_overlayfs = shutil.which("fuse-overlayfs")
    if not fuse_overlayfs:
        raise RootlessError("Rootless podman stores images here with the vfs driver, with which a "
                            "container cannot run as you. Install fuse-overlayfs (`sudo apt-get "
                            "install fuse-overlayfs`, or `make engine` as root) and run again.")
    project_conf.parent.mkdir(parents=True, exist_ok=True)
    project_conf.write_text(storage_conf_text(Path.home(), fuse_overlayfs))
    print(f"rootless podman: overlay storage through fuse-overlayfs, configured in {project_conf}",
          file=sys.stderr, flush=True)
    return project_conf
