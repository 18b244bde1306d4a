"""Start and stop the hub under the workshop's own supervisor (supervise.py); with systemd, a
unit file that does the same is offered. ``stop`` checks that nothing is left: no hub, no proxy,
no participant's server or process, no container.
"""
from __future__ import annotations

import os
import pwd
import subprocess
import time
import urllib.request
from pathlib import Path

from .. import process
from . import accounts, cpu, fuse
from .checks import account_exists
from .layout import Account, Layout, State, WorkshopError, ports

START_TIMEOUT = 90
UNIT_NAME = "imageclf-workshop.service"


def pid_of(path: Path) -> int | None:
    """The pid in a pid file, if that process is alive."""
    try:
        pid = int(path.read_text().split()[0])
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError, IndexError):
        return None


def supervisor_pid(layout: Layout) -> int | None:
    """The supervisor of this workshop: the process running supervise.py with its settings
    (found in /proc, so that a lost or stale pid file cannot hide it)."""
    wanted = [b"-m", b"pipeline.workshop.supervise", str(layout.settings).encode()]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if command[1:4] == wanted:
                return int(entry.name)
    return None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def running(layout: Layout) -> bool:
    return supervisor_pid(layout) is not None


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status == 200
    except OSError:
        return False


def hub_url(state: State) -> str:
    host = "127.0.0.1" if state.bind in ("0.0.0.0", "", "*", "::") else state.bind
    return f"http://{host}:{state.port}"


def start(layout: Layout, state: State) -> None:
    """Start the supervisor (which starts the hub) unless it runs; wait until the hub answers."""
    # /run and /dev are made anew at boot: the runtime folders and /dev/fuse's group again.
    for participant in state.participants:
        accounts.runtime_dir(participant.uid, gid_of(participant.account))
    if state.fuse:
        fuse.share(state.fuse)
    if running(layout):
        print(f"The hub runs already: {hub_url(state)}/")
        return
    log = layout.hub / "hub.log"
    with open(log, "a") as out:
        supervisor = subprocess.Popen(
            [str(layout.python()), "-m", "pipeline.workshop.supervise", str(layout.settings)],
            cwd=layout.hub, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=entering(state.cpu_group),
            env={**process.tool_env(), "PYTHONPATH": str(layout.source / "code")})
    deadline = time.monotonic() + START_TIMEOUT
    while not answers(f"{hub_url(state)}/hub/api"):
        if time.monotonic() > deadline or supervisor.poll() is not None:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
            raise WorkshopError(f"The hub did not answer at {hub_url(state)} within "
                                f"{START_TIMEOUT} s. The end of {log}:\n{tail}")
        time.sleep(0.5)
    print(f"The hub answers at {hub_url(state)}/ (log: {log})")


def entering(group: str):
    """What a child runs before its command: joining the workshop's cpu cgroup (cpu.py), which
    everything the hub starts inherits."""
    return (lambda: cpu.enter(group)) if group else None


def gid_of(account: str) -> int:
    return pwd.getpwnam(account).pw_gid


def containers_of(account: str) -> list[str]:
    """The participant's own containers (their rootless podman), any state."""
    listed = subprocess.run(accounts.as_account(account, ["podman", "ps", "-a", "-q"]),
                            cwd="/", capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return listed.stdout.split()


def stop(layout: Layout, state: State) -> list[str]:
    """Stop the hub, then whatever a participant still runs; return what is left (nothing)."""
    pid = supervisor_pid(layout)
    if pid:
        os.kill(pid, 15)
        deadline = time.monotonic() + 90
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.3)
    for name in ("jupyterhub.pid", "proxy.pid"):  # a hub or proxy the supervisor lost
        left = pid_of(layout.hub / name)
        if left:
            os.kill(left, 15)
            time.sleep(2)
            if pid_of(layout.hub / name):
                os.kill(left, 9)
    for participant in existing(state.participants):
        containers = containers_of(participant.account)
        if containers:
            subprocess.run(accounts.as_account(participant.account,
                                               ["podman", "rm", "-f", "-t", "5", *containers]),
                           cwd="/", capture_output=True, stdin=subprocess.DEVNULL)
    uids = {a.uid for a in state.accounts()}
    accounts.end_processes(uids)
    accounts.unmount_under([f"/run/user/{uid}" for uid in uids]
                           + [f"{p.home}/.local/share/containers" for p in state.participants])
    return leftovers(layout, state)


def existing(participants: list[Account]) -> list[Account]:
    """The participants whose accounts exist (a remove cut short deleted some)."""
    return [p for p in participants if account_exists(p.account)]


def leftovers(layout: Layout, state: State) -> list[str]:
    """What still runs of the workshop: the check behind ``stop``'s promise."""
    left = []
    for name in ("supervisor.pid", "jupyterhub.pid", "proxy.pid"):
        pid = pid_of(layout.hub / name)
        if pid:
            left.append(f"{name.removesuffix('.pid')} (pid {pid})")
    uids = {a.uid for a in state.accounts()}
    left += [f"process {pid} of a participant" for pid in accounts.processes_of(uids)]
    for participant in existing(state.participants):
        left += [f"container {c} of {participant.account}"
                 for c in containers_of(participant.account)]
    accounts.end_processes(uids, grace=2)  # the podman calls of the check itself
    for role, port in ports(state.port).items():
        host = "127.0.0.1" if role != "public" or state.bind in ("0.0.0.0", "::") else state.bind
        if answers(f"http://{host}:{port}/"):
            left.append(f"something answers on port {port} ({role})")
    return left


def systemd_unit(layout: Layout) -> str:
    return (
        "# imageclf workshop hub (written by `python -m pipeline workshop setup`).\n"
        "# Where systemd runs: cp this file /etc/systemd/system/ && systemctl enable --now "
        f"{UNIT_NAME}\n"
        "[Unit]\nDescription=imageclf workshop JupyterHub\nAfter=network.target\n\n"
        "[Service]\n"
        f"WorkingDirectory={layout.hub}\n"
        f"Environment=PYTHONPATH={layout.source / 'code'}\n"
        f"ExecStart={layout.python()} -m pipeline.workshop.supervise {layout.settings}\n"
        "KillMode=mixed\nTimeoutStopSec=90\nRestart=on-failure\n\n"
        "[Install]\nWantedBy=multi-user.target\n")


def offer_unit(layout: Layout) -> None:
    unit = layout.hub / UNIT_NAME
    unit.write_text(systemd_unit(layout))
    if Path("/run/systemd/system").is_dir():
        print(f"systemd runs here: {unit} starts the hub at boot "
              f"(cp {unit} /etc/systemd/system/ && systemctl enable --now {UNIT_NAME}).")
