"""Files setup (as root) writes into a participant's home, never through a link they planted.

A participant owns their home and may put a symbolic link where setup writes (``~/.gitconfig``
pointing at /etc/shadow, ``~/.jupyter`` at /): followed by root, that write and the chown after
it would hand them the target. So each folder is opened relative to the one before without
following links, and a file is written beside its place and renamed over it, never written
through: a link in the way stops setup with a message instead.
"""
from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

from .layout import WorkshopError

FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


def write(home: Path, relative: str, text: str, uid: int, gid: int, replace: bool = True) -> bool:
    """``text`` at ``home/relative``, its folders made where missing, all of it the participant's
    (uid, gid). With ``replace`` off, an existing file is left alone. Whether it was written."""
    *folders, name = Path(relative).parts
    try:
        where = os.open(home, FOLDER)
    except OSError as error:
        raise refused(home, error) from error
    made = home
    try:
        for part in folders:
            made = made / part
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, 0o755, dir_fd=where)
            try:
                inner = os.open(part, FOLDER, dir_fd=where)
            except OSError as error:
                raise refused(made, error) from error
            os.close(where)
            where = inner
            os.fchown(where, uid, gid)
        if not replace and exists(name, where):
            return False
        temporary = f".{name}.imageclf-setup-{os.getpid()}"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary, dir_fd=where)  # left by a setup killed here
        out = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644,
                      dir_fd=where)
        with os.fdopen(out, "w") as written:
            written.write(text)
            os.fchown(written.fileno(), uid, gid)
        os.rename(temporary, name, src_dir_fd=where, dst_dir_fd=where)
        return True
    finally:
        os.close(where)


def exists(name: str, folder: int) -> bool:
    try:
        os.stat(name, dir_fd=folder, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def refused(path: Path, error: OSError) -> WorkshopError:
    if error.errno in (errno.ELOOP, errno.ENOTDIR):
        return WorkshopError(f"{path}: a link or a file stands where setup makes a folder. "
                             "Move it away, then run setup again.")
    return WorkshopError(f"{path}: {error.strerror}")
