"""git, the one way the pipeline calls it: queries that may find nothing, plumbing that must
succeed, and many objects read by one process.

git-annex is on PATH for every call (process.tool_env): git refuses to work in an annexed
dataset without it. Standard library only, like process.py.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

from .errors import PipelineError
from .process import tool_env


class GitError(PipelineError):
    """A git command that had to succeed failed; the message has git's own words."""


def git(repo: Path | str, *args: str) -> str:
    """git's output without the final newline; '' when git fails (a ref or path that is not
    there, a config key that is not set)."""
    done = subprocess.run(["git", *args], cwd=repo, env=tool_env(), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True)
    return done.stdout.rstrip("\n") if done.returncode == 0 else ""


def listing(repo: Path | str, *args: str, stdin: str | None = None, separator: str = "\0",
            any_owner: bool = False) -> list[str]:
    """The entries a git query prints (NUL-separated: pass ``-z``), [] when it fails.
    ``any_owner``: also in a repository another user owns, for queries that only read (the
    container adapter lists paths in a dataset it may not own)."""
    command = ["git", *(["-c", "safe.directory=*"] if any_owner else []), *args]
    done = subprocess.run(command, cwd=repo, env=tool_env(), text=True, input=stdin,
                          stdin=None if stdin is not None else subprocess.DEVNULL,
                          capture_output=True)
    return [entry for entry in done.stdout.split(separator) if entry] if done.returncode == 0 \
        else []


def has_ref(repo: Path | str, ref: str) -> bool:
    return bool(git(repo, "rev-parse", "--verify", "--quiet", ref))


def config(repo: Path | str, key: str, file: str | None = None) -> str:
    """A configuration value ('' when unset); ``file``: read that file (.datalad/config)."""
    return git(repo, "config", *(["-f", file] if file else []), "--get", key)


def plumbing(repo: Path | str, *args: str, stdin: str | None = None) -> str:
    """A git command that must succeed (a merge's steps); its output, stripped."""
    done = subprocess.run(["git", *args], cwd=repo, env=tool_env(), text=True, input=stdin,
                          stdin=None if stdin is not None else subprocess.DEVNULL,
                          capture_output=True)
    if done.returncode != 0:
        raise GitError(f"`git {' '.join(args[:2])} ...` failed: {done.stderr.strip()}")
    return done.stdout.strip()


def read_objects(repo: Path | str, names: list[str]) -> list[bytes | None]:
    """The contents of many objects (``REV:PATH``) from one ``git cat-file --batch``, None for
    each that is not there: one git process for a sweep's jobs, not one per job."""
    if not names:
        return []
    done = subprocess.run(["git", "cat-file", "--batch"], cwd=repo, env=tool_env(),
                          input="".join(f"{name}\n" for name in names).encode(),
                          capture_output=True, check=True)
    out, at, contents = done.stdout, 0, []
    for _ in names:
        end = out.index(b"\n", at)
        header = out[at:end].split()
        if header[-1] == b"missing" or len(header) != 3:
            contents.append(None)
            at = end + 1
            continue
        size = int(header[2])
        contents.append(out[end + 1:end + 1 + size])
        at = end + 1 + size + 1  # the object, then a newline
    return contents
