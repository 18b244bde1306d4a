"""The room's CPU: pages first, then the participants' runs.

A participant's terminals and kernels run at a lower priority (environment.py)
so that the hub, the proxy and every JupyterLab server answer while the room computes. On a
server without systemd everything sits in the root cgroup, and there Linux's autogroup
scheduling (on by default in Debian's kernels) weighs every session alike whatever its nice: a
terminal, each kernel papermill starts and each container's conmon is a session of its own, so
nice changed nothing (measured here: two busy loops at nice 10 and two at nice 0, each in its
own session, got 50% of a core each; in one session 10% and 90%). Autogroups apply only to the
root cgroup, so the workshop runs its hub and all it starts (proxy, servers, terminals,
containers) in a cpu cgroup of its own, where priorities mean what they say. The group weighs
as much as any other session of the server, so an instructor's shell stays quick too.

Where the hub already runs in a cgroup of its own (a systemd unit or login session) or autogroup
is off, nothing is made. Where cgroups cannot be written (an unprivileged container), the
workshop runs without and says so.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

CGROUPS = Path("/sys/fs/cgroup")
PROC = Path("/proc")


def own_cpu_cgroup(proc: Path = PROC) -> str:
    """This process's cgroup in the hierarchy holding the cpu controller (v1), or its v2 one."""
    unified = "/"
    for line in (proc / "self" / "cgroup").read_text().splitlines():
        hierarchy, controllers, path = line.split(":", 2)
        if "cpu" in controllers.split(","):
            return path
        if hierarchy == "0":
            unified = path
    return unified


def needed(proc: Path = PROC) -> bool:
    """Whether nice is lost to autogroups here: autogroup on, and this process in the root."""
    try:
        enabled = (proc / "sys" / "kernel" / "sched_autogroup_enabled").read_text().strip()
    except OSError:
        return False
    return enabled == "1" and own_cpu_cgroup(proc) == "/"


def hierarchy(cgroups: Path = CGROUPS) -> Path | None:
    """Where cpu cgroups are made: the v1 cpu hierarchy, or the v2 root if it offers cpu."""
    if (cgroups / "cpu" / "cgroup.procs").exists():
        return cgroups / "cpu"
    controllers = cgroups / "cgroup.controllers"
    if controllers.exists() and "cpu" in controllers.read_text().split():
        return cgroups
    return None


def group_name(root: Path) -> str:
    """One group per workshop folder: its name, and a digest of its path."""
    return f"{root.name}-{hashlib.sha256(str(root).encode()).hexdigest()[:8]}"


def ensure(root: Path, cgroups: Path = CGROUPS, proc: Path = PROC) -> str:
    """The workshop's cpu cgroup, made if needed; '' where none is needed or none can be made."""
    if not needed(proc):
        return ""
    if hierarchy(cgroups) is None:
        print("No cpu cgroup can be made here: participants' runs may slow the hub's pages "
              "down (docs/instructors.md).", flush=True)
        return ""
    try:
        return make(group_name(root), cgroups=cgroups)
    except OSError as error:
        print(f"Cannot make the cpu cgroup {error.filename} ({error.strerror}): participants' "
              "runs may slow the hub's pages down (docs/instructors.md).", flush=True)
        return ""


def make(name: str, claim: int = 1, cgroups: Path = CGROUPS) -> str:
    """The cpu cgroup ``name`` (made if new) with ``claim`` times the default weight against its
    siblings. OSError where it cannot be made."""
    base = hierarchy(cgroups)
    if base is None:
        raise OSError(2, "no cpu controller", str(cgroups))
    if base == cgroups:  # v2: the root hands the cpu controller down to its children
        control = cgroups / "cgroup.subtree_control"
        if "cpu" not in control.read_text().split():
            control.write_text("+cpu")
    group = base / name
    group.mkdir(exist_ok=True)
    if claim != 1:
        weight, default = (("cpu.weight", 100) if (group / "cpu.weight").exists()
                           else ("cpu.shares", 1024))
        (group / weight).write_text(f"{default * claim}\n")
    return str(group)


def enter(group: str, pid: int = 0) -> None:
    """Move a process (this one by default) into ``group``; its children are born there."""
    if group:
        Path(group, "cgroup.procs").write_text(f"{pid or os.getpid()}\n")


def remove(group: str) -> None:
    """The group, once empty (``workshop stop`` ended everything in it)."""
    if group and Path(group).is_dir():
        try:
            Path(group).rmdir()
        except OSError as error:
            print(f"The cpu cgroup {group} stays ({error.strerror}).", flush=True)
