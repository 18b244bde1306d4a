"""Where a notebook ran: inside the software container or not, Python and package versions.

The stage notebooks print this, so that every executed notebook records its environment.
"""
from __future__ import annotations

import os
import platform
from importlib import metadata

PACKAGES = ("numpy", "pandas", "scikit-learn", "scikit-image", "pillow", "matplotlib", "joblib",
            "papermill")


def in_container() -> bool:
    """True inside the project's software image (podman, docker or Apptainer): the image sets
    IMAGECLF_CONTAINER. Engine marker files (/.dockerenv) would also be true on a host that is
    itself a container, as CI machines often are."""
    return bool(os.environ.get("IMAGECLF_CONTAINER"))


def describe() -> dict:
    """A small, stable description of the environment (no host names, no times)."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "container": os.environ["IMAGECLF_CONTAINER"] if in_container() else "none (host)",
        "python": platform.python_version(),
        "packages": versions,
    }


def report() -> str:
    info = describe()
    lines = [f"container: {info['container']}", f"python: {info['python']}"]
    lines += [f"{name}: {version}" for name, version in info["packages"].items()]
    return "\n".join(lines)
