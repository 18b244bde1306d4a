"""Write access for one run: its declared outputs, for an unprivileged id, and nothing else.

As root (rootful podman or Docker) the container's process runs as an unprivileged host id, the
run id (sandbox.run_ids). Every file of the dataset stays its owner's, unwritable to the run id,
except for the run's duration:

- each declared output that exists is handed to the run id (a folder with all it holds); a
  hard-linked file (annex.thin: the annex object itself) is first replaced by a copy of its own,
  so that writing the output can never change the object;
- the folder of each output (for an output not made yet, its nearest existing folder) gets the
  run's group with write access and the sticky bit: the container can create files there and
  replace its own outputs, but cannot delete or rename anything else in it.

Before the first change, a journal in the git folder (``imageclf-grant.json``) records each
path's owner and mode; :func:`revoke` puts them back and hands what the container created in
those folders to the user. The cost grows with the outputs, never with the dataset: nothing else
is walked or touched, the work tree keeps its owner (git works from any shell during the run and
after a kill) and no other file's ctime changes (git re-reads only the outputs). A run killed
before revoking leaves the journal; the next run's adapter or the next ``python -m pipeline``
command revokes it. Revoking twice is harmless: it sets recorded values.

Standard library only: the adapter (adapter.py) runs with any python3.
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from pathlib import Path

from pipeline.lock import git_dir

JOURNAL = "imageclf-grant.json"
OPEN_FOLDER = stat.S_ISVTX | stat.S_IRGRP | stat.S_IWGRP | stat.S_IXGRP


def journal_path(root: Path) -> Path:
    return git_dir(root) / JOURNAL


def inside(root: Path, path: str, cwd: Path) -> str | None:
    """``path`` (as datalad passed it, relative to ``cwd``) relative to ``root``, the final
    component not followed; None when it is outside."""
    absolute = Path(os.path.normpath(cwd / path))
    try:
        relative = absolute.relative_to(root).as_posix()
    except ValueError:
        return None
    return None if relative == "." or relative.startswith("../") else relative


def under(relative: str, folders) -> bool:
    return any(relative == folder or relative.startswith(folder.rstrip("/") + "/")
               for folder in folders)


def within(root: Path, relative: str) -> bool:
    """``relative`` is a real folder of the dataset, not a symlink leading out of it."""
    path = root / relative
    return not path.is_symlink() and path.resolve().is_relative_to(root.resolve())


def nearest_folder(root: Path, relative: str) -> str:
    """The folder an output lives in or, not made yet, the nearest one that exists."""
    parent = Path(relative).parent
    while parent != Path(".") and not (root / parent).is_dir():
        parent = parent.parent
    return parent.as_posix()


def tree(root: Path, relative: str, protected):
    """``relative`` and, for a folder, everything in it (protected parts pruned)."""
    yield relative
    top = root / relative
    if top.is_symlink() or not top.is_dir():
        return
    for folder, dirs, files in os.walk(top):
        prefix = Path(folder).relative_to(root).as_posix()
        dirs[:] = [name for name in dirs if not under(f"{prefix}/{name}", protected)]
        for name in (*dirs, *files):
            yield f"{prefix}/{name}"


def plan(root: Path, outputs: list[str], cwd: Path, protected) -> tuple[list[str], list[str]]:
    """(paths to hand to the run id, folders to open for new files) for the declared outputs.
    An output outside the dataset or in a read-only part (``protected``) gets nothing."""
    owned, folders = [], []
    for output in outputs:
        relative = inside(root, output, cwd)
        if relative is None or under(relative, protected):
            print(f"warning: output {output} is outside the dataset's writable part: the "
                  "container cannot write it", file=sys.stderr)
            continue
        if os.path.lexists(root / relative):
            owned.extend(tree(root, relative, protected))
        folder = nearest_folder(root, relative)
        if not under(folder, protected) and within(root, folder):
            folders.append(folder)
    return list(dict.fromkeys(owned)), list(dict.fromkeys(folders))


def write_journal(root: Path, record: dict) -> None:
    path = journal_path(root)
    scratch = path.with_suffix(".tmp")
    scratch.write_text(json.dumps(record))
    os.replace(scratch, path)  # whole or not at all: a kill leaves the old state or the new


def own_copy(path: Path) -> None:
    """Replace a hard-linked file by a copy (same content, mode and times)."""
    copy = path.with_name(f".{path.name}.imageclf-copy")
    shutil.copy2(path, copy)
    os.replace(copy, path)


def grant(root: Path, owned: list[str], folders: list[str], run_ids: tuple[int, int]) -> dict:
    """Give the run id write access as :func:`plan` found (the outputs, their folders), as
    described above; return the journal."""
    record = {"run": list(run_ids), "user": [os.getuid(), os.getgid()],
              "owners": {}, "folders": {}}
    for relative in owned:
        status = (root / relative).lstat()
        record["owners"][relative] = [status.st_uid, status.st_gid]
    for relative in folders:
        status = (root / relative).stat()
        record["folders"][relative] = [stat.S_IMODE(status.st_mode), status.st_gid]
    write_journal(root, record)
    uid, gid = run_ids
    for relative in owned:
        path = root / relative
        if path.is_file() and not path.is_symlink() and path.stat().st_nlink > 1:
            own_copy(path)
        os.lchown(path, uid, gid)
    for relative, (mode, _) in record["folders"].items():
        os.chown(root / relative, -1, gid)
        os.chmod(root / relative, mode | OPEN_FOLDER)
    return record


def made_by_run(root: Path, record: dict) -> list[str]:
    """What the run id owns in the granted places beyond what the journal lists: made by the
    container (in an output folder at any depth, in an opened folder at its top)."""
    uid = record["run"][0]
    found = []
    places = [(relative, True) for relative in record["owners"] if (root / relative).is_dir()]
    places += [(relative, False) for relative in record["folders"]]
    for place, deep in places:
        base = root / place
        try:
            entries = ([Path(folder, name) for folder, dirs, files in os.walk(base)
                        for name in (*dirs, *files)] if deep else list(base.iterdir()))
        except OSError:
            continue
        for entry in entries:
            relative = entry.relative_to(root).as_posix()
            if relative not in record["owners"] and _owner(entry) == uid:
                found.append(relative)
    return list(dict.fromkeys(found))


def _owner(path: Path) -> int | None:
    try:
        return path.lstat().st_uid
    except OSError:
        return None


def revoke(root: Path) -> list[str]:
    """Undo the journal's grant, if there is one; return what the container made (relative
    paths, folders it created listed once), now the user's."""
    path = journal_path(root)
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        return []
    except ValueError:  # killed while writing the scratch file: the journal itself is whole
        path.unlink()
        return []
    made = made_by_run(root, record)
    user_uid, user_gid = record["user"]
    for relative in made:
        for entry in tree(root, relative, ()):
            if _owner(root / entry) == record["run"][0]:
                os.lchown(root / entry, user_uid, user_gid)
    for relative, (uid, gid) in record["owners"].items():
        if os.path.lexists(root / relative):
            os.lchown(root / relative, uid, gid)
    for relative, (mode, gid) in record["folders"].items():
        if (root / relative).is_dir():
            os.chown(root / relative, -1, gid)
            os.chmod(root / relative, mode)
    path.unlink()
    return made
