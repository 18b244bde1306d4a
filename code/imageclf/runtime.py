"""Where a notebook ran: inside the software container or not, Python and package versions, and
the numerical libraries' choices (BLAS kernel, threads, numpy's SIMD level).

The stage notebooks print this, so that every executed notebook records its environment. The
numerical choices would follow the host's processor; ``papermill --engine stable`` pins them
(code/papermill_stable), so they read the same on every machine, as the executed notebook must.
"""
from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path

PACKAGES = ("numpy", "pandas", "scikit-learn", "scikit-image", "pillow", "matplotlib", "joblib",
            "papermill")


def in_container() -> bool:
    """True inside the project's software image (podman, docker or Apptainer): the image sets
    IMAGECLF_CONTAINER. Engine marker files (/.dockerenv) would also be true on a host that is
    itself a container, as CI machines often are."""
    return bool(os.environ.get("IMAGECLF_CONTAINER"))


def _owner(filepath: str) -> str:
    """The package that ships a bundled library: site-packages/numpy.libs/x.so -> numpy."""
    return Path(filepath).parent.name.removesuffix(".libs").replace("_", "-")


def numpy_simd() -> list[str]:
    """numpy's dispatched SIMD levels in use (beyond its baseline), as numpy.show_runtime says."""
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    except ImportError:  # another numpy layout: say so rather than guess
        return ["unknown"]
    return [name for name in __cpu_dispatch__ if __cpu_features__.get(name)]


def compute_libraries() -> list[dict]:
    """BLAS and OpenMP libraries loaded by numpy, scipy and scikit-learn (threadpoolctl), sorted
    so that the report does not depend on load order."""
    import numpy  # noqa: F401  loads numpy's OpenBLAS
    import scipy.linalg  # noqa: F401  scipy's own OpenBLAS
    import sklearn.cluster  # noqa: F401  scikit-learn's OpenMP runtime
    from threadpoolctl import threadpool_info

    # OpenBLAS is named by its API (both packages' copies have one prefix), OpenMP by its runtime.
    libraries = [{"api": info["user_api"],
                  "library": "OpenBLAS" if info["internal_api"] == "openblas" else info["prefix"],
                  "version": info.get("version") or "", "kernel": info.get("architecture", ""),
                  "threads": info["num_threads"], "package": _owner(info["filepath"])}
                 for info in threadpool_info()]
    return sorted(libraries, key=lambda lib: (lib["api"], lib["package"], lib["library"]))


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
        "compute": compute_libraries(),
        "numpy_simd": numpy_simd(),
    }


def report() -> str:
    info = describe()
    lines = [f"container: {info['container']}", f"python: {info['python']}"]
    lines += [f"{name}: {version}" for name, version in info["packages"].items()]
    for lib in info["compute"]:
        kernel = f", kernel {lib['kernel']}" if lib["kernel"] else ""
        version = f" {lib['version']}" if lib["version"] else ""
        lines.append(f"{lib['api']} ({lib['package']}): {lib['library']}{version}{kernel}, "
                     f"{lib['threads']} thread{'' if lib['threads'] == 1 else 's'}")
    lines.append(f"numpy SIMD: {' '.join(info['numpy_simd']) or 'baseline only'}")
    return "\n".join(lines)
