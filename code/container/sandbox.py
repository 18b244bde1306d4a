"""What a container run may touch in the dataset, and whom it runs as on the host.

A notebook in the container must write its declared outputs, and nothing the host later runs
or trusts. The adapter (adapter.py) sees only ``{img} {cmd}``, not datalad's list of outputs, so
the rule is by place, not by file:

- the dataset is mounted read-write at /dataset, and over it, read-only: its ``.git`` (hooks,
  config, the annex objects that annexed inputs link to), every installed subdataset (the input
  images, their own ``.git`` included) and the project's machinery that the host executes or
  reads as configuration (``code``, ``tests``, ``notebooks``, ``params``, ``Makefile``,
  ``.datalad``, ``.gitignore``...). A mount point cannot be renamed or removed, so these stay;
- every path git ignores (``.venv``, caches, ``executed/failed``) is hidden behind an empty
  tmpfs (a folder) or /dev/null (a file), so the container neither reads nor writes it;
- the process is never host root. Rootless podman maps the container's ids to the user's own
  (``--userns keep-id``). Rootful podman (the user is root) maps the container's ids 0-65535 to
  a subordinate range (root's entry in /etc/subuid, else a range far above any that useradd
  hands out). Files owned by host root would then be unwritable inside, so for the run's
  duration the writable part of the work tree is shifted into that range (uid u -> BASE+u, the
  container sees the same owners as the host) and shifted back afterwards, new files included.
  The shift is a pure offset, so shifting back is exact, idempotent and needs no journal: the
  next adapter start finishes it for a run whose adapter was killed. While a root run goes on,
  git in another shell refuses the dataset as owned by someone else (runs hold its lock anyway).
  Idmapped mounts would avoid the shift but need runc >= 1.2 or crun, which Debian 12 cannot
  run here; ACLs would need the `acl` package and still leave new files owned by the mapped id.

Hard-linked regular files are never shifted: an unlocked file in annex.thin mode is the annex
object itself, and must stay unwritable. Paths git ignores that appear during the run were made
by the container (nothing else writes the dataset then: runs hold its lock) and are removed.

Standard library only: the adapter (adapter.py) runs with any python3.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

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


def _git(root: Path, *args: str) -> list[str]:
    # While the work tree is shifted (during a run, or after a killed one) git would refuse it
    # as owned by someone else; these queries only list paths.
    result = subprocess.run(["git", "-c", "safe.directory=*", *args, "-z"], cwd=root,
                            capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return [item for item in result.stdout.split("\0") if item] if result.returncode == 0 else []


def ignored_paths(root: Path) -> list[str]:
    """What git ignores in the work tree, a folder as one entry ending in '/'."""
    return _git(root, "ls-files", "--others", "--ignored", "--exclude-standard", "--directory")


def subdatasets(root: Path) -> list[str]:
    """Installed subdatasets (gitlinks with a .git of their own)."""
    paths = [entry.split("\t", 1)[1] for entry in _git(root, "ls-files", "--stage")
             if entry.startswith("160000 ")]
    return [path for path in paths if os.path.lexists(root / path / ".git")]


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


def mount_args(engine: str, root: Path, mount_point: str) -> list[str]:
    """Engine arguments that mount the dataset as described above."""
    args = ["-v", f"{_checked(str(root))}:{mount_point}"]
    for path in read_only_paths(root):
        args += ["-v", f"{root / _checked(path)}:{mount_point}/{path}:ro"]
    for path in ignored_paths(root):
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
    """The host uid and gid the container's 0 becomes under rootful podman."""
    return subordinate_base(table="/etc/subuid"), subordinate_base(table="/etc/subgid")


def userns_args() -> list[str]:
    uid_base, gid_base = id_mapping()
    return ["--uidmap", f"0:{uid_base}:{MAPPED_IDS}", "--gidmap", f"0:{gid_base}:{MAPPED_IDS}"]


def _writable_entries(root: Path, with_links: bool):
    """Folders and files of the writable part of the work tree (read-only and hidden parts
    pruned)."""
    skipped = {path.rstrip("/") for path in (*read_only_paths(root), *ignored_paths(root))}
    yield root
    for folder, dirs, files in os.walk(root):
        relative = os.path.relpath(folder, root)
        prefix = "" if relative == "." else relative + "/"
        dirs[:] = [name for name in dirs if prefix + name not in skipped]
        for name in dirs:
            yield Path(folder, name)
        for name in files:
            path = Path(folder, name)
            if prefix + name not in skipped and (with_links or not path.is_symlink()):
                yield path


def _shift(ident: int, start: int, stop: int, offset: int) -> int | None:
    return ident + offset if start <= ident < stop else None


def shift_ownership(root: Path, into_container: bool) -> int:
    """Shift the writable part's owners into the mapped range, or back; return how many moved."""
    uid_base, gid_base = id_mapping()
    moved = 0
    for path in _writable_entries(root, with_links=not into_container):
        status = path.lstat()
        if into_container:
            if path.is_file() and status.st_nlink > 1:
                continue  # may be an annex object (annex.thin): stays unwritable inside
            uid = _shift(status.st_uid, 0, MAPPED_IDS, uid_base)
            gid = _shift(status.st_gid, 0, MAPPED_IDS, gid_base)
        else:
            uid = _shift(status.st_uid, uid_base, uid_base + MAPPED_IDS, -uid_base)
            gid = _shift(status.st_gid, gid_base, gid_base + MAPPED_IDS, -gid_base)
        if uid is not None or gid is not None:
            os.lchown(path, status.st_uid if uid is None else uid,
                      status.st_gid if gid is None else gid)
            moved += 1
    return moved


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
