"""`python -m pipeline tutorial`: the handbook's story in a clone, resumable and idempotent."""
import json
import os
import signal
import subprocess
import sys
import time

import nbformat

from helpers import git, sh, tool_env
from run_records import run_commits, run_record


def refs(clone):
    return git(clone, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads",
               "refs/tags")


def test_story_continues_where_it_stopped_then_changes_nothing(story_clone):
    clone, printed = story_clone  # an interrupted tutorial (prepare only), then resumed
    assert "Step 1/" not in printed and "=== Step 2/8: tag ready4analysis" in printed
    # The handbook's commands, as its readers know them.
    for command in ("$ git tag ready4analysis",
                    "$ datalad save -m 'Increase the amount of iterations to 100' "
                    "--version-tag SGD-100 params/train.yaml",
                    "$ datalad rerun -m 'Recompute classification with more iterations "
                    "(max_iter=100)' ready4analysis..SGD-100",
                    "$ datalad save -m 'Switch to random forest classification' "
                    "--version-tag random-forest params/train.yaml",
                    "$ datalad rerun --branch=randomforest -m 'Recompute classification with "
                    "random forest classifier (classifier=random-forest)' ready4analysis..SGD-100",
                    "$ git --no-pager diff main randomforest -- accuracy.json"):
        assert command in printed

    tags = git(clone, "tag").split()
    assert {"ready4analysis", "SGD-100", "random-forest"} <= set(tags)
    assert git(clone, "branch", "--show-current") == "main"

    # The story reads in git log as in the handbook: three trainings and evaluations, one prepare.
    story = git(clone, "log", "--format=%s", "--reverse",
                "ready4analysis~1..randomforest").splitlines()
    more, forest = "Recompute classification with more iterations (max_iter=100)", \
        "Recompute classification with random forest classifier (classifier=random-forest)"
    assert [s.replace("[DATALAD RUNCMD] ", "") for s in story] == [
        "Prepare train and test tables for golf ball, parachute",
        "Train sgd classifier (max_iter=10, random_state=42)",
        "Evaluate model.joblib on data/test.csv",
        "Increase the amount of iterations to 100",
        more, more,
        "Switch to random forest classification",
        forest, forest,
    ]
    assert git(clone, "rev-parse", "main") == git(clone, "rev-parse", "random-forest^{commit}")
    # Reruns are recorded as containers-run records, and the three models differ.
    for commit in run_commits(clone, "ready4analysis..randomforest"):
        assert run_record(clone, commit)["cmd"].startswith("python3 code/container/adapter.py run")
    sgd10 = run_commits(clone, "ready4analysis..SGD-100")[0]
    models = {git(clone, "rev-parse", f"{ref}:model.joblib")
              for ref in (sgd10, "main", "randomforest")}
    assert len(models) == 3
    assert "classifier: random-forest" in git(clone, "show", "randomforest:params/train.yaml")
    # The table it ends with: each model where a reader finds it, its main knob, its accuracy.
    table = [line.split() for line in printed.splitlines()
             if line.startswith(("SGD-10 ", "SGD-100 ", "random forest "))]
    assert [row[:-1] for row in table] == [
        ["SGD-10", run_commits(clone, "ready4analysis..SGD-100")[-1][:8], "sgd", "max_iter=10"],
        ["SGD-100", "main", "sgd", "max_iter=100"],
        ["random", "forest", "randomforest", "random-forest", "n_estimators=100"]]

    before = refs(clone)
    again = sh([sys.executable, "-m", "pipeline", "tutorial"], clone).stdout
    assert "already holds the whole story" in again
    assert refs(clone) == before
    assert git(clone, "status", "--porcelain") == ""


def test_compare_and_verify_after_the_story(story_clone):
    """compare lists the story's three models; verify finds the reruns identical, or says not."""
    clone, _ = story_clone
    plot = clone.parent / "compare.png"
    shown = sh([sys.executable, "-m", "pipeline", "compare", "--format", "json",
                "--sort", "accuracy", "--plot", str(plot)], clone).stdout
    rows = json.loads(shown.split("wrote")[0])
    assert len(rows) == 3
    assert sorted((r["classifier"], r["max_iter"]) for r in rows) == [
        ("random-forest", 100), ("sgd", 10), ("sgd", 100)]
    assert [r["accuracy"] for r in rows] == sorted((r["accuracy"] for r in rows), reverse=True)
    by_model = {r["model"]: r for r in rows}
    assert by_model.keys() == {"SGD-10", "SGD-100", "random forest"}
    assert by_model["random forest"]["refs"] == "randomforest"
    assert by_model["SGD-100"]["refs"] == "main" and by_model["SGD-100"]["max_iter"] == 100
    assert all(r["container"] != "none" and r["data"] and r["sweep"] == ""
               and r["categories"] == "golf ball, parachute" for r in rows)
    assert plot.read_bytes()[:4] == b"\x89PNG"
    sgd = sh([sys.executable, "-m", "pipeline", "compare", "--where", "classifier=sgd",
              "--format", "csv"], clone).stdout
    assert len(sgd.strip().splitlines()) == 3  # header and the two SGD runs

    # The notebook that shows the same table.
    shown = clone.parent / "compare.ipynb"
    sh(["papermill", str(clone / "notebooks/compare.ipynb"), str(shown), "-k", "python3",
        "-p", "dataset", str(clone)], clone)
    tables = [o["data"]["text/plain"] for c in nbformat.read(shown, as_version=4).cells
              for o in c.get("outputs", []) if "text/plain" in o.get("data", {})]
    first_table = tables[0]
    assert first_table.count("golf ball, parachute") == 3 and "randomforest" in first_table
    assert "SGD-10 " in first_table and "random forest" in first_table

    head = git(clone, "rev-parse", "HEAD")
    verified = sh([sys.executable, "-m", "pipeline", "verify", "ready4analysis..main"], clone)
    assert "executed/train.ipynb" in verified.stdout and "DIFFERENT" not in verified.stdout
    assert "0 different" in verified.stdout
    assert git(clone, "rev-parse", "HEAD") == head
    assert git(clone, "branch", "--show-current") == "main"
    assert "verify-" not in git(clone, "branch")

    # A record whose command is not deterministic: verify reports it and fails.
    sh(["datalad", "run", "-m", "Unseeded noise", "--output", "noise.txt",
        "python3 -c \"import os; open('noise.txt', 'w').write(os.urandom(8).hex())\""], clone)
    noisy = sh([sys.executable, "-m", "pipeline", "verify", "HEAD"], clone, check=False)
    assert noisy.returncode == 4
    assert "DIFFERENT  noise.txt" in noisy.stdout and "1 different" in noisy.stdout
    assert git(clone, "status", "--porcelain") == ""


def test_ctrl_c_in_a_rerun_leaves_the_dataset_clean_and_the_story_continues(clone_with_data):
    """A new-user try found `make tutorial` stuck after a Ctrl-C in `datalad rerun`: the outputs
    it had unlocked stayed changed, and the next rerun refused the unclean dataset."""
    clone = clone_with_data
    tutorial = [sys.executable, "-m", "pipeline", "tutorial", "--container", "none"]
    process = subprocess.Popen(tutorial, cwd=clone, env=tool_env(clone), text=True,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, start_new_session=True)
    for line in process.stdout:
        if "=== Step 6/8" in line:
            break
    # A terminal's Ctrl-C once datalad has unlocked the model it recomputes (no git command
    # here: it would race datalad's for the index).
    deadline = time.monotonic() + 120
    while (clone / "model.joblib").is_symlink():
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGINT)
    output = process.communicate(timeout=120)[0]
    assert process.returncode == 130, output
    assert "The rerun of ready4analysis..SGD-100 was interrupted (SIGINT)" in output
    assert "`make tutorial` continues from step 6." in output
    assert git(clone, "status", "--porcelain") == ""
    model = clone / "model.joblib"
    assert model.is_symlink() and model.exists()  # locked again, its content in the annex

    resumed = sh(tutorial, clone).stdout
    assert "Step 5/" not in resumed and "=== Step 6/8: rerun ready4analysis..SGD-100" in resumed
    assert git(clone, "status", "--porcelain") == ""
    assert run_commits(clone, "SGD-100..main") and run_commits(clone, "random-forest..randomforest")
