"""``python -m pipeline workshop setup|status|stop|remove``: the instructor's commands."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path

from . import accounts, checks, clones, cpu, environment, fuse, hub, shared, status
from .layout import (CLONE_NAME, DEFAULT_BIND, DEFAULT_PORT, DEFAULT_PREFIX, INSTRUCTOR, Account,
                     Layout, State, WorkshopError, layout_from, ports)

HOME_BASE = Path("/home")


def require_root() -> None:
    if os.geteuid() != 0:
        raise WorkshopError("The workshop's commands make and remove Unix accounts: run them as "
                            "root (sudo make workshop PARTICIPANTS=8).")


def opened(args: argparse.Namespace) -> tuple[Layout, State]:
    """The workshop the command names (as root), and its record."""
    require_root()
    layout = layout_from(args.dir)
    state = layout.load()
    if state is None:
        raise WorkshopError(f"No workshop at {layout.root}: set one up with "
                            "`make workshop PARTICIPANTS=8` (or WORKSHOP_DIR=... for another "
                            "folder).")
    return layout, state


def own_bytes(folder: Path) -> int:
    """Disk a participant's home takes of its own: content linked from the shared stores (root's,
    linked more than once) is not counted."""
    total = 0
    for path in [folder, *folder.rglob("*")]:
        try:
            info = path.lstat()
        except OSError:
            continue
        if info.st_nlink > 1 and info.st_uid == 0 and not path.is_dir():
            continue
        total += info.st_blocks * 512
    return total


def plan(layout: Layout, state: State | None, spec: str | None, prefix: str) -> list[Account]:
    """The accounts to create: the participants named and not made yet, and the instructor."""
    if spec is None:
        if state is None:
            raise WorkshopError("Say how many participants (PARTICIPANTS=8) or their names "
                                "(PARTICIPANTS='alice bob').")
        return []
    new = [Account(name=name, account=f"{prefix}{name}", uid=-1,
                   home=str(HOME_BASE / f"{prefix}{name}"))
           for name in checks.participant_names(spec)
           if not (state and state.participant(f"{prefix}{name}"))]
    if not (state and state.instructor):
        new.append(Account(name=INSTRUCTOR, account=f"{prefix}{INSTRUCTOR}", uid=-1,
                           home=str(HOME_BASE / f"{prefix}{INSTRUCTOR}")))
    return new


def setup(args: argparse.Namespace) -> None:
    require_root()
    os.umask(0o022)
    layout = layout_from(args.dir)
    state = layout.load()
    prefix = state.prefix if state else args.prefix
    if state and args.prefix != state.prefix and args.prefix != DEFAULT_PREFIX:
        raise WorkshopError(f"This workshop's accounts start with {state.prefix!r}; it cannot "
                            f"change to {args.prefix!r}. Remove it first, or use another "
                            "WORKSHOP_DIR.")
    new = plan(layout, state, args.participants, prefix)
    # Run again without options, the workshop keeps its address; naming one moves it.
    bind = args.bind or (state.bind if state else DEFAULT_BIND)
    port = args.port or (state.port if state else DEFAULT_PORT)
    project = Path(args.project or args.root).resolve()
    checks.refuse(checks.problems(layout, state, new, port, bind, hub.running(layout), HOME_BASE,
                                  project))
    started = time.perf_counter()
    if state is None:
        state = State(prefix=prefix, bind=bind, port=port, root_created=not layout.root.exists())
        layout.root.mkdir(parents=True, exist_ok=True)
        layout.root.chmod(0o755)
        layout.save(state)
    state.bind, state.port = bind, port
    image_id = build_shared(layout, project)
    print(f"Shared stores ready in {time.perf_counter() - started:.0f} s.", flush=True)

    for participant in state.participants:  # a clone the instructor deleted: made anew
        if not (Path(participant.clone) / ".git").is_dir():
            clones.make(layout, participant.account)
            print(f"{participant.account}: a new clone in {participant.clone}", flush=True)
    participants = [a for a in new if a.name != INSTRUCTOR]
    if participants:
        state.group_created = fuse.ensure_group() or state.group_created
        state.fuse = fuse.share(state.fuse)
        layout.save(state)
    starts = iter(checks.subid_starts(len(participants)))
    passwords = {}
    for number, planned in enumerate(participants):
        passwords[planned.account] = add_participant(layout, state, planned, next(starts),
                                                     probe=image_id if number == 0 else "")
    if not state.instructor and any(a.name == INSTRUCTOR for a in new):
        made = accounts.create(f"{prefix}{INSTRUCTOR}", HOME_BASE / f"{prefix}{INSTRUCTOR}", 0,
                               shell="/usr/sbin/nologin")
        made.name = INSTRUCTOR
        state.instructor = made
        passwords[made.account] = set_new_password(layout, made.account)
        layout.save(state)
    state.cpu_group = cpu.ensure(layout.root)  # made anew after a reboot
    layout.save(state)
    shared.settings(layout, state, ports(port))
    hub.offer_unit(layout)
    hub.start(layout, state)
    print_welcome(layout, state, passwords)


def build_shared(layout: Layout, project: Path) -> str:
    """Source clone, environment, proxy, data and image: each once, in that order; returns the
    image's id."""
    shared.clone_project(layout, project)
    environment.build(layout)
    shared.proxy(layout)
    shared.data_and_image(layout)
    return shared.image_store(layout)


def set_new_password(layout: Layout, account: str) -> str:
    password = accounts.new_password()
    accounts.set_password(account, password)
    accounts.write_password(layout, account, password)
    return password


def add_participant(layout: Layout, state: State, planned: Account, subids: int,
                    probe: str = "") -> str:
    """Account, password, clone; on any failure the participant is deleted again. ``probe``: an
    image to run once as the participant, to check their podman."""
    started = time.perf_counter()
    made = accounts.create(planned.account, Path(planned.home), subids, groups=(fuse.GROUP,))
    made.name, made.clone = planned.name, str(clones.clone_path(made.home))
    try:
        accounts.runtime_dir(made.uid, hub.gid_of(made.account))
        clones.make(layout, made.account)
        if probe:
            print(f"{made.account}: rootless podman runs the shared image "
                  f"({clones.probe_podman(layout, made.account, probe):.1f} s)", flush=True)
        password = set_new_password(layout, made.account)
    except BaseException:
        accounts.delete(made)
        raise
    made.ready_seconds = round(time.perf_counter() - started, 1)
    state.participants.append(made)
    layout.save(state)
    print(f"{made.account}: ready in {made.ready_seconds:.1f} s, "
          f"{own_bytes(Path(made.home)) / 2**20:.0f} MB of its own ({made.clone})", flush=True)
    return password


def print_welcome(layout: Layout, state: State, passwords: dict[str, str]) -> None:
    if passwords:
        print(f"\nNew accounts and passwords (shown once; kept in {layout.passwords}, root "
              "only):")
        for account, password in passwords.items():
            print(f"  {account:<20} {password}")
    print(f"\nThe hub: {hub.hub_url(state)}/  ({len(state.participants)} participants; the "
          f"instructor {state.instructor.account} sees the room at "
          f"{hub.hub_url(state)}/services/workshop-status/)")
    if state.bind == "127.0.0.1":
        print("It listens on 127.0.0.1 only: for a room, WORKSHOP_BIND=0.0.0.0 behind your TLS "
              "proxy (docs/instructors.md).")


def cmd_status(args: argparse.Namespace) -> None:
    layout, state = opened(args)
    entries = status.rows(state.participants)
    if args.json:
        print(json.dumps(entries, indent=2))
        return
    running = "runs" if hub.running(layout) else "is stopped"
    print(f"The hub {running} ({hub.hub_url(state)}/); {len(entries)} participants.\n")
    print(status.render(entries), end="")


def cmd_stop(args: argparse.Namespace) -> None:
    layout, state = opened(args)
    left = hub.stop(layout, state)
    if left:
        raise WorkshopError("Still running after stop: " + "; ".join(left))
    print("Stopped: no hub, proxy, participant's server, process or container runs. "
          "`make workshop` starts it again.")


def cmd_remove(args: argparse.Namespace) -> None:
    layout, state = opened(args)
    left = hub.stop(layout, state)
    if left:
        raise WorkshopError("Cannot remove, still running: " + "; ".join(left))
    for account in state.accounts():
        accounts.delete(account)
        print(f"removed {account.account} and {account.home}")
        state.participants = [p for p in state.participants if p.account != account.account]
        state.instructor = None if state.instructor is account else state.instructor
        layout.save(state)  # a remove cut short leaves a record of what is left
    accounts.unmount_under([str(layout.root)])
    for folder in (layout.env, layout.proxy_dir, layout.images, layout.root / "images-run",
                   layout.source, layout.inputs, layout.root / ".imagenette.lock", layout.hub):
        if folder.exists():  # as root: read-only folders are no obstacle, mounts are
            subprocess.run(["rm", "-rf", "--one-file-system", str(folder)], check=True)
    cpu.remove(state.cpu_group)
    fuse.restore(state.fuse)
    if state.group_created:
        fuse.remove_group()
    if state.root_created and layout.root.is_dir() and not any(layout.root.iterdir()):
        layout.root.rmdir()
    print(f"Removed the workshop at {layout.root}: its accounts, homes and shared stores.")


def add_parser(sub) -> None:
    parser = sub.add_parser("workshop", help="a JupyterHub workshop on this server (as root): "
                                             "setup, status, stop, remove")
    actions = parser.add_subparsers(dest="action", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dir", default=os.environ.get("WORKSHOP_DIR"),
                        help="the workshop's folder (default: $WORKSHOP_DIR or "
                             "/srv/imageclf-workshop)")
    setup_parser = actions.add_parser(
        "setup", parents=[common],
        help="shared stores, accounts, clones and the hub; again: adds new names, changes nothing "
             "else")
    setup_parser.add_argument("--participants", default=os.environ.get("PARTICIPANTS"),
                              help="a number (8: accounts PREFIX01..PREFIX08) or names "
                                   "('alice bob')")
    setup_parser.add_argument("--prefix", default=DEFAULT_PREFIX,
                              help=f"account prefix (default {DEFAULT_PREFIX})")
    setup_parser.add_argument("--bind", default=os.environ.get("WORKSHOP_BIND"),
                              help=f"address the hub listens on (default {DEFAULT_BIND}, or "
                                   "the workshop's; 0.0.0.0 for a room, behind a TLS proxy)")
    setup_parser.add_argument("--port", type=int, default=os.environ.get("WORKSHOP_PORT"),
                              help=f"the hub's port (default {DEFAULT_PORT}, or the workshop's); "
                                   "the next three are used on 127.0.0.1 (proxy API, hub, "
                                   "status page)")
    setup_parser.add_argument("--project", default=os.environ.get("WORKSHOP_PROJECT"),
                              help="the project to clone for participants (default: this "
                                   "checkout; it must hold no run records)")
    setup_parser.set_defaults(func=setup)
    status_parser = actions.add_parser("status", parents=[common],
                                       help="one row per participant: steps, last run, accuracy")
    status_parser.add_argument("--json", action="store_true",
                               help="the rows as JSON, with account, home and clone")
    status_parser.set_defaults(func=cmd_status)
    actions.add_parser("stop", parents=[common],
                       help="stop the hub, proxy, servers and containers; checks nothing is "
                            "left").set_defaults(func=cmd_stop)
    actions.add_parser("remove", parents=[common],
                       help="stop, then delete the accounts, homes and shared stores setup "
                            "made").set_defaults(func=cmd_remove)


__all__ = ["add_parser", "CLONE_NAME"]
