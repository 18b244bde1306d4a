"""The status table as a page in the hub: a JupyterHub service at /services/workshop-status/.

Started by the hub (jupyterhub_config.py), it signs users in through the hub (OAuth) and shows
the page only to whoever holds ``access:services!service=workshop-status``: the instructor,
not the participants. The rows are read again every REFRESH seconds in a thread, so a page
view never waits on git; the page reloads itself at the same pace. ``?format=json`` gives the
rows as ``workshop status --json`` does.
"""
from __future__ import annotations

import html
import json
import os
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import ioloop, web

from . import status
from .layout import Account, layout_from

REFRESH = 10
PAGE = """<!doctype html><html><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{refresh}"><title>Workshop: the room</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left}}td.failed{{color:#b00}}
</style></head><body><h1>The room</h1>
<p>{count} participants, read {age} s ago; this page reloads every {refresh} s.
<a href="{admin}">Hub admin</a> (servers: stop, start, open a participant's JupyterLab).</p>
<table id="room"><tr>{header}</tr>{rows}</table></body></html>"""


class Room:
    """The latest rows, read in the background."""

    def __init__(self, settings_path: Path):
        settings = json.loads(settings_path.read_text())
        self.layout = layout_from(settings["root"])
        self.entries: list[dict] = []
        self.read_at = 0.0
        self.lock = threading.Lock()

    def participants(self) -> list[Account]:
        state = self.layout.load()
        return state.participants if state else []

    def follow(self) -> None:
        while True:
            try:
                entries = status.rows(self.participants())
            except Exception as error:  # one unreadable clone must not stop the page
                entries = [{"account": "?", "problem": f"could not read the room: {error}"}]
            with self.lock:
                self.entries, self.read_at = entries, time.time()
            time.sleep(REFRESH)


def table_html(entries: list[dict]) -> str:
    body = []
    for entry in entries:
        if "steps" not in entry:
            body.append(f"<tr><td colspan=7>{html.escape(entry['problem'])}</td></tr>")
            continue
        cells = status.cells(entry)
        failed = entry["last_run"] and entry["last_run"]["exit"]
        body.append("<tr>" + "".join(
            f"<td{' class=failed' if failed and i in (2, 6) else ''}>{html.escape(c)}</td>"
            for i, c in enumerate(cells)) + "</tr>")
    return "".join(body)


class StatusHandler(HubOAuthenticated, web.RequestHandler):
    def initialize(self, room: Room):
        self.room = room

    @web.authenticated
    def get(self):
        with self.room.lock:
            entries, read_at = list(self.room.entries), self.room.read_at
        if self.get_argument("format", "") == "json":
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps(entries, indent=2))
            return
        self.finish(PAGE.format(
            refresh=REFRESH, count=len(entries), age=int(time.time() - read_at) if read_at else "-",
            admin=url_path_join(os.environ.get("JUPYTERHUB_BASE_URL", "/"), "hub/admin"),
            header="".join(f"<th>{html.escape(c)}</th>" for c in status.COLUMNS),
            rows=table_html(entries)))


def main() -> None:
    room = Room(Path(os.environ["IMAGECLF_WORKSHOP_SETTINGS"]))
    threading.Thread(target=room.follow, daemon=True).start()
    prefix = os.environ["JUPYTERHUB_SERVICE_PREFIX"]
    app = web.Application([
        (prefix, StatusHandler, {"room": room}),
        (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
    ], cookie_secret=os.urandom(32))
    address = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    app.listen(address.port, address.hostname)
    ioloop.IOLoop.current().start()


if __name__ == "__main__":
    main()
