"""The workshop's JupyterHub configuration (``jupyterhub -f`` this file; ``c`` is JupyterHub's).

It reads what setup wrote into ``$IMAGECLF_WORKSHOP_SETTINGS`` (hub/settings.json): the address,
the ports, the accounts and their clones. Participants log in with PAM (JupyterHub's default
authenticator) against their Unix accounts; each one's JupyterLab runs as that account
(LocalProcessSpawner, the hub runs as root), in their clone, with their clone's ``.venv`` first
on PATH, opening the walkthrough. The instructor's account is the hub's admin and has no
server of its own: it lands on the status page, a service of this hub.
"""
import json
import os
import pwd
from pathlib import Path

settings = json.loads(Path(os.environ["IMAGECLF_WORKSHOP_SETTINGS"]).read_text())
hub_dir = Path(os.environ["IMAGECLF_WORKSHOP_SETTINGS"]).parent
ports = settings["ports"]
participants = settings["participants"]  # account -> clone
instructor = settings["instructor"]
c = get_config()  # noqa: F821 (JupyterHub's config loader provides it)

c.JupyterHub.bind_url = f"http://{settings['bind']}:{ports['public']}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{ports['hub']}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{ports['proxy_api']}"
c.ConfigurableHTTPProxy.command = [settings["proxy"]]
c.ConfigurableHTTPProxy.pid_file = str(hub_dir / "proxy.pid")
c.JupyterHub.pid_file = str(hub_dir / "jupyterhub.pid")
c.JupyterHub.db_url = f"sqlite:///{hub_dir / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(hub_dir / "jupyterhub_cookie_secret")
c.JupyterHub.cleanup_servers = True  # the hub's stop ends every participant's server
c.JupyterHub.cleanup_proxy = True

c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = set(participants)
c.Authenticator.admin_users = {instructor} if instructor else set()
c.PAMAuthenticator.open_sessions = False  # no systemd-logind on a plain server

c.JupyterHub.spawner_class = "localprocess"
# The walkthrough opens from the workspace setup gives each participant (workspace.py); a
# /lab/tree/... URL would re-open it after the restore, over a terminal opened meanwhile.
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120  # a room starting at once on a small server
c.Spawner.http_timeout = 90


def prepare_participant(spawner):
    """Each participant's JupyterLab: their clone, their .venv, their runtime folder (rootless
    podman keeps its state there)."""
    name = spawner.user.name
    if name not in participants:
        raise ValueError(f"{name} has no JupyterLab in this workshop: the instructor's page is "
                         "/services/workshop-status/")
    entry = pwd.getpwnam(name)
    clone = participants[name]
    runtime = Path(f"/run/user/{entry.pw_uid}")
    runtime.mkdir(parents=True, exist_ok=True)
    os.chown(runtime, entry.pw_uid, entry.pw_gid)
    runtime.chmod(0o700)
    spawner.cmd = [f"{clone}/.venv/bin/jupyterhub-singleuser"]
    spawner.notebook_dir = clone
    spawner.environment = {**spawner.environment,  # a copy: the configured dict is shared
        "PATH": f"{clone}/.venv/bin:/usr/local/bin:/usr/bin:/bin",
        "VIRTUAL_ENV": f"{clone}/.venv",
        "XDG_RUNTIME_DIR": str(runtime),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",  # the shared environment is read-only
    }


c.Spawner.pre_spawn_hook = prepare_participant


def landing(handler):
    user = handler.current_user
    if user and user.name == instructor:
        return "/services/workshop-status/"
    return "/hub/spawn"


c.JupyterHub.default_url = landing

c.JupyterHub.services = [{
    "name": "workshop-status",
    "url": f"http://127.0.0.1:{ports['status']}",
    "command": [f"{settings['env']}/bin/python", "-m", "pipeline.workshop.page"],
    "environment": {"PYTHONPATH": settings["code"],
                    "IMAGECLF_WORKSHOP_SETTINGS": os.environ["IMAGECLF_WORKSHOP_SETTINGS"]},
    "oauth_no_confirm": True,
    "display": True,
}]
# Only the instructor opens the page (participants would see each other's progress).
c.JupyterHub.load_roles = [{"name": "workshop-instructor",
                            "users": [instructor] if instructor else [],
                            "scopes": ["access:services!service=workshop-status"]}]
