"""Where a workshop keeps everything, and the record of what its setup created.

One folder (default /srv/imageclf-workshop, root's, readable by all) holds what is built once
and shared read-only: the Python environment, the proxy from npm, the podman image store, the
input dataset and the project's source clone. ``hub/`` (root only) holds the hub's
configuration, database, logs and pid files; ``workshop.json`` (root only) records each account
setup made, so that ``remove`` deletes exactly those and ``setup`` run again adds nothing.
Participants are Unix accounts named PREFIX+NAME (``ws-01``), each with a clone of the project in
``~/imageclf``.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import PipelineError

DEFAULT_ROOT = Path("/srv/imageclf-workshop")
DEFAULT_PREFIX = "ws-"
DEFAULT_PORT = 8000
DEFAULT_BIND = "127.0.0.1"
CLONE_NAME = "imageclf"
INSTRUCTOR = "instructor"  # the hub's admin account is PREFIX+instructor
# Pinned: the hub from PyPI (in the shared environment), its proxy from npm.
JUPYTERHUB = "jupyterhub==6.1.1"
PROXY = "configurable-http-proxy@5.3.0"
WALKTHROUGH = "notebooks/walkthrough.ipynb"


class WorkshopError(PipelineError):
    """Something the instructor can fix; nothing was created (or only what the message says)."""


@dataclass
class Account:
    """A Unix account setup created: a participant, or the instructor (no clone, no podman)."""

    name: str  # as the instructor gave it: "01", "alice"
    account: str  # the Unix account: ws-01
    uid: int
    home: str
    clone: str = ""  # the participant's clone of the project ('' for the instructor)
    subids: int = 0  # first subordinate uid and gid (a range of SUBID_COUNT)
    ready_seconds: float = 0.0  # what setup took to make it (account, clone, settings)


@dataclass
class State:
    prefix: str = DEFAULT_PREFIX
    bind: str = DEFAULT_BIND
    port: int = DEFAULT_PORT
    root_created: bool = False
    group_created: bool = False  # the participants' group (fuse.py)
    fuse: dict | None = None  # /dev/fuse's owner and mode before setup changed them
    cpu_group: str = ""  # the cpu cgroup the hub runs in (cpu.py), '' for none
    participants: list[Account] = field(default_factory=list)
    instructor: Account | None = None

    def accounts(self) -> list[Account]:
        return self.participants + ([self.instructor] if self.instructor else [])

    def participant(self, name: str) -> Account | None:
        return next((p for p in self.participants if name in (p.name, p.account)), None)


@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def env(self) -> Path:
        """The Python environment everyone uses: the kernel, datalad, ``python -m pipeline``."""
        return self.root / "env"

    @property
    def proxy_dir(self) -> Path:
        return self.root / "proxy"

    @property
    def proxy(self) -> Path:
        return self.proxy_dir / "node_modules" / ".bin" / "configurable-http-proxy"

    @property
    def images(self) -> Path:
        """A podman image store, root's, that each participant's rootless podman reads."""
        return self.root / "images"

    @property
    def source(self) -> Path:
        """The project with its data installed and its image registered: what participants clone."""
        return self.root / "project"

    @property
    def inputs(self) -> Path:
        """The input dataset (IMAGENETTE_DATASET of the source clone)."""
        return self.root / "imagenette"

    @property
    def hub(self) -> Path:
        return self.root / "hub"

    @property
    def state_file(self) -> Path:
        return self.hub / "workshop.json"

    @property
    def passwords(self) -> Path:
        return self.hub / "passwords.txt"

    @property
    def settings(self) -> Path:
        """What jupyterhub_config.py and the status page read (written by setup)."""
        return self.hub / "settings.json"

    def python(self) -> Path:
        return self.env / "bin" / "python"

    def load(self) -> State | None:
        if not self.state_file.exists():
            return None
        raw = json.loads(self.state_file.read_text())
        raw["participants"] = [Account(**p) for p in raw.get("participants", [])]
        raw["instructor"] = Account(**raw["instructor"]) if raw.get("instructor") else None
        return State(**raw)

    def save(self, state: State) -> None:
        self.hub.mkdir(parents=True, exist_ok=True)
        self.hub.chmod(0o700)
        scratch = self.state_file.with_suffix(".new")
        scratch.write_text(json.dumps(asdict(state), indent=2) + "\n")
        scratch.chmod(0o600)
        os.replace(scratch, self.state_file)


def layout_from(root: str | os.PathLike | None) -> Layout:
    chosen = root or os.environ.get("WORKSHOP_DIR") or DEFAULT_ROOT
    return Layout(Path(chosen).expanduser().resolve())


def ports(port: int) -> dict[str, int]:
    """The public port and the three local ones beside it: the proxy's API, the hub, the page."""
    return {"public": port, "proxy_api": port + 1, "hub": port + 2, "status": port + 3}
