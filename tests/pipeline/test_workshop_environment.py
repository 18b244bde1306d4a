"""The shared environment's Jupyter settings: read by Jupyter itself, not only written."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from pipeline.workshop.environment import LOW_PRIORITY as NICE
from pipeline.workshop.environment import jupyter_settings
from pipeline.workshop.layout import Layout


@pytest.fixture
def layout(tmp_path):
    kernel = tmp_path / "env" / "share" / "jupyter" / "kernels" / "python3" / "kernel.json"
    kernel.parent.mkdir(parents=True)
    kernel.write_text(json.dumps({"argv": ["python", "-m", "ipykernel_launcher", "-f",
                                           "{connection_file}"], "language": "python"}))
    return Layout(tmp_path)


def server_config(layout: Layout) -> dict:
    """The ServerApp settings jupyter_server loads from the environment's etc/jupyter, as a
    participant's server does (their .venv's etc/ is a link to it)."""
    env = {**os.environ, "JUPYTER_CONFIG_PATH": str(layout.env / "etc" / "jupyter"),
           "JUPYTER_CONFIG_DIR": str(layout.root / "no-user-config")}
    shown = subprocess.run([sys.executable, "-m", "jupyter_server", "--show-config-json"],
                           capture_output=True, text=True, check=True, env=env)
    return json.loads(shown.stdout).get("ServerApp", {})


def test_the_terminal_setting_reaches_jupyter_server(layout):
    # Where an earlier version put it, and jupyter_server never read it.
    old = layout.env / "etc" / "jupyter" / "jupyter_server_config.d" / "imageclf-workshop.json"
    old.parent.mkdir(parents=True)
    old.write_text("{}")
    jupyter_settings(layout)
    assert server_config(layout)["terminado_settings"]["shell_command"] == [
        *NICE, "/bin/bash", "--login"]
    assert not old.exists()


def test_kernel_niced_once_and_no_autosave_however_often_setup_runs(layout):
    kernel = layout.env / "share" / "jupyter" / "kernels" / "python3" / "kernel.json"
    spec = json.loads(kernel.read_text())
    spec["argv"] = ["nice", "-n", "10", *spec["argv"]]  # as an earlier setup left it
    kernel.write_text(json.dumps(spec))
    jupyter_settings(layout)
    jupyter_settings(layout)
    assert json.loads(kernel.read_text())["argv"] == [
        *NICE, "python", "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    overrides = layout.env / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    assert json.loads(overrides.read_text())[
        "@jupyterlab/docmanager-extension:plugin"] == {"autosave": False}


def test_settings_are_not_written_through_a_hard_link(layout, tmp_path):
    """The environment's files may be hard links into the instructor's .venv."""
    theirs = tmp_path / "instructors-venv-kernel.json"
    kernel = layout.env / "share" / "jupyter" / "kernels" / "python3" / "kernel.json"
    shutil.copy(kernel, theirs)
    kernel.unlink()
    os.link(theirs, kernel)
    before = theirs.read_text()
    jupyter_settings(layout)
    assert theirs.read_text() == before
    assert json.loads(kernel.read_text())["argv"][:len(NICE)] == NICE


def test_jupyterlab_checks_no_build_at_page_load(layout, monkeypatch):
    from jupyterlab_server.config import get_static_page_config

    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(layout.env / "etc" / "jupyter"))
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(layout.root / "no-user-config"))
    assert get_static_page_config(level="all").get("buildCheck", True) is True
    jupyter_settings(layout)
    page = get_static_page_config(level="all")
    assert page["buildCheck"] is False and page["buildAvailable"] is False
