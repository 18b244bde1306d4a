"""/dev/fuse for the participants' rootless podman.

Each participant's podman reads the shared image store through fuse-overlayfs, which maps the
image's ids into the participant's user namespace without copying the image (the kernel's own
rootless overlay would first copy and re-own all 900 MB of it, once per participant). Debian's
udev makes /dev/fuse usable by all (0666); machines without udev (containers, some VMs) leave it
root's only. There the workshop lets its group use it, and ``remove`` puts back what was there.
"""
from __future__ import annotations

import grp
import os
import stat
import subprocess
from pathlib import Path

DEVICE = Path("/dev/fuse")
GROUP = "imageclf-workshop"


def ensure_group() -> bool:
    """The participants' group; True if it was created now."""
    try:
        grp.getgrnam(GROUP)
        return False
    except KeyError:
        subprocess.run(["groupadd", "--system", GROUP], check=True, capture_output=True)
        return True


def remove_group() -> None:
    """The group, unless another workshop's participants are still in it."""
    try:
        if grp.getgrnam(GROUP).gr_mem:
            return
    except KeyError:
        return
    subprocess.run(["groupdel", GROUP], capture_output=True)


def usable_by_all() -> bool:
    return DEVICE.exists() and DEVICE.stat().st_mode & 0o006 == 0o006


def share(original: dict | None) -> dict | None:
    """Let the group read and write /dev/fuse unless everyone may; return what it was before
    (to restore), or ``original`` when it was changed by an earlier setup already."""
    if not DEVICE.exists() or usable_by_all():
        return original
    info = DEVICE.stat()
    before = original or {"uid": info.st_uid, "gid": info.st_gid,
                          "mode": stat.S_IMODE(info.st_mode)}
    os.chown(DEVICE, before["uid"], grp.getgrnam(GROUP).gr_gid)
    DEVICE.chmod(before["mode"] | 0o060)
    return before


def restore(original: dict | None) -> None:
    """Put back the owner and mode setup found, if /dev/fuse is still as setup left it (someone
    may have opened it to all since, or another workshop still needs it)."""
    if not original or not DEVICE.exists():
        return
    info = DEVICE.stat()
    try:
        ours = grp.getgrnam(GROUP)
    except KeyError:
        return
    as_left = info.st_gid == ours.gr_gid and stat.S_IMODE(info.st_mode) == original["mode"] | 0o060
    if as_left and not ours.gr_mem:
        os.chown(DEVICE, original["uid"], original["gid"])
        DEVICE.chmod(original["mode"])
