"""Where a notebook ran: inside the software container or not, Python and package versions.

The stage notebooks print this, so that every executed notebook records its environment.
"""
from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path

PACKAGES = ("numpy", "pandas", "scikit-learn", "scikit-image", "pillow", "matplotlib", "joblib",
            "papermill")


def in_container() -> bool:
    """True inside a podman, docker or Apptainer container (each leaves its own marker)."""
    return (Path("/run/.containerenv").exists() or Path("/.dockerenv").exists()
            or "APPTAINER_CONTAINER" in os.environ or "SINGULARITY_CONTAINER" in os.environ)


def describe() -> dict:
    """A small, stable description of the environment (no host names, no times)."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "container": os.environ.get("IMAGECLF_CONTAINER", "software") if in_container() else "none (host)",
        "python": platform.python_version(),
        "packages": versions,
    }


def report() -> str:
    info = describe()
    lines = [f"container: {info['container']}", f"python: {info['python']}"]
    lines += [f"{name}: {version}" for name, version in info["packages"].items()]
    return "\n".join(lines)
