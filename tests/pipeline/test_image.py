import pytest

from pipeline import image


def test_the_build_gets_the_system_ca_bundle_by_default(tmp_path, monkeypatch):
    for variable in ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
        monkeypatch.delenv(variable, raising=False)
    system = tmp_path / "ca-certificates.crt"
    system.write_text("CERT")
    assert image.ca_bundle([str(tmp_path / "missing.pem"), str(system)]) == str(system)
    assert image.ca_bundle([str(tmp_path / "missing.pem")]) is None
    named = tmp_path / "proxy.pem"
    named.write_text("CERT")
    monkeypatch.setenv("SSL_CERT_FILE", str(named))
    assert image.ca_bundle([str(system)]) == str(named)  # what the user names comes first


@pytest.fixture
def registration(tmp_path, monkeypatch):
    """register() with the engine's image and the dataset's registration as the test says; the
    commands it would run are collected instead."""
    ran = []
    monkeypatch.setattr(image.adapter, "engine_name", lambda: "podman")
    monkeypatch.setattr(image, "image_id_of", lambda engine, name: "sha256:built")
    monkeypatch.setattr(image.commands, "run", lambda args, **kwargs: ran.append(args))
    monkeypatch.setattr(image, "save_image", lambda *args: ran.append(["save_image"]))

    def register(registered_id, call_format):
        monkeypatch.setattr(image, "registered_id", lambda root: registered_id)
        monkeypatch.setattr(image, "registered_call_format", lambda root: call_format)
        image.register(tmp_path)
        return [" ".join(args[:2]) + (" --update" if "--update" in args else "") for args in ran]
    return register


def test_registering_the_same_image_and_call_format_does_nothing(registration):
    assert registration("sha256:built", image.CALL_FORMAT) == []


def test_a_dataset_with_the_old_call_format_gets_the_new_one_without_saving_the_image_again(
        registration):
    old = "python3 code/pipeline/engine.py run {img} {cmd}"
    assert registration("sha256:built", old) == ["datalad containers-add --update"]


def test_a_new_image_is_saved_then_registered(registration):
    assert registration("sha256:other", image.CALL_FORMAT) == [
        "save_image", "datalad save", "datalad containers-add --update"]
    assert image.CALL_FORMAT == "python3 code/container/adapter.py run {img} {cmd}"
