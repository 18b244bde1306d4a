"""Build the software container and register it in the dataset with datalad-container.

Build: try the official Python base image; where no registry answers, bootstrap a Debian base
with debootstrap from the mirror this machine's apt already uses, and build from that. The
host's CA bundle (``PIP_CERT`` / ``SSL_CERT_FILE``, else the system's) goes into the build as a
secret, for pip behind TLS-intercepting proxies. Unchanged inputs reuse the engine's layer cache.

Register: ``docker save`` the image into .datalad/environments/software/image (layers in the
annex), then ``datalad containers-add`` with a call format that names only dataset paths.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from container import adapter

from . import commands, terminal

OFFICIAL_BASE = "docker.io/library/python:3.11-slim-bookworm"
LOCAL_BASE = "localhost/imageclf-base:bookworm"
IMAGE = "localhost/imageclf-software:latest"
RECIPE_DIR = "code/container"
NAME = "software"
IMAGE_DIR = f".datalad/environments/{NAME}/image"
# Run records name this command: paths inside the dataset only. Records made before the adapter
# moved name code/pipeline/engine.py, which forwards here.
CALL_FORMAT = "python3 code/container/adapter.py run {img} {cmd}"


def _shown(args: list[str], engine: str, **kwargs) -> subprocess.CompletedProcess:
    """An engine command as the reader would type it, its output watched (adapter.engine_call
    runs one quietly)."""
    commands.print_command([engine, *args])
    return terminal.run([engine, *args], env=adapter.engine_env(engine), **kwargs)


def apt_mirror() -> str:
    """The Debian mirror named by this machine's apt sources (never written into the repository)."""
    for path in sorted(Path("/etc/apt").glob("sources.list.d/*.sources")):
        for uri in re.findall(r"^URIs:\s*(\S+)", path.read_text(), flags=re.M):
            if "security" not in uri:
                return uri
    one_line_sources = sorted(Path("/etc/apt").glob("sources.list.d/*.list"))
    for path in [Path("/etc/apt/sources.list"), *one_line_sources]:
        if path.exists():
            match = re.search(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+\S+\s+main", path.read_text(),
                              flags=re.M)
            if match and "security" not in match.group(1):
                return match.group(1)
    raise adapter.EngineError("No Debian mirror found in /etc/apt: cannot bootstrap a base image.")


def bootstrap_base(engine: str) -> str:
    """A Debian bookworm base with Python 3.11 made by debootstrap, imported into the engine."""
    if adapter.has_image(engine, LOCAL_BASE):
        print(f"Using the bootstrapped base image {LOCAL_BASE}.")
        return LOCAL_BASE
    if not shutil.which("debootstrap") or os.geteuid() != 0:
        raise adapter.EngineError(
            f"The official base {OFFICIAL_BASE} cannot be pulled, and bootstrapping a Debian "
            "base needs root and debootstrap (`apt-get install debootstrap`). Pull the base on a "
            "machine with registry access, or pass BASE=<an image you have>."
        )
    with tempfile.TemporaryDirectory(prefix="imageclf-rootfs-") as rootfs:
        commands.run(["debootstrap", "--variant=minbase",
                      "--include=python3,python3-venv,ca-certificates", "bookworm", rootfs,
                      apt_mirror()])
        tar = subprocess.Popen(["tar", "-C", rootfs, "--numeric-owner", "-c", "."],
                               stdout=subprocess.PIPE)
        imported = _shown(["import", "-", LOCAL_BASE], engine, stdin=tar.stdout,
                          stdout=subprocess.DEVNULL)
        tar.wait()
        if imported.returncode != 0 or tar.returncode != 0:
            raise adapter.EngineError(f"Importing the bootstrapped base into {engine} failed.")
    return LOCAL_BASE


def choose_base(engine: str, base: str | None) -> str:
    if base:
        return base
    if adapter.has_image(engine, OFFICIAL_BASE):
        return OFFICIAL_BASE
    pulled = _shown(["pull", OFFICIAL_BASE], engine, capture_output=True, text=True)
    if pulled.returncode == 0:
        return OFFICIAL_BASE
    reason = (pulled.stderr.strip().splitlines() or ["no message"])[-1]
    print(f"The official base cannot be pulled ({reason}); bootstrapping a Debian base instead.")
    return bootstrap_base(engine)


# Where distributions keep the system's CA bundle (Debian/Ubuntu, Fedora/RHEL, openSUSE, Alpine).
SYSTEM_CA_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
                     "/etc/ssl/ca-bundle.pem", "/etc/ssl/cert.pem")


def ca_bundle(system_bundles=SYSTEM_CA_BUNDLES) -> str | None:
    """The CA bundle pip in the build should trust: the one the user named, else the system's
    (a proxy's CA is often only there), so that pip behind a TLS-intercepting proxy works."""
    for variable in ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
        path = os.environ.get(variable)
        if path and Path(path).is_file():
            return path
    return next((path for path in system_bundles if Path(path).is_file()), None)


def build(root: Path, base: str | None = None) -> str:
    """Build the image from code/container (layer cache reused); return the engine's image id."""
    engine = adapter.engine_name()
    base = choose_base(engine, base)
    args = ["build", "--build-arg", f"BASE={base}", "-t", IMAGE]
    bundle = ca_bundle()
    if bundle:
        args += ["--secret", f"id=ca-bundle,src={bundle}"]
    index = os.environ.get("PIP_INDEX_URL")
    if index and not index.startswith("file:"):
        args += ["--build-arg", f"PIP_INDEX_URL={index}"]
    # The context is code/ so that the recipe can install code/papermill_stable as well.
    built = _shown([*args, "-f", str(root / RECIPE_DIR / "Containerfile"), str(root / "code")],
                   engine)
    if built.returncode != 0:
        raise adapter.EngineError(f"Building {IMAGE} failed; the build output above shows the "
                                  "step.")
    return image_id_of(engine, IMAGE)


def image_id_of(engine: str, image: str) -> str:
    found = adapter.engine_call(["image", "inspect", "--format", "{{.Id}}", image], engine,
                               capture_output=True, text=True)
    ident = found.stdout.strip()
    return ident if ident.startswith("sha256:") else f"sha256:{ident}"


def registered_id(root: Path) -> str | None:
    """The id of the image the dataset has registered, or None."""
    try:
        return adapter.image_id(root / IMAGE_DIR)
    except (FileNotFoundError, ValueError, adapter.EngineError):
        return None


def save_image(engine: str, image: str, target: Path) -> None:
    """``docker save`` the image and unpack it into ``target`` (the layout datalad-container
    uses)."""
    if target.exists():
        shutil.rmtree(target)  # symlinks into the annex; the objects stay until dropped
    target.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as scratch:
        archive = Path(scratch) / "image.tar"
        saved = _shown(["save", "--format", "docker-archive", "-o", str(archive), image]
                        if engine == "podman" else ["save", "-o", str(archive), image], engine)
        if saved.returncode != 0:
            raise adapter.EngineError(f"Saving {image} failed.")
        with tarfile.open(archive) as tar:
            # The "data" filter (Python >= 3.11.4) refuses links out of the folder; Debian 12's
            # Python 3.11.2 lacks it, and the archive is the engine's own output anyway.
            if hasattr(tarfile, "data_filter"):
                tar.extractall(target, filter="data")
            else:
                tar.extractall(target)


def registered_call_format(root: Path) -> str:
    """The call format the dataset's .datalad/config gives the container ('' if none)."""
    return commands.output(["git", "config", "-f", ".datalad/config", "--get",
                            f"datalad.containers.{NAME}.cmdexec"], cwd=root)


def register(root: Path) -> None:
    """Save the built image into the dataset and register it with the current call format,
    unless both are registered already (a dataset registered before the adapter moved gets the
    new call format; its old records still rerun through code/pipeline/engine.py)."""
    engine = adapter.engine_name()
    ident = image_id_of(engine, IMAGE)
    registered = registered_id(root)
    if registered == ident and registered_call_format(root) == CALL_FORMAT:
        print(f"The dataset already tracks this image ({ident[:19]}) as container {NAME!r}.")
        return
    if registered != ident:
        save_image(engine, IMAGE, root / IMAGE_DIR)
        commands.run(["datalad", "save", "-m",
                      f"Track the {NAME} container image built from {RECIPE_DIR}", IMAGE_DIR],
                     cwd=root)
    commands.run(["datalad", "containers-add", NAME, "--image", IMAGE_DIR,
                  "--call-fmt", CALL_FORMAT, *(["--update"] if registered else [])], cwd=root)
