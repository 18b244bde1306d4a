"""What is built once and shared read-only by the room, beside the Python environment
(environment.py): the proxy, the source clone with its input dataset and registered image, and
a podman image store.

Each part is skipped when it is there already and up to date (a stamp names what it was built
from), so running setup again changes nothing. Everything here is root's, readable by all and
writable by no participant.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tarfile
from pathlib import Path

from container import adapter

from .. import commands, git, image, process
from .layout import PROXY, Layout, WorkshopError

STAMP = ".workshop-built"


def fingerprint(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:16]


def committed(source: Path, paths: list[str]) -> bytes:
    """git's ids of the committed files under ``paths`` (not what a build left beside them)."""
    return git.git(source, "ls-files", "--stage", "--", *paths).encode()


def up_to_date(folder: Path, stamp: str) -> bool:
    return (folder / STAMP).is_file() and (folder / STAMP).read_text().strip() == stamp


def mark(folder: Path, stamp: str) -> None:
    (folder / STAMP).write_text(stamp + "\n")


def proxy(layout: Layout) -> None:
    """configurable-http-proxy from npm, pinned, in a folder of the workshop (never global)."""
    stamp = fingerprint(PROXY.encode())
    if up_to_date(layout.proxy_dir, stamp) and layout.proxy.exists():
        print(f"The proxy {PROXY} is installed in {layout.proxy_dir}.")
        return
    layout.proxy_dir.mkdir(parents=True, exist_ok=True)
    commands.run(["npm", "install", "--prefix", str(layout.proxy_dir), "--no-audit", "--no-fund",
                  "--omit=dev", "--loglevel=error", PROXY])
    mark(layout.proxy_dir, stamp)


def clone_project(layout: Layout, project: Path) -> None:
    """The source clone: the project's committed HEAD (checks.problems: without run records)."""
    if (layout.source / ".git").exists():
        return
    commands.run(["git", "clone", "--quiet", "--no-hardlinks", str(project), str(layout.source)])


def data_and_image(layout: Layout) -> None:
    """The input dataset installed in the source clone and the software image registered, by
    the project's own commands (the image is built, or found in the engine's cache)."""
    env = {"IMAGENETTE_DATASET": str(layout.inputs), "PYTHONPATH": str(layout.source / "code")}
    pipeline = [str(layout.python()), "-m", "pipeline"]
    run_with(env, [*pipeline, "data"], layout.source)
    run_with(env, [*pipeline, "container", "setup"], layout.source)


def run_with(extra: dict[str, str], args: list[str], cwd: Path) -> None:
    commands.print_command(args, cwd)
    done = subprocess.run(args, cwd=cwd, env={**process.tool_env(), **extra},
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise commands.CommandFailed(args, done.returncode)


def store_args(layout: Layout) -> list[str]:
    """podman's options that address the shared store instead of root's own."""
    return ["--root", str(layout.images), "--runroot", str(layout.root / "images-run"),
            "--storage-driver", "overlay"]


def image_store(layout: Layout) -> str:
    """The registered image loaded into a store of the workshop's own, which each participant's
    rootless podman reads as an additional image store (podman's storage.conf,
    ``additionalimagestores``): one copy for the room, none per participant."""
    image_dir = layout.source / image.IMAGE_DIR
    ident = adapter.image_id(image_dir)
    env = adapter.engine_env("podman")
    present = subprocess.run(["podman", *store_args(layout), "image", "inspect", ident], env=env,
                             capture_output=True)
    if present.returncode != 0:
        print(f"loading the image into the shared store {layout.images}...", flush=True)
        loader = subprocess.Popen(["podman", *store_args(layout), "load", "--quiet"], env=env,
                                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
        with tarfile.open(fileobj=loader.stdin, mode="w|", dereference=True) as archive:
            archive.add(str(image_dir), arcname="")
        loader.stdin.close()
        if loader.wait() != 0:
            raise WorkshopError(f"podman could not load {image_dir} into {layout.images}.")
    open_for_reading(layout.images)
    return ident


def open_for_reading(store: Path) -> None:
    """The store's own folders and files readable by all (podman makes them root's only); the
    layers' content (overlay/LAYER/diff) keeps the modes the image gave it. Nobody but root
    may write any of it."""
    for folder, dirs, files in os.walk(store):
        here = Path(folder)
        if here.parent.name == "overlay" and "diff" in dirs:
            dirs.remove("diff")
        for path in [here, *(here / name for name in files)]:
            if path.is_symlink():
                continue
            mode = path.stat().st_mode
            os.chmod(path, (mode | 0o444 | (0o111 if path.is_dir() else 0)) & ~0o022)


def settings(layout: Layout, state, hub_ports: dict[str, int]) -> None:
    """What jupyterhub_config.py and the status page read."""
    layout.settings.write_text(json.dumps({
        "root": str(layout.root), "bind": state.bind, "ports": hub_ports,
        "env": str(layout.env), "proxy": str(layout.proxy), "code": str(layout.source / "code"),
        "participants": {p.account: p.clone for p in state.participants},
        "instructor": state.instructor.account if state.instructor else "",
    }, indent=2) + "\n")
    layout.settings.chmod(0o600)
