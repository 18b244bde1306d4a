"""The hub's supervisor: keeps JupyterHub running without systemd, as code/cluster/slurm.sh
keeps the test cluster's daemons (``python -m pipeline.workshop.supervise SETTINGS``).

It runs detached, in a session of its own, writes its pid to hub/supervisor.pid, starts
``jupyterhub`` and starts it again if it dies (a crash), at most RESTARTS times in WINDOW
seconds. SIGTERM (``workshop stop``) is passed to the hub, whose own shutdown stops the proxy and
every participant's server; then the supervisor exits. Standard library only.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

RESTARTS, WINDOW = 5, 600
STOP_GRACE = 60  # seconds the hub has to stop the servers and the proxy


def log(message: str) -> None:
    print(f"[supervisor {time.strftime('%Y-%m-%d %H:%M:%S')}] {message}", flush=True)


def main(settings_path: str) -> int:
    settings = Path(settings_path)
    hub_dir = settings.parent
    config = json.loads(settings.read_text())
    here = Path(__file__).resolve().parent
    command = [f"{config['env']}/bin/jupyterhub", "-f", str(here / "jupyterhub_config.py")]
    env = {**os.environ, "IMAGECLF_WORKSHOP_SETTINGS": str(settings),
           "PYTHONPATH": config["code"], "PATH": f"{config['env']}/bin:{os.environ['PATH']}"}
    stopping = {"now": False}
    hub: subprocess.Popen | None = None

    def stop(signum, frame):
        stopping["now"] = True
        if hub and hub.poll() is None:
            hub.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    (hub_dir / "supervisor.pid").write_text(f"{os.getpid()}\n")
    starts: list[float] = []
    try:
        while not stopping["now"]:
            starts = [t for t in starts if time.monotonic() - t < WINDOW] + [time.monotonic()]
            if len(starts) > RESTARTS:
                log(f"the hub died {RESTARTS} times in {WINDOW} s: giving up")
                return 1
            log("starting " + " ".join(command))
            hub = subprocess.Popen(command, cwd=hub_dir, env=env, stdin=subprocess.DEVNULL)
            while hub.poll() is None:
                try:
                    hub.wait(timeout=1)
                except subprocess.TimeoutExpired:
                    pass
            if not stopping["now"]:
                log(f"the hub exited ({hub.returncode}); starting it again in 2 s")
                time.sleep(2)
        return 0
    finally:
        if hub and hub.poll() is None:
            try:
                hub.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                hub.kill()
                hub.wait()
        log("stopped")
        (hub_dir / "supervisor.pid").unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
