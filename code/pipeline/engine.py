"""The container engine, and the adapter every ``datalad containers-run`` step goes through.

The dataset registers its container with the call format

    python3 code/pipeline/engine.py run {img} {cmd}

so a run record names only paths inside the dataset (portable to any clone) and the engine is
chosen on the machine that runs or reruns it: ``$CONTAINER_ENGINE`` if set, else podman, else
docker. Compared with datalad-container's own docker adapter, this one

- loads the image from the dataset (``{img}``, a ``docker save`` folder kept in the annex) only
  when the engine lacks it, without ``docker pull`` (which fails for a locally built image);
- runs with no network, as the invoking user (``--userns keep-id`` for rootless podman),
  mounting only the dataset, at /dataset;
- applies the project's podman settings (code/container/containers.conf) where they are needed.

It uses the standard library only, so any python3 can run it.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

MOUNT_POINT = "/dataset"
PODMAN_CONF = Path(__file__).resolve().parents[1] / "container" / "containers.conf"


class EngineError(RuntimeError):
    """No usable container engine, or the image cannot be loaded."""


def engine_name() -> str:
    """podman or docker, as this machine offers them (``$CONTAINER_ENGINE`` decides if set)."""
    wanted = os.environ.get("CONTAINER_ENGINE")
    if wanted:
        if not shutil.which(wanted):
            raise EngineError(f"CONTAINER_ENGINE={wanted} but {wanted!r} is not on PATH.")
        return wanted
    if shutil.which("podman"):
        return "podman"
    if shutil.which("docker"):
        return "docker"
    raise EngineError(
        "No container engine found. Install podman (Debian/Ubuntu: `sudo apt-get install podman "
        "runc`; as root `make setup` does it) or Docker, or run the stages without a container: "
        "CONTAINER=none."
    )


def engine_env(engine: str) -> dict[str, str]:
    """The environment for calling ``engine``: podman gets the project's settings when runc is
    there to honour them and the user has not chosen a configuration of their own."""
    env = dict(os.environ)
    if engine == "podman" and "CONTAINERS_CONF" not in env and shutil.which("runc"):
        env["CONTAINERS_CONF"] = str(PODMAN_CONF)
    return env


def engine_call(args: list[str], engine: str | None = None, **kwargs) -> subprocess.CompletedProcess:
    engine = engine or engine_name()
    return subprocess.run([engine, *args], env=engine_env(engine), **kwargs)


def image_id(image_dir: str | Path) -> str:
    """The id of the image saved in ``image_dir``: the digest of its config, as engines compute it."""
    manifest = json.loads((Path(image_dir) / "manifest.json").read_text())
    if len(manifest) != 1:
        raise EngineError(f"{image_dir} must hold exactly one image, found {len(manifest)}.")
    config = (Path(image_dir) / manifest[0]["Config"]).read_bytes()
    return "sha256:" + hashlib.sha256(config).hexdigest()


def has_image(engine: str, ident: str) -> bool:
    found = engine_call(["image", "inspect", ident], engine, capture_output=True)
    return found.returncode == 0


def ensure_loaded(engine: str, image_dir: str | Path) -> str:
    """Load the saved image into the engine unless it is there already; return its id."""
    ident = image_id(image_dir)
    if has_image(engine, ident):
        return ident
    print(f"loading the container image from {image_dir} into {engine} (once per machine)...",
          file=sys.stderr, flush=True)
    loader = subprocess.Popen([engine, "load"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                              env=engine_env(engine))
    with tarfile.open(fileobj=loader.stdin, mode="w|", dereference=True) as archive:
        archive.add(str(image_dir), arcname="")
    loader.stdin.close()
    if loader.wait() != 0 or not has_image(engine, ident):
        raise EngineError(f"{engine} could not load the image saved in {image_dir}.")
    return ident


def dataset_root(start: Path) -> Path:
    """The dataset that holds ``start``: the whole dataset is mounted, whichever folder runs."""
    for folder in (start, *start.parents):
        if (folder / ".datalad").is_dir():
            return folder
    return start


def run_command(engine: str, ident: str, command: list[str], workdir: str | Path = ".") -> list[str]:
    """The engine command line that runs ``command`` in the image, isolated as described above."""
    workdir = Path(workdir).resolve()
    root = dataset_root(workdir)
    inside = (Path(MOUNT_POINT) / workdir.relative_to(root)).as_posix()
    args = [engine, "run", "--rm", "--network", "none",
            "-v", f"{root}:{MOUNT_POINT}", "-w", inside]
    if os.name == "posix":
        args += ["-u", f"{os.getuid()}:{os.getgid()}"]
        if engine == "podman" and os.getuid() != 0:
            args += ["--userns", "keep-id"]  # rootless: keep the user's uid on the mounted files
    if sys.stdin is not None and sys.stdin.isatty():
        args += ["-i", "-t"]
    return args + [ident, *command]


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[0] != "run":
        print("usage: python3 code/pipeline/engine.py run IMAGE_DIR COMMAND [ARGS...]", file=sys.stderr)
        return 2
    image_dir, command = argv[1], argv[2:]
    try:
        engine = engine_name()
        if not (Path(image_dir) / "manifest.json").exists():
            raise EngineError(
                f"The container image in {image_dir} is not here. Get it with "
                f"`datalad get {image_dir}`, or build and register it with `make container`."
            )
        ident = ensure_loaded(engine, image_dir)
    except EngineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 3
    return subprocess.run(run_command(engine, ident, command), env=engine_env(engine)).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
