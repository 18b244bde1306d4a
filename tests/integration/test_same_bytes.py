"""The same bytes on every machine (issue 14): a host set up as other processors (BLAS kernel,
thread counts, one core) recomputes identical model.joblib and accuracy.json, in the container
and in .venv; and `verify` of the story's records in a fresh `datalad clone` finds every output
identical, as a collaborator would."""
import sys

import pytest

from helpers import git, sh

# The BLAS-heavy code of params/best/train.yaml (patch whitening, k-means, RBF SVM), small enough
# for the small test archive.
CONFIGURATION = ["-p", "features", "patches+color+texture", "-p", "classifier", "svm",
                 "-p", "augment", "flip", "-p", "codebook_size", "32"]
# How the host would look on two other machines (these variables reach the .venv kernel unless
# the stable engine pins them; without the pins the second machine trains a different model).
FIRST = {"OPENBLAS_CORETYPE": "SkylakeX", "OMP_NUM_THREADS": "3", "OPENBLAS_NUM_THREADS": "3",
         "NPY_DISABLE_CPU_FEATURES": "X86_V4"}
OTHER = {"OPENBLAS_CORETYPE": "Sandybridge", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
ONE_CORE = ("taskset", "-c", "0")
RESULTS = ["model.joblib", "accuracy.json", "metrics.json", "executed/train.ipynb",
           "executed/evaluate.ipynb"]


def recorded(clone):
    return {path: git(clone, "rev-parse", f"HEAD:{path}") for path in RESULTS}


@pytest.mark.parametrize("container", ["software", "none"])
def test_other_processors_recompute_identical_bytes(container, request):
    clone = request.getfixturevalue("container_clone" if container == "software"
                                    else "clone_with_data")
    run = [sys.executable, "-m", "pipeline", "run", "--container", container]
    sh([*run, "prepare"], clone)
    prepared = git(clone, "rev-parse", "HEAD")
    sh([*run, "train", *CONFIGURATION], clone, **FIRST)
    sh([*run, "evaluate"], clone, **FIRST)
    before, head = recorded(clone), git(clone, "rev-parse", "HEAD")
    # The container sees none of the host's variables, only its cores.
    sh([*ONE_CORE, "datalad", "rerun", "--since", prepared], clone, **OTHER)
    assert git(clone, "rev-parse", "HEAD") == head, "another processor's rerun changed the results"
    assert recorded(clone) == before and git(clone, "status", "--porcelain") == ""


def test_verify_in_a_fresh_clone_finds_every_output_identical(story_clone, tmp_path):
    story, _ = story_clone
    fresh = tmp_path / "collaborator"
    sh(["datalad", "clone", str(story), str(fresh)], tmp_path)
    main = git(fresh, "branch", "--show-current")  # the story's main branch, as cloned
    verified = sh([sys.executable, "-m", "pipeline", "verify", f"ready4analysis..{main}",
                   f"{main}..origin/randomforest"], fresh)
    assert "DIFFERENT" not in verified.stdout
    assert "15 identical, 0 different" in verified.stdout  # 3 trains (2 outputs), 3 evaluations (3)
    assert git(fresh, "status", "--porcelain") == ""
