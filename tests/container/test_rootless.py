import subprocess

import pytest

from container import rootless


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setattr(rootless.Path, "home", lambda: tmp_path)
    rootless.storage_conf.cache_clear()
    yield tmp_path
    rootless.storage_conf.cache_clear()


def driver(name):
    return lambda *args, **kwargs: subprocess.CompletedProcess(args, 0, f"{name}\n", "")


def test_vfs_storage_is_replaced_by_a_fuse_overlayfs_store_of_our_own(home, monkeypatch):
    monkeypatch.setattr(rootless.subprocess, "run", driver("vfs"))
    monkeypatch.setattr(rootless.shutil, "which", lambda name: f"/usr/bin/{name}")
    conf = rootless.storage_conf(None)
    assert conf == home / "config" / "imageclf" / "storage.conf"
    text = conf.read_text()
    assert 'driver = "overlay"' in text and 'mount_program = "/usr/bin/fuse-overlayfs"' in text
    assert f'rootless_storage_path = "{home}/.local/share/imageclf/containers/storage"' in text


def test_vfs_without_fuse_overlayfs_says_what_to_install(home, monkeypatch):
    monkeypatch.setattr(rootless.subprocess, "run", driver("vfs"))
    monkeypatch.setattr(rootless.shutil, "which", lambda name: None)
    with pytest.raises(rootless.RootlessError, match="apt-get install fuse-overlayfs"):
        rootless.storage_conf(None)


def test_a_working_or_chosen_storage_is_left_alone(home, monkeypatch):
    monkeypatch.setattr(rootless.subprocess, "run", driver("overlay"))
    assert rootless.storage_conf(None) is None
    rootless.storage_conf.cache_clear()
    (home / "config" / "containers").mkdir(parents=True)
    (home / "config" / "containers" / "storage.conf").write_text("")
    monkeypatch.setattr(rootless.subprocess, "run", driver("vfs"))
    assert rootless.storage_conf(None) is None  # the user's own choice wins
