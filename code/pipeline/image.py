"""Build the software container and register it in the dataset with datalad-container.

Build: try the official Python base image; where no registry answers, bootstrap a Debian base
with debootstrap from the mirror this machine's apt already uses, and build from that. The
host's CA bundle (``PIP_CERT`` / ``SSL_CERT_FILE``, else the system's) goes into the build as a
file of the build context that only the recipe's first stage sees, for pip behind TLS-intercepting
proxies (a build secret would need BuildKit, which Docker's legacy builder lacks). Unchanged
inputs reuse the engine's layer cache.

Register: ``docker save`` the image into .datalad/environments/software/image (layers in the
annex), then ``datalad containers-add`` with a call format that names only dataset paths.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from container import adapter

from . import commands, terminal
from .git import git

OFFICIAL_BASE = "docker.io/library/python:3.11-slim-bookworm"
LOCAL_BASE = "localhost/imageclf-base:bookworm"
IMAGE = "localhost/imageclf-software:latest"
RECIPE_DIR = "code/container"
NAME = "software"
IMAGE_DIR = f".datalad/environments/{NAME}/image"
# Run records name this command: paths inside the dataset only. datalad fills in the run's
# declared outputs ({{outputs}} here becomes datalad run's {outputs}): as root, the container may
# write only those. Records made before the adapter moved name code/pipeline/engine.py, which
# forwards here; records of the format without outputs still run (container/adapter.py).
CALL_FORMAT = "python3 code/container/adapter.py run {img} --outputs {{outputs}} -- {cmd}"
# The image is labelled with a digest of what it is built from: a clone whose tracked image has
# this recipe's label loads it instead of building.
RECIPE_LABEL = "imageclf.recipe"
RECIPE_FILES = (f"{RECIPE_DIR}/Containerfile", f"{RECIPE_DIR}/requirements.lock",
                "code/papermill_stable")


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


def build_context(root: Path, target: Path) -> Path:
    """What the Containerfile copies: the lock, papermill_stable and the CA bundle (empty if
    none), in a scratch folder: the bundle must never land in the dataset's code/."""
    target.mkdir(parents=True)
    shutil.copy2(root / RECIPE_DIR / "requirements.lock", target / "requirements.lock")
    shutil.copytree(root / "code" / "papermill_stable", target / "papermill_stable",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"))
    bundle = ca_bundle()
    (target / "ca-bundle.pem").write_bytes(Path(bundle).read_bytes() if bundle else b"")
    return target


def network_args(engine: str) -> list[str]:
    """A Docker daemon started without its bridge (code/container/dockerd.sh, beside podman)
    gives build steps no network; pip in the recipe needs one: the host's."""
    if engine != "docker":
        return []
    bridge = adapter.engine_call(["network", "inspect", "bridge"], engine, capture_output=True)
    return [] if bridge.returncode == 0 else ["--network", "host"]


def recipe_digest(root: Path) -> str:
    """One digest of what the image is built from: the Containerfile, the lock and
    papermill_stable, as git tracks them (not the CA bundle: that is the machine's)."""
    listed = git(root, "ls-files", "-z", "--", *RECIPE_FILES)
    digest = hashlib.sha256()
    for path in sorted(filter(None, listed.split("\0"))):
        digest.update(path.encode() + b"\0" + (root / path).read_bytes() + b"\0")
    return digest.hexdigest()


def registered_recipe(root: Path) -> str | None:
    """The recipe digest the dataset's image was built from (its label), or None."""
    try:
        manifest = json.loads((root / IMAGE_DIR / "manifest.json").read_text())
        config = json.loads((root / IMAGE_DIR / manifest[0]["Config"]).read_text())
    except (OSError, ValueError, LookupError):
        return None
    return ((config.get("config") or {}).get("Labels") or {}).get(RECIPE_LABEL)


def reuse_registered(root: Path) -> bool:
    """A dataset that tracks an image built from this very recipe (a clone of one that ran
    ``make container``) needs no build: the image is fetched and loaded into this engine, or
    nothing at all is done when the engine has it already (a workshop's shared store)."""
    if is_current(root):
        print(f"The dataset tracks an image of this recipe ({registered_id(root)[:19]}), "
              f"already in {adapter.engine_name()}: nothing to build.")
        return True
    if registered_recipe(root) != recipe_digest(root):
        return False
    engine = adapter.engine_name()
    adapter.require_usable(engine)
    commands.run(["datalad", "get", IMAGE_DIR], cwd=root)
    ident = adapter.ensure_loaded(engine, root / IMAGE_DIR)
    print(f"The dataset tracks an image of this recipe ({ident[:19]}): loaded into {engine}, "
          "nothing to build.")
    if registered_call_format(root) != CALL_FORMAT:
        commands.run(["datalad", "containers-add", NAME, "--update", "--image", IMAGE_DIR,
                      "--call-fmt", CALL_FORMAT], cwd=root)
    return True


def build(root: Path, base: str | None = None) -> str:
    """Build the image from code/container (layer cache reused); return the engine's image id."""
    engine = adapter.engine_name()
    adapter.require_usable(engine)
    base = choose_base(engine, base)
    args = ["build", "--build-arg", f"BASE={base}", "-t", IMAGE, *network_args(engine),
            "--label", f"{RECIPE_LABEL}={recipe_digest(root)}"]
    index = os.environ.get("PIP_INDEX_URL")
    if index and not index.startswith("file:"):
        args += ["--build-arg", f"PIP_INDEX_URL={index}"]
    with tempfile.TemporaryDirectory(prefix="imageclf-build-") as scratch:
        context = build_context(root, Path(scratch) / "context")
        built = _shown([*args, "-f", str(root / RECIPE_DIR / "Containerfile"), str(context)],
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


# What the image is built from (the Containerfile's context is code/; it copies these).
RECIPE = (f"{RECIPE_DIR}/Containerfile", f"{RECIPE_DIR}/requirements.lock", "code/papermill_stable")


def is_current(root: Path) -> bool:
    """Whether the image the dataset registered (with today's call format) is in the engine and
    its recipe is unchanged since it was registered: then ``container setup`` has nothing to do,
    whichever image the engine's tag names now. A workshop participant's
    rootless podman sees the instructor's image through a shared store and could not build one."""
    registered = registered_id(root)
    if not registered or registered_call_format(root) != CALL_FORMAT:
        return False
    since = git(root, "log", "-1", "--format=%H", "--", IMAGE_DIR)
    if not since or git(root, "diff", "--name-only", since, "--", *RECIPE) \
            or git(root, "ls-files", "--others", "--exclude-standard", "--", *RECIPE):
        return False
    try:
        return adapter.has_image(adapter.engine_name(), registered)
    except adapter.EngineError:
        return False


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
    return git(root, "config", "-f", ".datalad/config", "--get",
                            f"datalad.containers.{NAME}.cmdexec")


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
