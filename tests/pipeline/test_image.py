import json

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
    assert image.CALL_FORMAT == ("python3 code/container/adapter.py run {img} "
                                 "--outputs {{outputs}} -- {cmd}")


def test_a_dataset_with_the_format_without_outputs_gets_the_new_one(registration):
    old = "python3 code/container/adapter.py run {img} {cmd}"
    assert registration("sha256:built", old) == ["datalad containers-add --update"]


def test_the_build_context_holds_what_the_containerfile_copies(tmp_path, monkeypatch):
    from helpers import project
    bundle = tmp_path / "proxy.pem"
    bundle.write_text("CERT")
    monkeypatch.setenv("PIP_CERT", str(bundle))
    context = image.build_context(project(), tmp_path / "context")
    assert (context / "ca-bundle.pem").read_text() == "CERT"
    assert (context / "requirements.lock").read_bytes() == (
        project() / "code/container/requirements.lock").read_bytes()
    assert (context / "papermill_stable" / "pyproject.toml").exists()
    copied = {line.split()[1] for line in (project() / "code/container/Containerfile")
              .read_text().splitlines() if line.startswith("COPY ") and "--from" not in line}
    assert copied <= {path.name for path in context.iterdir()}  # every COPY finds its source


def test_docker_without_its_bridge_builds_on_the_host_network(monkeypatch):
    answers = {"docker": 1, "podman": 0}
    monkeypatch.setattr(image.adapter, "engine_call", lambda args, engine, **kwargs:
                        image.subprocess.CompletedProcess(args, answers[engine]))
    assert image.network_args("docker") == ["--network", "host"]
    answers["docker"] = 0
    assert image.network_args("docker") == [] and image.network_args("podman") == []


def test_the_recipe_digest_follows_what_the_image_is_built_from(tmp_path):
    from helpers import clone_repository
    clone = clone_repository(tmp_path / "ds")
    first = image.recipe_digest(clone)
    (clone / "code/papermill_stable/build").mkdir(exist_ok=True)
    (clone / "code/papermill_stable/build/junk.txt").write_text("not tracked")
    (clone / "README.md").write_text("not part of the image")
    assert image.recipe_digest(clone) == first
    with (clone / "code/container/requirements.lock").open("a") as lock:
        lock.write("extra==1.0\n")
    assert image.recipe_digest(clone) != first


def test_the_registered_recipe_is_read_from_the_saved_images_label(tmp_path):
    folder = tmp_path / image.IMAGE_DIR
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps([{"Config": "abc.json", "Layers": []}]))
    (folder / "abc.json").write_text(json.dumps(
        {"config": {"Labels": {image.RECIPE_LABEL: "d1g3st"}}}))
    assert image.registered_recipe(tmp_path) == "d1g3st"
    (folder / "abc.json").write_text(json.dumps({"config": {"Labels": None}}))
    assert image.registered_recipe(tmp_path) is None
    assert image.registered_recipe(tmp_path / "elsewhere") is None
