"""Helpers shared by the tests: run commands in temporary clones as a user would.

Everything that runs datalad works on a temporary clone of this repository: run records, tags
and annexed files never touch the working checkout."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
REPO = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() == "true"


def require(condition: bool, reason: str) -> None:
    """Skip on a user's machine that lacks something; in CI a missing requirement is a failure."""
    if not condition:
        if IN_CI:
            pytest.fail(f"required in CI: {reason}")
        pytest.skip(reason)


def tool_env(clone: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment a user has after `. .venv/bin/activate`, importing the clone's own code."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env["PATH"]])
    if clone is not None:
        env["PYTHONPATH"] = str(clone / "code")
    env.update(extra)
    return env


def sh(args: list[str], cwd: Path, check: bool = True, **extra: str) -> subprocess.CompletedProcess:
    """Run a command in a clone, capturing output (shown when it fails)."""
    result = subprocess.run(args, cwd=cwd, env=tool_env(cwd, **extra), stdin=subprocess.DEVNULL,
                            capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{args} failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


def git(clone: Path, *args: str) -> str:
    return sh(["git", *args], clone).stdout.strip()


def clone_repository(target: Path) -> Path:
    """A clone of the committed state of this repository (what CI and users get)."""
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(target)], check=True, env=tool_env())
    return target
