import hashlib
import json
import os

import pytest

from pipeline import engine


def test_run_command_isolates_the_container(tmp_path, monkeypatch):
    (tmp_path / ".datalad").mkdir()
    (tmp_path / "sub").mkdir()
    args = engine.run_command("podman", "sha256:abc", ["papermill", "a", "b"], workdir=tmp_path / "sub")
    assert args[:2] == ["podman", "run"]
    assert args[args.index("--network") + 1] == "none"
    assert args[args.index("-v") + 1] == f"{tmp_path}:/dataset"  # the whole dataset, nothing else
    assert args[args.index("-w") + 1] == "/dataset/sub"
    assert args[args.index("-u") + 1] == f"{os.getuid()}:{os.getgid()}"
    assert args.count("-v") == 1
    assert args[-4:] == ["sha256:abc", "papermill", "a", "b"]


def test_image_id_is_the_digest_of_the_saved_config(tmp_path):
    config = b'{"architecture": "amd64"}'
    (tmp_path / "abc.json").write_bytes(config)
    (tmp_path / "manifest.json").write_text(json.dumps([{"Config": "abc.json", "Layers": []}]))
    assert engine.image_id(tmp_path) == "sha256:" + hashlib.sha256(config).hexdigest()


def test_missing_image_content_names_the_fix(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CONTAINER_ENGINE", "sh")  # any engine on PATH: the image check comes first
    assert engine.main(["run", str(tmp_path / "image"), "true"]) == 3
    assert "datalad get" in capsys.readouterr().err


def test_unknown_engine_is_reported(monkeypatch):
    monkeypatch.setenv("CONTAINER_ENGINE", "no-such-engine")
    with pytest.raises(engine.EngineError, match="not on PATH"):
        engine.engine_name()


def test_podman_gets_project_settings_only_when_runc_is_there(monkeypatch):
    monkeypatch.delenv("CONTAINERS_CONF", raising=False)
    monkeypatch.setattr(engine.shutil, "which", lambda name: "/usr/bin/runc")
    assert engine.engine_env("podman")["CONTAINERS_CONF"].endswith("code/container/containers.conf")
    assert "CONTAINERS_CONF" not in engine.engine_env("docker")
    monkeypatch.setattr(engine.shutil, "which", lambda name: None)
    assert "CONTAINERS_CONF" not in engine.engine_env("podman")
