import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest

from container import adapter
from helpers import project
from pipeline import events
from pipeline.errors import EXIT_ADAPTER, EXIT_USAGE

# Any python3 runs the adapter: the system's where there is one, not only .venv's.
SYSTEM_PYTHON = shutil.which("python3", path="/usr/bin:/bin") or sys.executable


def dataset(tmp_path):
    """A dataset's git work tree (.datalad/config, notebooks/), an ignored .venv and file."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".datalad").mkdir()
    (tmp_path / ".datalad" / "config").write_text("")
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "sub").mkdir()
    (tmp_path / ".gitignore").write_text(".venv/\n*.log\n")
    (tmp_path / ".venv").mkdir()
    (tmp_path / "run.log").write_text("x")
    return tmp_path


def test_run_command_isolates_the_container(tmp_path, monkeypatch):
    root = dataset(tmp_path)
    monkeypatch.setattr(adapter.os, "getuid", lambda: 1000)
    args = adapter.run_command("podman", "sha256:abc", ["papermill", "a", "b"],
                               workdir=root / "sub", name="n1")
    assert args[:2] == ["podman", "run"]
    assert args[args.index("--network") + 1] == "none"
    assert {"--rm", "--init", "--cap-drop=all", "--security-opt=no-new-privileges"} <= set(args)
    assert args[args.index("--name") + 1] == "n1"
    assert f"{adapter.DATASET_LABEL}={root}" in args
    assert args[args.index("-w") + 1] == "/dataset/sub"
    volumes = [args[i + 1] for i, arg in enumerate(args) if arg == "-v"]
    assert volumes[0] == f"{root}:/dataset"  # the dataset, nothing else of the host...
    assert f"{root}/.git:/dataset/.git:ro" in volumes  # ...its machinery read-only...
    assert f"{root}/.datalad:/dataset/.datalad:ro" in volumes
    assert "/dev/null:/dataset/run.log:ro" in volumes  # ...and what git ignores hidden
    assert "type=tmpfs,destination=/dataset/.venv,notmpcopyup" in args
    assert args[args.index("-u") + 1].startswith("1000:")
    assert args[args.index("--userns") + 1] == "keep-id"  # rootless: the user's own ids
    assert args[-4:] == ["sha256:abc", "papermill", "a", "b"]


def test_the_pipelines_event_switch_alone_crosses_into_the_container(tmp_path, monkeypatch):
    root = dataset(tmp_path)
    monkeypatch.delenv(events.SWITCH, raising=False)
    assert "--env" not in adapter.run_command("podman", "sha256:abc", ["true"], workdir=root)
    monkeypatch.setenv(events.SWITCH, "1")
    args = adapter.run_command("podman", "sha256:abc", ["true"], workdir=root)
    assert [args[i + 1] for i, arg in enumerate(args) if arg == "--env"] == [events.SWITCH]


def test_root_runs_the_container_as_the_run_id(tmp_path, monkeypatch):
    root = dataset(tmp_path)
    monkeypatch.setattr(adapter.os, "getuid", lambda: 0)
    monkeypatch.setattr(adapter.sandbox, "id_mapping", lambda: (200000, 300000))
    podman = adapter.run_command("podman", "sha256:abc", ["true"], workdir=root)
    assert podman[podman.index("--uidmap") + 1] == "0:200000:65536"  # container root = run id
    assert podman[podman.index("--gidmap") + 1] == "0:300000:65536"
    assert "-u" not in podman and "--userns" not in podman
    docker = adapter.run_command("docker", "sha256:abc", ["true"], workdir=root,
                                 docker=adapter.daemon.Daemon(rootless=False))
    assert docker[docker.index("-u") + 1] == "200000:300000" and "--uidmap" not in docker
    assert "type=tmpfs,destination=/dataset/.venv" in docker  # no podman-only option
    rootless = adapter.run_command("docker", "sha256:abc", ["true"], workdir=root,
                                   docker=adapter.daemon.Daemon(rootless=True))
    assert "-u" not in rootless and "--uidmap" not in rootless  # its root is the user already


def test_a_user_of_a_rootful_docker_daemon_runs_as_themselves(tmp_path, monkeypatch):
    root = dataset(tmp_path)
    monkeypatch.setattr(adapter.os, "getuid", lambda: 1000)
    args = adapter.run_command("docker", "sha256:abc", ["true"], workdir=root,
                               docker=adapter.daemon.Daemon(rootless=False))
    assert args[args.index("-u") + 1].startswith("1000:") and "--userns" not in args


def test_adapter_id_tells_a_live_adapter_from_a_gone_one():
    assert adapter.adapter_alive(adapter.adapter_id())
    assert not adapter.adapter_alive(f"{os.getpid()}-1")  # same pid, other start time: reused
    assert not adapter.adapter_alive("")


def test_image_id_is_the_digest_of_the_saved_config(tmp_path):
    config = b'{"architecture": "amd64"}'
    (tmp_path / "abc.json").write_bytes(config)
    (tmp_path / "manifest.json").write_text(json.dumps([{"Config": "abc.json", "Layers": []}]))
    assert adapter.image_id(tmp_path) == "sha256:" + hashlib.sha256(config).hexdigest()


def test_missing_image_content_names_the_fix(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CONTAINER_ENGINE", "sh")  # any engine on PATH: the image check comes first
    assert adapter.main(["run", str(tmp_path / "image"), "true"]) == EXIT_ADAPTER
    assert "datalad get" in capsys.readouterr().err


@pytest.mark.parametrize("script", ["code/container/adapter.py", "code/pipeline/engine.py"])
def test_the_call_formats_old_and_new_reach_the_adapter(tmp_path, script):
    """code/pipeline/engine.py is what records made before the move name: it forwards."""
    called = [SYSTEM_PYTHON, str(project() / script)]
    usage = subprocess.run(called, capture_output=True, text=True, cwd=tmp_path)
    assert usage.returncode == EXIT_USAGE
    assert "usage: python3 code/container/adapter.py run IMAGE_DIR" in usage.stderr
    env = dict(os.environ, CONTAINER_ENGINE="sh")
    missing = subprocess.run([*called, "run", "image", "true"], capture_output=True, text=True,
                             cwd=tmp_path, env=env)
    assert missing.returncode == EXIT_ADAPTER and "`datalad get image`" in missing.stderr


def test_unknown_engine_is_reported(monkeypatch):
    monkeypatch.setenv("CONTAINER_ENGINE", "no-such-engine")
    with pytest.raises(adapter.EngineError, match="not on PATH"):
        adapter.engine_name()


def test_podman_gets_project_settings_only_when_runc_is_there(monkeypatch):
    monkeypatch.delenv("CONTAINERS_CONF", raising=False)
    monkeypatch.setattr(adapter.shutil, "which", lambda name: "/usr/bin/runc")
    settings = adapter.engine_env("podman")["CONTAINERS_CONF"]
    assert settings.endswith("code/container/containers.conf")
    assert "CONTAINERS_CONF" not in adapter.engine_env("docker")
    monkeypatch.setattr(adapter.shutil, "which", lambda name: None)
    assert "CONTAINERS_CONF" not in adapter.engine_env("podman")
