"""`make docs`: the walkthrough executed for readers, docs/walkthrough.ipynb and .html.

Runs notebooks/walkthrough.ipynb with papermill (the stable engine: no timestamps) on scratch
datasets made from IMAGENETTE_URL (the offline stand-in), then writes the executed copy with
this machine's paths replaced by the ones a reader would have, so that the file does not
change with the folder it was made in.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlparse

import nbformat
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "notebooks" / "walkthrough.ipynb"
TARGET = ROOT / "docs" / "walkthrough.ipynb"
READER_WORK_DIR = "/tmp/imageclf-walkthrough"  # the notebook's default work_dir
READER_PROJECT = "~/imageclf-tutorial"


def readable(notebook, replacements: list[tuple[str, str]]):
    """One stream output per run of chunks (papermill stores each chunk it received, which
    splits lines and paths), then this machine's paths replaced by a reader's."""
    for cell in notebook.cells:
        merged = []
        for output in cell.get("outputs", []):
            previous = merged[-1] if merged else None
            if (previous and output.output_type == "stream" == previous.output_type
                    and output.name == previous.name):
                previous.text += output.text
            else:
                merged.append(output)
        if cell.cell_type == "code":
            cell.outputs = merged
    text = nbformat.writes(notebook)
    for machine, reader in replacements:
        text = text.replace(machine, reader)
    return nbformat.reads(text, as_version=4)


def main() -> None:
    url = os.environ.get("IMAGENETTE_URL", "")
    if not url.startswith("file://"):
        sys.exit("error: make docs runs offline: "
                 "IMAGENETTE_URL=file:///absolute/path/imagenette2-160.tgz make docs")
    scratch = Path(tempfile.mkdtemp(prefix="imageclf-docs-"))
    try:
        executed = scratch / "walkthrough.ipynb"
        subprocess.run([sys.executable, "-m", "papermill", str(SOURCE), str(executed),
                        "-k", "python3", "--engine", "stable",
                        "-p", "work_dir", str(scratch / "datasets"), "-p", "data_url", url,
                        "-p", "container", os.environ.get("CONTAINER", "software")],
                       cwd=ROOT, check=True)
        archive = Path(urlparse(url).path)
        notebook = readable(nbformat.read(executed, as_version=4), [
            (str(scratch / "datasets"), READER_WORK_DIR), (str(scratch), "/tmp"),
            (str(ROOT), READER_PROJECT), (str(archive.parent), "/data")])
        nbformat.write(notebook, TARGET)
        html, _ = HTMLExporter(template_name="lab").from_notebook_node(
            notebook, resources={"metadata": {"name": "Walkthrough"}})
        TARGET.with_suffix(".html").write_text(html)
        html_file = TARGET.with_suffix(".html")
        print(f"wrote {TARGET.relative_to(ROOT)} and {html_file.relative_to(ROOT)}")
    finally:
        # annexed files are read-only
        subprocess.run(["chmod", "-R", "u+w", str(scratch)], check=False)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
