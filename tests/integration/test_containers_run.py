"""Every stage inside the software container through datalad containers-run."""
import json
import os
import sys

import nbformat

from helpers import git, sh
from container.callformat import OUTPUTS_VARIABLE
from pipeline.image import CALL_FORMAT, IMAGE_DIR
from run_records import run_commits, run_record

ADAPTER = "python3 code/container/adapter.py run"
OLD_ADAPTER = "python3 code/pipeline/engine.py run"  # in records made before the adapter moved


def test_registration_is_portable(registered_dataset):
    config = git(registered_dataset, "config", "-f", ".datalad/config", "--get-regexp",
                 "datalad.containers.software")
    assert f"datalad.containers.software.image {IMAGE_DIR}" in config
    assert CALL_FORMAT == f"{ADAPTER} {{img}} --outputs {{{{outputs}}}} -- {{cmd}}"
    assert f"datalad.containers.software.cmdexec {CALL_FORMAT}" in config
    assert str(registered_dataset) not in config and "/usr/" not in config
    manifest = registered_dataset / IMAGE_DIR / "manifest.json"
    layers = json.loads(manifest.read_text())[0]["Layers"]
    annexed = [(registered_dataset / IMAGE_DIR / layer).is_symlink() for layer in layers]
    assert layers and all(annexed)


def test_registering_again_changes_nothing(registered_dataset):
    head = git(registered_dataset, "rev-parse", "HEAD")
    printed = sh([sys.executable, "-m", "pipeline", "container", "setup"],
                 registered_dataset).stdout
    assert "tracks an image of this recipe" in printed and "nothing to build" in printed
    assert git(registered_dataset, "rev-parse", "HEAD") == head


def test_stages_run_in_the_container_and_rerun_identically(container_clone):
    clone = container_clone
    start = git(clone, "rev-parse", "HEAD")
    printed = sh([sys.executable, "-m", "pipeline", "run"], clone).stdout  # all three stages
    assert "\naccuracy: " in printed

    commits = run_commits(clone, f"{start}..HEAD")
    assert len(commits) == 3
    for commit, stage in zip(commits, ["prepare", "train", "evaluate"]):
        record = run_record(clone, commit)
        assert record["cmd"].startswith(f"{ADAPTER} {IMAGE_DIR} --outputs {{outputs}} -- "
                                        f"papermill notebooks/{stage}.ipynb")
        assert IMAGE_DIR in record["extra_inputs"]
        assert f"executed/{stage}.ipynb" in record["outputs"]
        assert str(clone) not in json.dumps(record)  # portable: no absolute path of this machine

    # The notebook itself says where it ran.
    executed = nbformat.read(clone / "executed/evaluate.ipynb", as_version=4)
    environment = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    assert "container: software" in environment and "python: 3.11" in environment
    assert os.stat(clone / "executed/evaluate.ipynb").st_uid == os.getuid()  # written as the user

    # Identical results, executed notebooks included: the reruns commit nothing new.
    head = git(clone, "rev-parse", "HEAD")
    sh(["datalad", "rerun", "--since", start], clone)
    assert git(clone, "rev-parse", "HEAD") == head
    assert git(clone, "status", "--porcelain") == ""


def test_container_has_no_network_and_sees_only_the_dataset(container_clone):
    probe = ("import os, pathlib; print('interfaces', sorted(os.listdir('/sys/class/net'))); "
             "print('cwd', os.getcwd()); print('home', sorted(os.listdir('/home')))")
    result = sh(["datalad", "containers-run", "-n", "software", "--explicit",
                 f'python3 -c "{probe}"'], container_clone)
    assert "interfaces ['lo']" in result.stdout  # --network none: loopback only, no route out
    assert "cwd /dataset" in result.stdout
    assert "home ['runner']" in result.stdout  # nothing of the host's home is mounted
    assert git(container_clone, "status", "--porcelain") == ""


def test_a_dataset_registered_before_the_adapter_moved_keeps_rerunning(container_clone):
    """Datasets registered before the adapter moved to code/container/ hold records calling
    code/pipeline/engine.py (a forwarder now) and not passing their outputs; registering again
    switches the call format, and `verify` reruns the old records with their outputs."""
    clone = container_clone
    sh(["datalad", "containers-add", "software", "--update", "--image", IMAGE_DIR,
        "--call-fmt", f"{OLD_ADAPTER} {{img}} {{cmd}}"], clone)
    probe = "import os; open('where.txt', 'w').write(os.getcwd())"
    typed = ["datalad", "containers-run", "-n", "software", "-m", "A record of the old call format",
             "--output", "where.txt", f'python3 -c "{probe}"']
    if os.getuid() == 0:  # as root, this format lets the container write nothing by itself
        refused = sh(typed, clone, check=False)
        assert refused.returncode != 0 and "declared none" in refused.stdout + refused.stderr
        assert git(clone, "status", "--porcelain") == ""
    sh(typed, clone, **{OUTPUTS_VARIABLE: '["where.txt"]'})  # as python -m pipeline passes them
    old_record = git(clone, "rev-parse", "HEAD")
    assert run_record(clone, old_record)["cmd"].startswith(f"{OLD_ADAPTER} {IMAGE_DIR} python3")
    assert (clone / "where.txt").read_text() == "/dataset"  # it ran in the container

    # (That the image is not saved again when only the call format changed: test_image.py; here
    # the engine's image may have been rebuilt meanwhile.)
    sh([sys.executable, "-m", "pipeline", "container", "register"], clone)
    assert git(clone, "config", "-f", ".datalad/config", "datalad.containers.software.cmdexec") \
        == CALL_FORMAT

    head = git(clone, "rev-parse", "HEAD")
    verified = sh([sys.executable, "-m", "pipeline", "verify", old_record], clone)  # via engine.py
    assert "1 identical, 0 different" in verified.stdout
    assert git(clone, "rev-parse", "HEAD") == head
    assert (clone / "where.txt").read_text() == "/dataset"
    assert git(clone, "status", "--porcelain") == ""
