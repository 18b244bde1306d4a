"""A workshop on one server: a real JupyterHub, a room of participants, one command.

``make workshop PARTICIPANTS=8`` (as root) runs ``python -m pipeline workshop setup``; then
``status``, ``stop`` and ``remove``. Modules, one mechanism each:

    room         the commands: setup (checks, then shared stores, accounts, clones, the hub),
                 status, stop, remove
    layout       where everything lives; the record of what setup created (hub/workshop.json)
    checks       what setup checks before it creates anything (names, accounts, ports,
                 subordinate ids, disk)
    environment  the one Python environment (the instructor's .venv linked, or pip)
    shared       built once, read-only for all: the proxy, the source clone, the image store
    fuse         /dev/fuse for the participants' group, where udev did not open it to all
    accounts     Unix accounts with passwords and subordinate ids; their processes
    clones       a participant's clone: linked content, a shared .venv, rootless podman
    hub          the hub under our supervisor (or a systemd unit); stop leaves nothing
    supervise    the supervisor process itself
    jupyterhub_config  the hub's configuration (PAM, LocalProcessSpawner, the status service)
    status, page the room as a table, in the terminal and as a page in the hub
"""
from .room import add_parser

__all__ = ["add_parser"]
