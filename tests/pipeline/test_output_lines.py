"""What the terminal makes of other tools' lines, on lines as papermill, datalad, podman, pip and
debootstrap print them (copied from logs of real runs). Datalad's results: test_terminal.py."""
import pytest

from pipeline.output_lines import (DATALAD_INFO, MISSING_FIND_LINKS, NOISE, NOTEBOOK_SHOWS,
                                   PIP_INSTALLED, PROGRESS)

NOISY = [
    "Input Notebook:  notebooks/train.ipynb",
    "Output Notebook: executed/train.ipynb",
    "Executing notebook with kernel: python3",
    "[IPKernelApp] WARNING | Kernel is running over TCP without encryption. All communication "
    "(including code and outputs) is sent in plain text and is susceptible to eavesdropping.",
    "Ending Cell 6------------------------------------------",
    "Executing Cell 7---------------------------------------",
    "cell 11: 2.5 s",
    "[INFO] == Command start (output follows) ===== ",
    "[INFO] == Command exit (modification check follows) ===== ",
    "action summary:",
    "  get (notneeded: 3, ok: 2709)",
    "  add-archive-content (ok: 2)",
    "  [3 similar messages have been suppressed; disable with "
    "datalad.ui.suppress-similar-results=off]",
    "  [1 similar message has been suppressed; disable with "
    "datalad.ui.suppress-similar-results=off]",
    "Your branch is up to date with 'origin/main'.",
    "Getting image source signatures",
    "Copying config 5d1b0b2cb7 done",
    "Writing manifest to image destination",
    "COMMIT localhost/imageclf-software:latest",
    "--> 3f6c1e0a9b2d",
    "5d1b0b2cb7f3e4a1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5",
    "  Downloading numpy-2.4.6-cp311-cp311-manylinux_2_28_x86_64.whl (16.4 MB)",
    "Requirement already satisfied: pip in /opt/venv/lib/python3.11/site-packages (23.0.1)",
    "[notice] A new release of pip is available: 23.0.1 -> 25.3",
]
SHOWN = [
    "error: Stage train was interrupted (SIGTERM); nothing was saved and the dataset is back to "
    "its last commit (its earlier results are intact).",
    "get(impossible): data/raw/imagenette2-160/val (directory) [path not associated with any "
    "dataset]",
    "CommandError: 'papermill notebooks/train.ipynb executed/train.ipynb' failed with exitcode 1",
    "fatal: not a git repository (or any of the parent directories): .git",
    "On branch main",
    "nothing to commit, working tree clean",
    "Traceback (most recent call last):",
]


@pytest.mark.parametrize("line", NOISY)
def test_chatter_is_noise(line):
    assert NOISE.match(line)


@pytest.mark.parametrize("line", SHOWN)
def test_what_the_reader_needs_is_not_noise(line):
    assert not NOISE.match(line)


def test_datalad_info_without_its_banners_and_trailing_space():
    info = DATALAD_INFO.match("[INFO] Making sure inputs are available (this may take some time) ")
    assert info[1] == "Making sure inputs are available (this may take some time)"
    assert not DATALAD_INFO.match("[INFO] == Command start (output follows) ===== ")


@pytest.mark.parametrize("line, shown", [
    ("accuracy: 0.9167", True),
    ("24 training images, 12 test images", True),
    ("note: 3 images could not be read and were skipped", True),
    ("ERROR: ", True),
    ("Traceback (most recent call last):", True),
    ("UserWarning: the figure has no data", True),
    ("accuracy on the training images: 1.000", False),  # the test accuracy is what counts
    ("python: 3.11.7", False),
    ("scikit-learn: 1.9.1", False),
    ("container: none (host)", False),
    ("<Figure size 640x480 with 2 Axes>", False),
])
def test_notebook_output_shows_only_findings(line, shown):
    assert bool(NOTEBOOK_SHOWS.search(line)) is shown


def progress(line):
    """The (label, numbers) the terminal takes from a line: the first pattern that matches."""
    for pattern, label, _unit in PROGRESS:
        found = pattern.search(line)
        if found:
            return label, [int(n) for n in found.groups() if n and n.isdigit()]
    return None


@pytest.mark.parametrize("line, label, numbers", [
    ("loaded 120/2704 images", "decoding images", [120, 2704]),
    ("features of 2000/9469 images (mirrored)", "computing features", [2000, 9469]),
    ("STEP 3/8: ENV PYTHONDONTWRITEBYTECODE=1", "building the image", [3, 8]),
    ("Collecting numpy==2.4.6", "pip: collecting packages", []),
    ("Installing collected packages: joblib, numpy, pandas", "pip: installing packages", []),
    ("I: Retrieving libc6 2.36-9+deb12u4", "debootstrap: downloading packages", []),
    ("I: Extracting libc6...", "debootstrap: unpacking packages", []),
    ("I: Unpacking libc6:amd64...", "debootstrap: unpacking packages", []),
    ("I: Configuring libc6:amd64...", "debootstrap: configuring packages", []),
    ("Copying blob 7b1a6ab2e44d done", "copying image layers", []),
])
def test_progress_lines(line, label, numbers):
    assert progress(line) == (label, numbers)


@pytest.mark.parametrize("line", ["accuracy: 0.9167", "save(ok): . (dataset)",
                                  "I: Base system installed successfully."])
def test_other_lines_are_no_progress(line):
    assert progress(line) is None


def test_pip_installed_names_every_package():
    line = "Successfully installed joblib-1.6.0 numpy-2.4.6 pandas-3.1.1"
    assert PIP_INSTALLED.match(line)[1].split() == ["joblib-1.6.0", "numpy-2.4.6",
                                                    "pandas-3.1.1"]


def test_missing_find_links_warning():
    assert MISSING_FIND_LINKS.match("WARNING: Location 'file:///opt/wheels/simple/pip/' is "
                                    "ignored: it is neither a file nor a directory.")
    assert not MISSING_FIND_LINKS.match("WARNING: Retrying (Retry(total=4)) after connection "
                                        "broken")
