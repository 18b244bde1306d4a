"""A participant's own clone of the project, ready for `make tutorial` in seconds.

Made as root, then handed to the participant: a git clone of the source clone; the annexed
image and the input images linked (hard links, same file system) from the source and the input
dataset instead of copied, and left root's and read-only; a ``.venv`` of a few kilobytes that
runs the shared environment with the clone's own code/ on its path (as `make setup` makes it);
rootless podman set up to read the shared image store. Nothing of the participant's can be
written by another participant, and no shared file can be written by the participant.
"""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

from container import adapter

from .. import commands, inputdata, process
from ..git import config as git_config
from . import workspace
from .accounts import as_account
from .home import write
from .layout import CLONE_NAME, Layout, WorkshopError

GIT_IDENTITY = "[user]\n\tname = {name}\n\temail = {account}@localhost\n"


def clone_path(home: str) -> Path:
    return Path(home) / CLONE_NAME


def quietly(args: list[str], cwd: Path, given: str | None = None) -> None:
    done = subprocess.run(args, cwd=cwd, env=process.tool_env(), capture_output=True, text=True,
                          **({"input": given} if given is not None else
                             {"stdin": subprocess.DEVNULL}))
    if done.returncode != 0:
        raise WorkshopError(f"`{' '.join(args)}` failed in {cwd}: {done.stderr.strip()[-2000:]}")


def git(clone: Path, *args: str) -> None:
    quietly(["git", *args], clone)


def make(layout: Layout, account: str) -> Path:
    """The participant's clone, owned by them, with the image and data present."""
    entry = pwd.getpwnam(account)
    clone = clone_path(entry.pw_dir)
    if clone.exists():
        commands.remove_tree(clone)
    quietly(["git", "clone", "--quiet", "--no-hardlinks", str(layout.source), str(clone)],
            clone.parent)
    git(clone, "annex", "init", "--quiet", account)
    link_content(layout.source, clone)  # the image
    raw = clone / inputdata.SUBDATASET
    quietly(["datalad", "get", "--no-data", inputdata.SUBDATASET], clone)
    git(raw, "annex", "init", "--quiet", account)
    link_content(layout.inputs, raw)  # the input images
    shared_venv(layout, clone)
    # Plain git in any shell (as `make setup` does it): git-annex by its path in .venv.
    quietly(["code/git-annex-anywhere.sh", ".venv/bin/git-annex", "."], clone)
    configure_home(layout, entry)
    hand_over(clone, entry.pw_uid, entry.pw_gid)
    return clone


def link_content(source: Path, target: Path) -> int:
    """Every annexed file of ``source`` present in ``target`` as a hard link to the same content
    (what `git annex get` with annex.hardlink does, without its per-file cost: 2,700 images
    took it over a minute), recorded as present in ``target``'s location log. The content stays
    root's and read-only, as git-annex keeps it."""
    objects = source / ".git" / "annex" / "objects"
    into = target / ".git" / "annex" / "objects"
    keys = []
    for path in sorted(objects.rglob("*")):
        if path.is_file() and not path.is_symlink():
            linked = into / path.relative_to(objects)
            linked.parent.mkdir(parents=True, exist_ok=True)
            if not linked.exists():
                os.link(path, linked)
            keys.append(path.name)
    for folder in sorted({into / p.relative_to(objects).parent
                          for p in objects.rglob("*") if p.is_file()}):
        folder.chmod(0o555)  # git-annex freezes the folder of each piece of content
    uuid = git_config(target, "annex.uuid")
    quietly(["git", "annex", "setpresentkey", "--batch"], target,
            given="".join(f"{key} {uuid} 1\n" for key in keys))
    return len(keys)


def shared_venv(layout: Layout, clone: Path) -> None:
    """``.venv`` as `make setup` leaves it, without a pip install: a venv on the same Python
    whose site-packages adds the shared environment's, its code/ on the path (the Makefile's
    tutorial-code.pth), each of the shared environment's commands with this venv's Python, and
    its stamp newer than the requirements so that make installs nothing."""
    venv = clone / ".venv"
    shared_python = (layout.env / "bin" / "python").resolve()
    quietly([str(shared_python), "-m", "venv", "--without-pip", str(venv)], clone)
    site = venv / "lib" / f"python{shared_python.name.removeprefix('python')}" / "site-packages"
    shared_site = next((layout.env / "lib").glob("python3*/site-packages"))
    (site / "workshop-shared-env.pth").write_text(
        f"import site; site.addsitedir({str(shared_site)!r})\n")
    (site / "tutorial-code.pth").write_text(f"{clone / 'code'}\n")
    for script in sorted((layout.env / "bin").iterdir()):
        target = venv / "bin" / script.name
        if (target.exists() or target.is_symlink() or not script.is_file()
                or script.name.startswith(("activate", "python"))):
            continue
        head = script.read_bytes()[:256]
        if head.startswith(b"#!") and b"python" in head.split(b"\n", 1)[0]:
            body = script.read_text().split("\n", 1)[1]
            target.write_text(f"#!{venv}/bin/python\n{body}")
            target.chmod(0o755)
        else:  # a binary (git-annex) or a shell script: the shared one itself
            target.symlink_to(script)
    for folder in ("share", "etc"):  # JupyterLab's assets and settings, the kernel's spec
        if (layout.env / folder).is_dir():
            (venv / folder).symlink_to(layout.env / folder)
    (venv / ".installed").touch()


def storage_conf(layout: Layout, entry: pwd.struct_passwd) -> str:
    """Rootless podman: overlay through fuse-overlayfs (vfs cannot run our containers as the
    user, see container/rootless.py) and the workshop's store as an additional image store."""
    return ("# Written by the imageclf workshop (python -m pipeline workshop setup).\n"
            "[storage]\ndriver = \"overlay\"\n"
            f"graphroot = \"{entry.pw_dir}/.local/share/containers/storage\"\n"
            f"runroot = \"/run/user/{entry.pw_uid}/containers\"\n"
            "[storage.options]\n"
            f"additionalimagestores = [\"{layout.images}\"]\n"
            "[storage.options.overlay]\n"
            f"mount_program = \"{shutil.which('fuse-overlayfs')}\"\n")


def configure_home(layout: Layout, entry: pwd.struct_passwd) -> None:
    home, uid, gid = Path(entry.pw_dir), entry.pw_uid, entry.pw_gid
    clone = clone_path(entry.pw_dir)
    write(home, ".config/containers/storage.conf", storage_conf(layout, entry), uid, gid)
    # git: who commits, and the root-owned source and input dataset may be fetched from.
    write(home, ".gitconfig",
          GIT_IDENTITY.format(name=f"Participant {entry.pw_name}", account=entry.pw_name)
          + f"[safe]\n\tdirectory = {layout.source}\n\tdirectory = {layout.inputs}\n", uid, gid)
    write(home, ".bash_profile",
          "# imageclf workshop: the tutorial's environment, as `. .venv/bin/activate` gives it.\n"
          f"[ -f ~/.bashrc ] && . ~/.bashrc\n. {clone}/.venv/bin/activate\ncd {clone}\n",
          uid, gid)
    workspace.seed(home, uid, gid)


def hand_over(clone: Path, uid: int, gid: int) -> None:
    """The clone becomes the participant's, except the linked content: those inodes are shared
    with the source and the input dataset and stay root's, read-only."""
    for folder, dirs, files in os.walk(clone):
        os.chown(folder, uid, gid, follow_symlinks=False)
        for name in files + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            path = os.path.join(folder, name)
            info = os.lstat(path)
            if info.st_nlink > 1 and not os.path.islink(path):
                continue  # shared content: stays root's
            os.chown(path, uid, gid, follow_symlinks=False)


def probe_podman(layout: Layout, account: str, image_id: str) -> float:
    """Run the image once as the participant (rootless podman through the shared store); return
    the seconds it took. A setup problem shows here, at the first participant, not in a room."""
    started = time.perf_counter()
    done = subprocess.run(as_account(account, ["podman", "run", "--rm", "--network", "none",
                                               "--userns", "keep-id", image_id, "true"],
                                     CONTAINERS_CONF=str(layout.source / "code" / "container"
                                                         / adapter.PODMAN_CONF.name)),
                          cwd="/", capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise WorkshopError(f"{account}'s rootless podman cannot run the shared image: "
                            f"{done.stderr.strip()[-1500:]}")
    return time.perf_counter() - started
