"""Participants as local Unix accounts: created with a random password, subordinate ids for
rootless podman, a login session's runtime folder; deleted with their home and nothing else.

The passwords go to a root-only file and are printed once, when the account is made. The hub
checks them with PAM (JupyterHub's default authenticator) against these very accounts.
"""
from __future__ import annotations

import os
import pwd
import secrets
import signal
import subprocess
import time
from pathlib import Path

from .. import commands
from .checks import SUBID_COUNT
from .layout import Account, Layout

COMMENT = "imageclf workshop"  # the GECOS field says who made the account
PASSWORD_WORDS = 3


def new_password() -> str:
    """Three groups of letters and digits, easy to type from a slip of paper."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4))
                    for _ in range(PASSWORD_WORDS))


def create(account: str, home: Path, subids: int, shell: str = "/bin/bash",
           groups: tuple[str, ...] = ()) -> Account:
    """The Unix account with its home (mode 0700), a password and, for a participant, a range of
    subordinate ids. Returns it; the password is set separately (:func:`set_password`)."""
    subprocess.run(["useradd", "--create-home", "--home-dir", str(home), "--shell", shell,
                    "--comment", COMMENT, "--user-group",
                    *(["--groups", ",".join(groups)] if groups else []), account], check=True,
                   capture_output=True, text=True)
    entry = pwd.getpwnam(account)
    Path(entry.pw_dir).chmod(0o700)
    if subids:
        set_subids(account, subids)
    return Account(name="", account=account, uid=entry.pw_uid, home=entry.pw_dir, subids=subids)


def set_subids(account: str, start: int) -> None:
    """Exactly the planned range: useradd may have given one of its own, which is replaced."""
    for table, flag_del, flag_add in (("/etc/subuid", "--del-subuids", "--add-subuids"),
                                      ("/etc/subgid", "--del-subgids", "--add-subgids")):
        for line in Path(table).read_text().splitlines():
            fields = line.split(":")
            if fields[0] == account and len(fields) == 3:
                first, count = int(fields[1]), int(fields[2])
                subprocess.run(["usermod", flag_del, f"{first}-{first + count - 1}", account],
                               check=True, capture_output=True)
        subprocess.run(["usermod", flag_add, f"{start}-{start + SUBID_COUNT - 1}", account],
                       check=True, capture_output=True)


def set_password(account: str, password: str) -> None:
    subprocess.run(["chpasswd"], input=f"{account}:{password}\n", text=True, check=True,
                   capture_output=True)


def write_password(layout: Layout, account: str, password: str) -> None:
    """Append to the root-only passwords file (a second setup leaves existing lines alone)."""
    layout.hub.mkdir(parents=True, exist_ok=True)
    with open(os.open(layout.passwords, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "a") as out:
        out.write(f"{account}\t{password}\n")


def runtime_dir(uid: int, gid: int) -> Path:
    """/run/user/UID as a login session would make it: rootless podman keeps its state there.
    /run is emptied at boot, so the hub's start makes it again."""
    folder = Path(f"/run/user/{uid}")
    folder.mkdir(parents=True, exist_ok=True)
    os.chown(folder, uid, gid)
    folder.chmod(0o700)
    return folder


def session_env(account: str, clone: str = "") -> dict[str, str]:
    """What a login gives the participant (and the hub's spawner gives their JupyterLab): their
    home, runtime folder and, with ``clone``, its .venv first on PATH."""
    entry = pwd.getpwnam(account)
    path = "/usr/local/bin:/usr/bin:/bin"
    return {"HOME": entry.pw_dir, "USER": account, "LOGNAME": account, "LANG": "C.UTF-8",
            "SHELL": entry.pw_shell, "XDG_RUNTIME_DIR": f"/run/user/{entry.pw_uid}",
            "PATH": f"{clone}/.venv/bin:{path}" if clone else path,
            **({"VIRTUAL_ENV": f"{clone}/.venv"} if clone else {})}


def as_account(account: str, args: list[str], clone: str = "", **extra: str) -> list[str]:
    """The command line that runs ``args`` as the account, in a clean session environment."""
    env = {**session_env(account, clone), **extra}
    return ["runuser", "-u", account, "--", "env", "-i",
            *(f"{key}={value}" for key, value in env.items()), *args]


def processes_of(uids: set[int]) -> list[int]:
    """Pids of the processes run by these users (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid in uids:
                    found.append(int(entry.name))
            except OSError:
                pass  # it ended meanwhile
    return found


def end_processes(uids: set[int], grace: float = 10.0) -> list[int]:
    """TERM every process of these users, KILL what is left after ``grace``; return what
    survived even that (nothing, normally)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in processes_of(uids):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while processes_of(uids) and time.monotonic() < deadline:
            time.sleep(0.2)
    return processes_of(uids)


def mounts_under(folders: list[str]) -> list[str]:
    """Mount points inside these folders (a killed fuse-overlayfs leaves its mount behind)."""
    found = []
    for line in Path("/proc/mounts").read_text().splitlines():
        point = line.split()[1].replace("\\040", " ")
        if any(point == folder or point.startswith(folder.rstrip("/") + "/") for folder in folders):
            found.append(point)
    return sorted(found, key=len, reverse=True)  # innermost first


def unmount_under(folders: list[str]) -> None:
    for point in mounts_under(folders):
        subprocess.run(["umount", "--lazy", point], capture_output=True)


def delete(account: Account) -> None:
    """The account, its home and mail, its subordinate ids and its runtime folder."""
    end_processes({account.uid})
    runtime = f"/run/user/{account.uid}"
    unmount_under([account.home, runtime])
    for table, flag in (("/etc/subuid", "--del-subuids"), ("/etc/subgid", "--del-subgids")):
        if account.subids and any(line.startswith(f"{account.account}:")
                                  for line in Path(table).read_text().splitlines()):
            subprocess.run(["usermod", flag, f"{account.subids}-{account.subids + SUBID_COUNT - 1}",
                            account.account], capture_output=True)
    subprocess.run(["userdel", "--remove", account.account], capture_output=True)
    if Path(account.home).is_dir() and Path(account.home).stat().st_uid == account.uid:
        commands.remove_tree(Path(account.home))  # userdel leaves a home something still wrote to
    if Path(runtime).is_dir():
        subprocess.run(["rm", "-rf", "--one-file-system", runtime], check=False)
