"""The participant's JupyterLab workspace: found where JupyterLab looks, and never overwritten."""
import json

from pipeline.workshop import workspace
from pipeline.workshop.layout import WALKTHROUGH


def loaded_by_jupyterlab(home, monkeypatch) -> dict:
    """The default workspace as the participant's JupyterLab server hands it to the page."""
    from jupyterlab.commands import get_workspaces_dir
    from jupyterlab_server.workspaces_handler import WorkspacesManager

    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("JUPYTER_CONFIG_DIR", raising=False)
    monkeypatch.delenv("JUPYTERLAB_WORKSPACES_DIR", raising=False)
    return WorkspacesManager(get_workspaces_dir()).load(workspace.NAME)


def test_jupyterlab_loads_the_seeded_workspace_with_the_walkthrough_open(tmp_path, monkeypatch):
    assert loaded_by_jupyterlab(tmp_path, monkeypatch)["data"] == {}  # none yet
    assert workspace.seed(tmp_path, 4321, 4322)
    data = loaded_by_jupyterlab(tmp_path, monkeypatch)["data"]
    widget = f"notebook:{WALKTHROUGH}"
    assert data["layout-restorer:data"]["main"]["current"] == widget
    assert data[widget]["data"]["path"] == WALKTHROUGH
    seeded = tmp_path / workspace.IN_HOME
    owned = [tmp_path / ".jupyter", tmp_path / ".jupyter" / "lab", seeded.parent, seeded]
    assert [(p.stat().st_uid, p.stat().st_gid) for p in owned] == [(4321, 4322)] * 4


def test_a_participants_own_workspace_is_left_alone(tmp_path):
    assert workspace.seed(tmp_path, 4321, 4322)
    seeded = tmp_path / workspace.IN_HOME
    theirs = {"data": {"layout-restorer:data": {"main": {}}}, "metadata": {"id": "default"}}
    seeded.write_text(json.dumps(theirs))
    assert not workspace.seed(tmp_path, 4321, 4322)
    assert json.loads(seeded.read_text()) == theirs
