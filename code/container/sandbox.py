"""What a container run may touch in the dataset, and whom it runs as on the host.

A notebook in the container must write its declared outputs, and nothing the host later runs
or trusts. The dataset is mounted at /dataset, and over it:

- read-only: its ``.git`` (hooks, config, the annex objects that annexed inputs link to), every
  installed subdataset (the input images, their own ``.git`` included) and the project's
  machinery that the host executes or reads as configuration (``code``, ``tests``,
  ``notebooks``, ``params``, ``Makefile``, ``.datalad``, ``.gitignore``...). A mount point
  cannot be renamed or removed, so these stay;
- hidden: what git ignores (``.venv``, caches, ``results``) behind an empty tmpfs (a folder) or
  /dev/null (a file), so the container neither reads nor writes it.

Whom it runs as: never host root.

- Root (rootful podman, or Docker as root): an unprivileged host id of its own, the run id
  (root's subordinate range in /etc/subuid, else one far above any that useradd hands out).
  Podman maps the container's ids 0-65535 onto that range, Docker runs the process with ``-u``.
  The run id owns nothing in the dataset but, for the run's duration, its declared outputs and
  write access to their folders (grant.py: O(outputs), journalled, undone after a kill). The
  hidden paths here are the ignored ones at the top of the dataset and in the outputs' folders:
  the run id can write nowhere else, so nothing deeper needs a mount, and no walk of the dataset
  is needed (a stage costs the same with 100,000 files in the dataset as with none).
- Rootless podman (``--userns keep-id``) and rootless Docker (the container's root is the user)
  run as the user, as does a user of a rootful Docker daemon (``-u UID:GID``); there the
  container may write what the user may, except the read-only and hidden parts, which cover
  every path git ignores (a listing by git that grows with the dataset). Paths git ignores that
  appear during such a run were made by the container (runs hold the lock) and are removed.

Standard library only: the adapter (adapter.py) runs with any python3.
"""
from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

from container import grant
from pipeline import git
from pipeline.errors import PipelineError

MAPPED_IDS = 65536
# The mapped range when root has no /etc/subuid entry: useradd allocates from 100000 upwards.
FALLBACK_BASE = 1_000_000_000
# What the host executes or trusts (the walkthrough notebook runs on the host; params and
# .gitignore steer later runs). No stage writes here.
MACHINERY = (".datalad", ".gitattributes", ".gitignore", ".gitmodules", ".ci", "code", "tests",
             "notebooks", "params", "docs", "sweeps", "stages.yaml", "ruff.toml", "Makefile",
             "requirements.txt", "environment.yml")


class SandboxError(PipelineError):
    """The dataset cannot be mounted as the rules above require."""


def ignored_paths(root: Path) -> list[str]:
    """What git ignores in the work tree, a folder as one entry ending in '/'."""
    # Only lists paths: safe in a dataset another user owns (rootless runs in a shared folder).
    return git.listing(root, "ls-files", "--others", "--ignored", "--exclude-standard",
                       "--directory", "-z", any_owner=True)


def registered_subdatasets(root: Path) -> list[str]:
    """The subdatasets .gitmodules names: read from it, not from the index, whose size grows
    with the dataset."""
    listed = git.listing(root, "config", "--file", ".gitmodules", "--null", "--get-regexp",
                         r"^submodule\..*\.path$")
    return [entry.split("\n", 1)[1] for entry in listed if "\n" in entry]


def subdatasets(root: Path) -> list[str]:
    """Installed subdatasets (registered, with a .git of their own)."""
    return [path for path in registered_subdatasets(root)
            if os.path.lexists(root / path / ".git")]


def ignored_in(root: Path, folders) -> list[str]:
    """What git ignores among the entries of ``folders`` (relative; "." is the top), one level
    deep, a folder ending in '/'. Neither git command reads the index, whose size grows with
    the dataset: the patterns are checked alone, then HEAD says which of the few matches it
    tracks (those are not ignored)."""
    entries = []
    for folder in dict.fromkeys(folders):
        base = root / folder
        if base.is_symlink() or not base.is_dir():
            continue
        for entry in sorted(os.listdir(base)):
            relative = os.path.normpath(os.path.join(folder, entry))
            if relative != ".git":
                entries.append(relative)
    found = [path for path in check_ignore(root, entries) if path not in in_head(root, entries)]
    return [path + "/" if (root / path).is_dir() and not (root / path).is_symlink() else path
            for path in found]


def check_ignore(root: Path, paths: list[str]) -> list[str]:
    """Those of ``paths`` that git's ignore patterns match, tracked or not."""
    if not paths:
        return []
    return git.listing(root, "check-ignore", "--no-index", "--stdin", "-z",
                       stdin="\0".join(paths), any_owner=True)


def in_head(root: Path, paths: list[str]) -> set[str]:
    """Those of ``paths`` that HEAD holds (a file, or a folder with tracked files)."""
    if not paths:
        return set()
    answers = git.listing(root, "cat-file", "--batch-check", any_owner=True, separator="\n",
                          stdin="".join(f"HEAD:{path}\n" for path in paths))
    return {path for path, answer in zip(paths, answers) if not answer.endswith(" missing")}


def read_only_paths(root: Path) -> list[str]:
    found = [".git", *subdatasets(root), *MACHINERY]
    # A symlink is not mounted over: inside, the engine would follow it out of /dataset. Its
    # target is outside the dataset (not mounted) or inside (covered by its own rule).
    return [path for path in dict.fromkeys(found)
            if os.path.lexists(root / path) and not (root / path).is_symlink()]


def _checked(path: str) -> str:
    if "," in path or ":" in path:  # the engines' mount syntax has no escape for these
        raise SandboxError(f"{path!r}: a path with ',' or ':' cannot be mounted into the "
                           "container; "
                           "rename it.")
    return path


def mount_args(engine: str, root: Path, mount_point: str, hidden: list[str]) -> list[str]:
    """Engine arguments that mount the dataset as described above, ``hidden`` (from
    :func:`ignored_paths` or :func:`ignored_in`) hidden."""
    args = ["-v", f"{_checked(str(root))}:{mount_point}"]
    for path in read_only_paths(root):
        args += ["-v", f"{root / _checked(path)}:{mount_point}/{path}:ro"]
    for path in hidden:
        if (root / path.rstrip("/")).is_symlink():
            continue  # as above
        inside = f"{mount_point}/{_checked(path.rstrip('/'))}"
        if path.endswith("/"):
            # podman copies the hidden content up into the tmpfs by default
            options = ",notmpcopyup" if engine == "podman" else ""
            args += ["--mount", f"type=tmpfs,destination={inside}{options}"]
        else:
            args += ["-v", f"/dev/null:{inside}:ro"]
    return args


def require_enterable(root: Path, ids: tuple[int, int]) -> None:
    """As root, the engine mounts the dataset's parts for the run id, which must enter the
    dataset's folder; a folder from ``mktemp -d`` is its owner's alone. Refused before the run
    changes anything, with the fix (the engine's own error names none)."""
    info = root.stat()
    uid, gid = ids
    may_enter = (stat.S_IXUSR if info.st_uid == uid else
                 stat.S_IXGRP if info.st_gid == gid else stat.S_IXOTH)
    if not info.st_mode & may_enter:
        raise SandboxError(
            f"The container runs as an unprivileged id ({uid}), which may not enter the "
            f"dataset's folder {root} (mode {stat.S_IMODE(info.st_mode):o}), so the engine "
            f"cannot mount it. Let others enter it (`chmod o+rx {root}`: its files are "
            "readable already), or clone the dataset into a folder not made by `mktemp -d`.")


def subordinate_base(name: str = "root", table: str = "/etc/subuid") -> int:
    """The start of ``name``'s subordinate range of at least MAPPED_IDS ids, else FALLBACK_BASE."""
    try:
        lines = Path(table).read_text().splitlines()
    except OSError:
        return FALLBACK_BASE
    for line in lines:
        fields = line.strip().split(":")
        if len(fields) == 3 and fields[0] in (name, "0") and int(fields[2]) >= MAPPED_IDS:
            return int(fields[1])
    return FALLBACK_BASE


def id_mapping() -> tuple[int, int]:
    """The run id as root: the host uid and gid that the container's 0 becomes under rootful
    podman, and that Docker runs the process as."""
    return subordinate_base(table="/etc/subuid"), subordinate_base(table="/etc/subgid")


def userns_args() -> list[str]:
    uid_base, gid_base = id_mapping()
    return ["--uidmap", f"0:{uid_base}:{MAPPED_IDS}", "--gidmap", f"0:{gid_base}:{MAPPED_IDS}"]


def remove_new_ignored(root: Path, before: set[str]) -> list[str]:
    """Remove what git ignores and was not there before the run (the container made it)."""
    made = [path for path in ignored_paths(root) if path not in before]
    for path in made:
        target = root / path.rstrip("/")
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target, ignore_errors=True)
        elif os.path.lexists(target):
            target.unlink()
    return made


def remove_ignored(root: Path, made: list[str]) -> list[str]:
    """Remove those of ``made`` (what a run made, grant.revoke lists it) that git ignores."""
    ignored = check_ignore(root, made)
    for path in ignored:
        target = root / path
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target, ignore_errors=True)
        elif os.path.lexists(target):
            target.unlink()
    return ignored


@dataclass
class Access:
    """What one run may see and write (as described above), and undoing it afterwards."""

    root: Path
    as_root: bool
    hidden: list[str]
    owned: list[str] = field(default_factory=list)  # root: the outputs, handed to the run id
    folders: list[str] = field(default_factory=list)  # root: their folders, open for new files

    @classmethod
    def plan(cls, root: Path, outputs: list[str], cwd: Path, as_root: bool) -> Access:
        if not as_root:
            return cls(root, False, ignored_paths(root))
        require_enterable(root, id_mapping())
        top = ignored_in(root, ["."])
        protected = [*read_only_paths(root), *(path.rstrip("/") for path in top)]
        owned, folders = grant.plan(root, outputs, cwd, protected)
        return cls(root, True, top + ignored_in(root, [f for f in folders if f != "."]), owned,
                   folders)

    def open(self) -> None:
        if self.as_root:
            grant.grant(self.root, self.owned, self.folders, id_mapping())

    def close(self) -> list[str]:
        """Take the access back; return the paths git ignores that the container made (removed)."""
        if self.as_root:
            return remove_ignored(self.root, grant.revoke(self.root))
        return remove_new_ignored(self.root, set(self.hidden))
