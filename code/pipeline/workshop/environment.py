"""The one Python environment of the room (WORKSHOP_DIR/env): every participant's kernel,
datalad, ``python -m pipeline``, and the pinned JupyterHub whose ``jupyterhub-singleuser`` runs
each participant's JupyterLab. Root's, read-only to everyone else.

It runs on a Python every account can run (the system's python3.11; a pyenv Python under /root
is out of the participants' reach). Its packages are exactly the project's requirements. When
the environment running setup (the instructor's .venv, from `make setup`) holds exactly those
pins on the same Python version, its files are hard-linked in (seconds, no extra disk) instead
of installed again by pip (minutes); either way, pip then adds JupyterHub.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sys
from importlib import metadata
from pathlib import Path

from .. import commands
from .layout import JUPYTERHUB, Layout, WorkshopError
from .shared import committed, fingerprint, mark, up_to_date

TERMINAL_NICENESS = 19  # the lowest: pages first, whatever the room runs
# What terminals and kernels start with. SCHED_IDLE: nice 19 alone still weighs 15 per task
# against a server's 1024, so a room's forty busy processes outweighed the page being served,
# and a waking server had to wait for the slice of the one on its core; an idle-class task gives
# way at once. Niceness stays for the disk (the I/O priority follows it).
LOW_PRIORITY = ["chrt", "--idle", "0", "nice", "-n", str(TERMINAL_NICENESS)]
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+)")
# What a venv holds of its own place: made anew, never linked. (Its __pycache__ folders are
# linked: a read-only environment without them compiles every module at every start.)
NOT_LINKED = {"pyvenv.cfg", "tutorial-code.pth"}


def system_python() -> str:
    """A python3.11 every account can run (the running one may sit under /root, as pyenv's)."""
    for candidate in (sys.executable, "/usr/bin/python3.11", "/usr/local/bin/python3.11"):
        path = Path(candidate).resolve()
        if path.exists() and readable_by_all(path) and path.name.startswith("python3.11"):
            return str(path)
    raise WorkshopError("No Python 3.11 that every account can run (/usr/bin/python3.11): "
                        "apt-get install python3.11-venv.")


def readable_by_all(path: Path) -> bool:
    """Whether any account can reach ``path``: every folder above it is world-searchable."""
    return all(os.stat(parent).st_mode & 0o001 for parent in path.parents)


def pins(source: Path) -> dict[str, str]:
    """name -> version of every ``==`` pin of requirements.txt and the files it includes."""
    found, files = {}, [source / "requirements.txt"]
    while files:
        for line in files.pop().read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith("-r "):
                files.append(source / line[3:].strip())
            elif PIN.match(line):
                name, version = PIN.match(line).groups()
                found[canonical(name)] = version
    return found


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def running_env_matches(source: Path) -> bool:
    """The running venv holds exactly the project's pins, on the system Python's version."""
    if sys.prefix == sys.base_prefix or sys.version_info[:2] != (3, 11):
        return False
    installed = {canonical(d.metadata["Name"]): d.version for d in metadata.distributions()}
    wanted = pins(source)
    return bool(wanted) and all(installed.get(name) == version for name, version in wanted.items())


def link_venv(source: Path, target: Path) -> None:
    """The files of venv ``source`` in venv ``target`` as hard links; its commands rewritten to
    run ``target``'s Python."""
    for folder, dirs, files in os.walk(source):
        dirs[:] = [d for d in dirs if d not in NOT_LINKED]
        here = Path(folder)
        into = target / here.relative_to(source)
        into.mkdir(parents=True, exist_ok=True)
        for name in files:
            original, linked = here / name, into / name
            if name in NOT_LINKED or linked.exists() or linked.is_symlink():
                continue
            if here == source / "bin":
                head = original.read_bytes()[:256] if not original.is_symlink() else b""
                if head.startswith(b"#!") and b"python" in head.split(b"\n", 1)[0]:
                    body = original.read_bytes().split(b"\n", 1)[1]
                    linked.write_bytes(b"#!" + str(target / "bin" / "python").encode() + b"\n"
                                       + body)
                    linked.chmod(0o755)
                    continue
            if original.is_symlink():
                linked.symlink_to(os.readlink(original))
                continue
            try:
                os.link(original, linked)
            except OSError:  # another file system
                shutil.copy2(original, linked)


def build(layout: Layout) -> None:
    stamp = fingerprint(committed(layout.source, ["requirements.txt",
                                                  "code/container/requirements.lock",
                                                  "code/papermill_stable"]),
                        JUPYTERHUB.encode(), system_python().encode())
    if up_to_date(layout.env, stamp):
        print(f"The shared environment {layout.env} is up to date.")
        jupyter_settings(layout)
        return
    if layout.env.exists():
        shutil.rmtree(layout.env)
    commands.run([system_python(), "-m", "venv", "--without-pip", str(layout.env)])
    pip = [str(layout.env / "bin" / "python"), "-m", "pip", "install", "--quiet",
           "--disable-pip-version-check"]
    if running_env_matches(layout.source):
        print(f"Linking the packages of {sys.prefix} (the project's pins) into {layout.env}.")
        link_venv(Path(sys.prefix), layout.env)
        commands.run([*pip, JUPYTERHUB], cwd=layout.source)
    else:
        commands.run([str(layout.env / "bin" / "python"), "-m", "ensurepip", "--default-pip"])
        commands.run([*pip, "-r", "requirements.txt", JUPYTERHUB], cwd=layout.source)
    jupyter_settings(layout)
    mark(layout.env, stamp)


def jupyter_settings(layout: Layout) -> None:
    """A participant's JupyterLab terminal is a login shell (their ~/.bash_profile activates
    their clone's .venv); it and the notebooks' kernel run at a lower priority than the servers:
    a room running the story at once must not slow down the pages everyone's JupyterLab serves
    (cpu.py makes priorities count). JupyterLab asks no one about news (the room's machine may have
    no internet), saves no notebook by itself and checks no build. In the shared environment's
    Jupyter configuration, which every participant's .venv reads."""
    # The main config file: jupyter_server reads only extension switches from
    # jupyter_server_config.d, where an earlier version of this put the setting to no effect.
    config = layout.env / "etc" / "jupyter"
    (config / "jupyter_server_config.d" / "imageclf-workshop.json").unlink(missing_ok=True)
    write_new(config / "jupyter_server_config.json", json.dumps({"ServerApp": {
        "terminado_settings": {"shell_command": [*LOW_PRIORITY, "/bin/bash", "--login"]}}},
        indent=2) + "\n")
    # ipykernel's spec, its command prefixed ("python" stays the participant's .venv's: first on
    # their PATH).
    kernel = layout.env / "share" / "jupyter" / "kernels" / "python3" / "kernel.json"
    spec = json.loads(kernel.read_text())
    command = without_priority(spec["argv"])
    if spec["argv"] != [*LOW_PRIORITY, *command]:
        spec["argv"] = [*LOW_PRIORITY, *command]
        write_new(kernel, json.dumps(spec, indent=1) + "\n")
    # No build check at every page load (0.3 s before the walkthrough opens, measured here):
    # a participant cannot rebuild JupyterLab in the read-only environment anyway.
    write_new(config / "labconfig" / "page_config.json", json.dumps(
        {"buildCheck": False, "buildAvailable": False}, indent=2) + "\n")
    lab = layout.env / "share" / "jupyter" / "lab" / "settings"
    write_new(lab / "overrides.json", json.dumps({
        "@jupyterlab/apputils-extension:notification": {"fetchNews": "false",
                                                        "checkForUpdates": False},
        # Opening the walkthrough starts a kernel, which changes the notebook's metadata; saved
        # by itself two minutes later, it would leave the clone with unsaved changes, and the
        # participant's next run would refuse to start. A participant saves by choice.
        "@jupyterlab/docmanager-extension:plugin": {"autosave": False}},
        indent=2) + "\n")


def without_priority(argv: list[str]) -> list[str]:
    """A command without the priority prefix this or an earlier setup gave it."""
    while argv[:2] in (["nice", "-n"], ["chrt", "--idle"]):
        argv = argv[3:]
    return argv


def write_new(path: Path, text: str) -> None:
    """A file of the environment's own: never written through a hard link into another venv."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    path.write_text(text)
