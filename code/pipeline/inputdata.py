"""The input data: a standalone DataLad dataset of the Imagenette archive, cloned into data/raw.

As in the handbook, the archive is registered with ``datalad download-url --archive`` in a
dataset of its own, and the analysis dataset installs that dataset as its subdataset data/raw
(``datalad clone -d .``). One input dataset can serve many analysis clones: point
``IMAGENETTE_DATASET`` at a shared folder (a workshop downloads once).
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import threading
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

from . import commands, lock
from .git import git

OFFICIAL_URL = "https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-160.tgz"
SUBDATASET = "data/raw"


def archive_url() -> str:
    """``$IMAGENETTE_URL``, or the official archive. A local file may be given as a plain path."""
    url = os.environ.get("IMAGENETTE_URL") or OFFICIAL_URL
    if "://" not in url:
        url = Path(url).expanduser().resolve().as_uri()
    return url


def input_dataset_location(analysis: Path) -> Path:
    """``$IMAGENETTE_DATASET``, or a sibling folder ``imagenette`` beside the analysis dataset."""
    configured = os.environ.get("IMAGENETTE_DATASET")
    if configured:
        return Path(configured).expanduser().resolve()
    return analysis.resolve().parent / "imagenette"


def download_failed_hint(url: str) -> str:
    return (
        f"Could not download {url}. Without internet access, fetch imagenette2-160.tgz on "
        "another machine, copy it here and point to it: "
        "`IMAGENETTE_URL=file:///absolute/path/imagenette2-160.tgz make data`. To share one "
        "download between several clones, set IMAGENETTE_DATASET to the same folder in each."
    )


@contextlib.contextmanager
def served_over_loopback(url: str):
    """Yield an http:// URL on 127.0.0.1 for a file:// URL; other URLs pass through.

    datalad's download-url knows http(s), ftp and s3 but not file://. Serving the local archive
    on the loopback interface lets it take exactly the path of the official download.
    """
    if not url.startswith("file:"):
        yield url
        return
    path = Path(unquote(urlparse(url).path))
    if not path.is_file():
        raise commands.CommandFailed(["datalad", "download-url", url], 1, download_failed_hint(url))
    handler = functools.partial(_QuietHandler, directory=str(path.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/{quote(path.name)}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # datalad shows its own progress
        pass


def replace_recorded_url(location: Path, served: str, original: str) -> None:
    """Record the file:// URL the user gave instead of the temporary loopback one."""
    if served == original:
        return
    listing = git(location, "annex", "whereis", "--all", "--json")
    for line in listing.splitlines():
        entry = json.loads(line)
        urls = [u for place in entry.get("whereis", []) for u in place.get("urls", [])]
        if served in urls:
            commands.run(["git", "annex", "registerurl", entry["key"], original], cwd=location,
                         quiet=True)
            commands.run(["git", "annex", "unregisterurl", entry["key"], served], cwd=location,
                         quiet=True)


def create_input_dataset(location: Path, url: str) -> None:
    """Create the standalone input dataset and register the archive's files in it.

    A failed download removes the half-made dataset again, so the next attempt starts clean.
    """
    commands.run(["datalad", "create", str(location)])
    try:
        with served_over_loopback(url) as fetch_url:
            if fetch_url != url:
                print(f"(serving {url} on the loopback interface: download-url has no file:// "
                      "support)")
            commands.run(
                ["datalad", "download-url", "--archive", "--message", "Download Imagenette dataset",
                 fetch_url],
                cwd=location, hint=download_failed_hint(url),
            )
        replace_recorded_url(location, fetch_url, url)
    except (commands.CommandFailed, KeyboardInterrupt):
        commands.remove_tree(location)
        raise


def is_shared_read_only(location: Path) -> bool:
    """An existing input dataset whose folder this user may not write (no lock file beside it)."""
    return (location / ".datalad").is_dir() and not os.access(location.parent, os.W_OK)


def is_installed(analysis: Path) -> bool:
    return (analysis / SUBDATASET / ".datalad").is_dir()


def install(analysis: Path) -> Path:
    """Make sure data/raw is installed; create the input dataset first when it does not exist."""
    analysis = analysis.resolve()
    if is_installed(analysis):
        print(f"{SUBDATASET} is installed already.")
        return analysis / SUBDATASET
    location = input_dataset_location(analysis)
    if is_shared_read_only(location):
        # A workshop's input dataset in a folder this user cannot write: nobody creates it
        # here, so there is nothing to take turns on; cloning only reads it.
        print(f"Using the input dataset that exists at {location}.")
    else:
        # Several clones may share one input dataset (IMAGENETTE_DATASET): one of them creates it.
        guard = location.with_name(f".{location.name}.lock")
        guard.parent.mkdir(parents=True, exist_ok=True)
        with lock.hold_file(guard, what=f"the input dataset {location}"):
            if not (location / ".datalad").is_dir():
                create_input_dataset(location, archive_url())
            else:
                print(f"Using the input dataset that exists at {location}.")
    beside = location.parent == analysis.parent
    source = os.path.relpath(location, analysis) if beside else str(location)
    commands.run(["datalad", "clone", "-d", ".", source, SUBDATASET], cwd=analysis)
    return analysis / SUBDATASET
