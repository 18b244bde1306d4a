"""Everything ``workshop setup`` checks before it creates anything, each problem said once.

Names, accounts that exist already, ports in use, podman's subordinate ids and disk space are
all checked first; :func:`refuse` reports every problem found in one message, so an instructor
fixes them at once and nothing is half made.
"""
from __future__ import annotations

import errno
import pwd
import re
import shutil
import socket
import subprocess
from pathlib import Path

from .. import history
from .layout import INSTRUCTOR, Account, Layout, State, WorkshopError, ports

NAME = re.compile(r"[a-z][a-z0-9]{0,15}|[0-9]{1,4}")
MAX_PARTICIPANTS = 500
SUBID_COUNT = 65536  # rootless podman maps a container's 65,536 ids onto this range
# Disk, from the measured costs (docs/instructors.md), with room to spare.
PER_PARTICIPANT_BYTES = 250 * 2**20  # the target: clone, .venv, podman store, the story's outputs
SHARED_BYTES = {"env": 1500 * 2**20, "images": 1100 * 2**20, "project": 1100 * 2**20,
                "imagenette": 400 * 2**20}  # folder of the workshop -> what it takes
TOOLS = {"useradd": "passwd", "userdel": "passwd", "chpasswd": "passwd", "runuser": "util-linux",
         "podman": "podman", "runc": "runc", "newuidmap": "uidmap",
         "fuse-overlayfs": "fuse-overlayfs", "node": "nodejs", "npm": "npm"}


def participant_names(spec: str) -> list[str]:
    """``8`` -> 01..08; ``alice bob`` (spaces or commas) -> those names."""
    words = spec.replace(",", " ").split()
    if len(words) == 1 and words[0].isdigit():
        count = int(words[0])
        if not 1 <= count <= MAX_PARTICIPANTS:
            raise WorkshopError(f"PARTICIPANTS={spec}: give a number from 1 to "
                                f"{MAX_PARTICIPANTS}, or names.")
        width = max(2, len(str(count)))
        return [str(number).zfill(width) for number in range(1, count + 1)]
    bad = [word for word in words if not NAME.fullmatch(word) or word == INSTRUCTOR]
    if not words or bad:
        what = f"invalid names {', '.join(map(repr, bad))}" if bad else "empty"
        raise WorkshopError(
            f"PARTICIPANTS={spec!r}: {what}. Give a number (PARTICIPANTS=8) or names of "
            "lowercase letters and digits starting with a letter, at most 16 characters, not "
            f"{INSTRUCTOR!r} (PARTICIPANTS='alice bob').")
    duplicates = sorted({word for word in words if words.count(word) > 1})
    if duplicates:
        raise WorkshopError(f"PARTICIPANTS names {', '.join(duplicates)} more than once.")
    return words


def account_exists(account: str) -> bool:
    try:
        pwd.getpwnam(account)
    except KeyError:
        return False
    return True


def foreign_accounts(accounts: list[str], state: State | None) -> list[str]:
    """Accounts that exist but that this workshop did not create: never taken over."""
    ours = {a.account for a in state.accounts()} if state else set()
    return [account for account in accounts if account not in ours and account_exists(account)]


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            return error.errno == errno.EADDRINUSE or error.errno == errno.EACCES
    return False


def busy_ports(port: int, bind: str) -> list[str]:
    busy = []
    for role, number in ports(port).items():
        host = bind if role == "public" else "127.0.0.1"
        if port_in_use(number, "0.0.0.0" if host in ("", "*") else host):
            busy.append(f"{number} ({role.replace('_', ' ')})")
    return busy


def login_defs(path: Path = Path("/etc/login.defs")) -> dict[str, int]:
    """SUB_UID_MIN/MAX etc. as useradd reads them (its defaults where the file is silent)."""
    values = {"SUB_UID_MIN": 100000, "SUB_UID_MAX": 600100000, "SUB_GID_MIN": 100000,
              "SUB_GID_MAX": 600100000}
    if path.exists():
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] in values and parts[1].isdigit():
                values[parts[0]] = int(parts[1])
    return values


def taken_ranges(table_text: str) -> list[tuple[int, int]]:
    """(start, end) of each range in /etc/subuid or /etc/subgid."""
    taken = []
    for line in table_text.splitlines():
        fields = line.strip().split(":")
        if len(fields) == 3 and fields[1].isdigit() and fields[2].isdigit():
            taken.append((int(fields[1]), int(fields[1]) + int(fields[2])))
    return sorted(taken)


def free_starts(taken: list[tuple[int, int]], low: int, high: int, wanted: int,
                count: int = SUBID_COUNT) -> list[int]:
    """Up to ``wanted`` starts of free ranges of ``count`` ids within [low, high]."""
    starts, cursor = [], low
    for start, end in [*taken, (high + 1, high + 1)]:
        while cursor + count <= min(start, high + 1) and len(starts) < wanted:
            starts.append(cursor)
            cursor += count
        cursor = max(cursor, end)
        if len(starts) == wanted:
            break
    return starts


def subid_starts(wanted: int, subuid: Path = Path("/etc/subuid"),
                 subgid: Path = Path("/etc/subgid"),
                 defs: dict[str, int] | None = None) -> list[int]:
    """Starts free in both tables (one range serves as a participant's uids and gids)."""
    defs = defs or login_defs()
    taken = []
    for table in (subuid, subgid):
        taken += taken_ranges(table.read_text() if table.exists() else "")
    low = max(defs["SUB_UID_MIN"], defs["SUB_GID_MIN"])
    high = min(defs["SUB_UID_MAX"], defs["SUB_GID_MAX"])
    return free_starts(sorted(taken), low, high, wanted)


def disk_needed(layout: Layout, new_participants: int) -> int:
    """Bytes for the shared folders not made yet and for the new participants."""
    shared = sum(size for name, size in SHARED_BYTES.items() if not (layout.root / name).exists())
    return shared + new_participants * PER_PARTICIPANT_BYTES


def free_bytes(path: Path) -> int:
    while not path.exists():
        path = path.parent
    return shutil.disk_usage(path).free


def node_major() -> int:
    found = subprocess.run(["node", "--version"], capture_output=True, text=True)
    match = re.match(r"v(\d+)", found.stdout.strip())
    return int(match.group(1)) if match else 0


def problems(layout: Layout, state: State | None, new: list[Account], port: int, bind: str,
             hub_running: bool, home_base: Path, project: Path) -> list[str]:
    """Every reason setup cannot go ahead; empty when it can."""
    found = []
    if not (layout.source / ".git").exists() and history.run_commits(project, ["HEAD"]):
        found.append(f"{project} holds run records (the tutorial ran there): participants would "
                     "start with the story done. Set the workshop up from a fresh clone of the "
                     "project, or name one with WORKSHOP_PROJECT=PATH.")
    missing = [f"{tool} (apt-get install {package})" for tool, package in TOOLS.items()
               if not shutil.which(tool)]
    if missing:
        found.append("missing tools: " + ", ".join(missing) + ".")
    elif node_major() < 20:
        found.append("configurable-http-proxy needs Node.js 20 or newer (`node --version`); "
                     "install a newer nodejs.")
    foreign = foreign_accounts([a.account for a in new], state)
    if foreign:
        found.append(f"accounts {', '.join(foreign)} exist already and were not made by this "
                     "workshop: choose other names, or another prefix (--prefix).")
    if state and (state.port != port or state.bind != bind) and hub_running:
        found.append(f"the hub runs on {state.bind}:{state.port}: `workshop stop` it before "
                     f"moving it to {bind}:{port}.")
    if not hub_running:
        busy = busy_ports(port, bind)
        if busy:
            found.append(f"ports in use: {', '.join(busy)}. Stop what listens there "
                         "(`ss -ltnp` shows it), or choose another port (WORKSHOP_PORT=...).")
    needing_ids = [a for a in new if not a.subids]
    if needing_ids:
        starts = subid_starts(len(needing_ids))
        if len(starts) < len(needing_ids):
            found.append(
                f"no podman subordinate ids left: {len(needing_ids)} participants need "
                f"{SUBID_COUNT} each, /etc/subuid and /etc/subgid have room for {len(starts)} "
                "within SUB_UID_MIN..SUB_UID_MAX of /etc/login.defs. Raise SUB_UID_MAX and "
                "SUB_GID_MAX there, or remove unused entries.")
    needed = {layout.root: disk_needed(layout, 0)}  # the shared stores not built yet
    home_place = layout.root if same_device(layout.root, home_base) else home_base
    needed[home_place] = needed.get(home_place, 0) + len(new) * PER_PARTICIPANT_BYTES
    for place, bytes_needed in needed.items():
        free = free_bytes(place)
        if bytes_needed > free:
            found.append(f"too little disk at {place}: {bytes_needed / 2**30:.1f} GiB needed for "
                         f"{len(new)} new participants and the shared stores, "
                         f"{free / 2**30:.1f} GiB free. Free space, or give fewer participants.")
    return found


def same_device(first: Path, second: Path) -> bool:
    def device(path: Path) -> int:
        while not path.exists():
            path = path.parent
        return path.stat().st_dev
    return device(first) == device(second)


def refuse(found: list[str]) -> None:
    if found:
        raise WorkshopError("nothing was created:\n  - " + "\n  - ".join(found))
