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

from . import commands, engine, terminal

OFFICIAL_BASE = "docker.io/library/python:3.11-slim-bookworm"
LOCAL_BASE = "localhost/imageclf-base:bookworm"
IMAGE = "localhost/imageclf-software:latest"
RECIPE_DIR = "code/container"
NAME = "software"
IMAGE_DIR = f".datalad/environments/{NAME}/image"
CALL_FORMAT = "python3 code/pipeline/engine.py run {img} {cmd}"


def _engine(args: list[str], eng: str, **kwargs) -> subprocess.CompletedProcess:
    commands.show([eng, *args])
    return terminal.run([eng, *args], env=engine.engine_env(eng), **kwargs)  # engine_call, watched


def apt_mirror() -> str:
    """The Debian mirror named by this machine's apt sources (never written into the repository)."""
    for path in sorted(Path("/etc/apt").glob("sources.list.d/*.sources")):
        for uri in re.findall(r"^URIs:\s*(\S+)", path.read_text(), flags=re.M):
            if "security" not in uri:
                return uri
    for path in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt").glob("sources.list.d/*.list"))]:
        if path.exists():
            match = re.search(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+\S+\s+main", path.read_text(), flags=re.M)
            if match and "security" not in match.group(1):
                return match.group(1)
    raise engine.EngineError("No Debian mirror found in /etc/apt: cannot bootstrap a base image.")


def bootstrap_base(eng: str) -> str:
    """A Debian bookworm base with Python 3.11 made by debootstrap, imported into the engine."""
    if engine.has_image(eng, LOCAL_BASE):
        print(f"Using the bootstrapped base image {LOCAL_BASE}.")
        return LOCAL_BASE
    if not shutil.which("debootstrap") or os.geteuid() != 0:
        raise engine.EngineError(
            f"The official base {OFFICIAL_BASE} cannot be pulled, and bootstrapping a Debian base "
            "needs root and debootstrap (`apt-get install debootstrap`). Pull the base on a machine "
            "with registry access, or pass BASE=<an image you have>."
        )
    with tempfile.TemporaryDirectory(prefix="imageclf-rootfs-") as rootfs:
        commands.run(["debootstrap", "--variant=minbase", "--include=python3,python3-venv,ca-certificates",
                      "bookworm", rootfs, apt_mirror()])
        tar = subprocess.Popen(["tar", "-C", rootfs, "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
        imported = _engine(["import", "-", LOCAL_BASE], eng, stdin=tar.stdout, stdout=subprocess.DEVNULL)
        tar.wait()
        if imported.returncode != 0 or tar.returncode != 0:
            raise engine.EngineError(f"Importing the bootstrapped base into {eng} failed.")
    return LOCAL_BASE


def choose_base(eng: str, base: str | None) -> str:
    if base:
        return base
    if engine.has_image(eng, OFFICIAL_BASE):
        return OFFICIAL_BASE
    pulled = _engine(["pull", OFFICIAL_BASE], eng, capture_output=True, text=True)
    if pulled.returncode == 0:
        return OFFICIAL_BASE
    print(f"The official base cannot be pulled ({pulled.stderr.strip().splitlines()[-1:]}); "
          "bootstrapping a Debian base instead.")
    return bootstrap_base(eng)


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
    eng = engine.engine_name()
    base = choose_base(eng, base)
    args = ["build", "--build-arg", f"BASE={base}", "-t", IMAGE]
    bundle = ca_bundle()
    if bundle:
        args += ["--secret", f"id=ca-bundle,src={bundle}"]
    index = os.environ.get("PIP_INDEX_URL")
    if index and not index.startswith("file:"):
        args += ["--build-arg", f"PIP_INDEX_URL={index}"]
    # The context is code/ so that the recipe can install code/papermill_stable as well.
    built = _engine([*args, "-f", str(root / RECIPE_DIR / "Containerfile"), str(root / "code")], eng)
    if built.returncode != 0:
        raise engine.EngineError(f"Building {IMAGE} failed; the build output above shows the step.")
    return image_id_of(eng, IMAGE)


def image_id_of(eng: str, image: str) -> str:
    found = engine.engine_call(["image", "inspect", "--format", "{{.Id}}", image], eng,
                               capture_output=True, text=True)
    ident = found.stdout.strip()
    return ident if ident.startswith("sha256:") else f"sha256:{ident}"


def registered_id(root: Path) -> str | None:
    """The id of the image the dataset has registered, or None."""
    try:
        return engine.image_id(root / IMAGE_DIR)
    except (FileNotFoundError, ValueError, engine.EngineError):
        return None


def save_image(eng: str, image: str, target: Path) -> None:
    """``docker save`` the image and unpack it into ``target`` (the layout datalad-container uses)."""
    if target.exists():
        shutil.rmtree(target)  # symlinks into the annex; the objects stay until dropped
    target.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as scratch:
        archive = Path(scratch) / "image.tar"
        saved = _engine(["save", "--format", "docker-archive", "-o", str(archive), image]
                        if eng == "podman" else ["save", "-o", str(archive), image], eng)
        if saved.returncode != 0:
            raise engine.EngineError(f"Saving {image} failed.")
        with tarfile.open(archive) as tar:
            # The "data" filter (Python >= 3.11.4) refuses links out of the folder; Debian 12's
            # Python 3.11.2 lacks it, and the archive is the engine's own output anyway.
            if hasattr(tarfile, "data_filter"):
                tar.extractall(target, filter="data")
            else:
                tar.extractall(target)


def register(root: Path) -> None:
    """Save the built image into the dataset and register it, unless it is registered already."""
    eng = engine.engine_name()
    ident = image_id_of(eng, IMAGE)
    if registered_id(root) == ident:
        print(f"The dataset already tracks this image ({ident[:19]}) as container {NAME!r}.")
        return
    update = registered_id(root) is not None
    save_image(eng, IMAGE, root / IMAGE_DIR)
    commands.run(["datalad", "save", "-m", f"Track the {NAME} container image built from {RECIPE_DIR}",
                  IMAGE_DIR], cwd=root)
    commands.run(["datalad", "containers-add", NAME, "--image", IMAGE_DIR, "--call-fmt", CALL_FORMAT,
                  *(["--update"] if update else [])], cwd=root)
