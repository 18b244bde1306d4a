"""A participant's JupyterLab workspace, with the walkthrough already open in it.

JupyterLab opens a document named in the URL (``/lab/tree/...``) only after it has loaded the
workspace and saved it again, which waits on a 500 ms timer (apputils-extension's state
plugin); a document that the saved workspace holds opens while the rest of the page starts.
So setup gives each participant the workspace JupyterLab itself saves once the walkthrough is
open, and the hub sends them to plain ``/lab`` (jupyterhub_config.py): a URL naming the
walkthrough as well would bring it to the front again half a second later, over whatever the
participant opened meanwhile. Written only where the participant has no workspace yet: setup
run again leaves their layout alone.
"""
from __future__ import annotations

import json
from pathlib import Path

from jupyterlab_server.workspaces_handler import WORKSPACE_EXTENSION, slugify

from .home import write
from .layout import WALKTHROUGH

NAME = "default"  # the workspace /lab opens
# Where the participant's JupyterLab server keeps it, in their home (its default workspaces_dir).
IN_HOME = Path(".jupyter", "lab", "workspaces", slugify(NAME) + WORKSPACE_EXTENSION)


def walkthrough_open(notebook: str = WALKTHROUGH) -> dict:
    """The workspace as JupyterLab 4 saves it with ``notebook`` open, the file browser in its
    folder on the left (side panels it does not name keep their usual places)."""
    widget = f"notebook:{notebook}"
    return {
        "data": {
            "layout-restorer:data": {
                "main": {"dock": {"type": "tab-area", "currentIndex": 0, "widgets": [widget]},
                         "current": widget},
                "left": {"collapsed": False, "visible": True, "current": "filebrowser",
                         "widgets": ["filebrowser"]},
                "right": {"collapsed": True, "visible": True, "widgets": []},
                "down": {"size": 0, "collapsed": True, "widgets": []},
                "relativeSizes": [0.2, 0.8, 0],
                "top": {"simpleVisibility": True},
            },
            widget: {"data": {"path": notebook, "factory": "Notebook"}},
            "file-browser-filebrowser:cwd": {"path": str(Path(notebook).parent)},
        },
        "metadata": {"id": NAME},
    }


def seed(home: Path, uid: int, gid: int) -> bool:
    """The workspace with the walkthrough open, where the participant has none; their own
    (folders included). Whether it was written."""
    return write(home, str(IN_HOME), json.dumps(walkthrough_open(), indent=1) + "\n", uid, gid,
                 replace=False)
