"""What a reader sees, in headless Chromium (Debian's, driven by Playwright; no browser download):
an executed notebook in JupyterLab, and the HTML report. Screenshots go to tests/artifacts/."""
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from benchmark.logins import CHROMIUM_ARGS
from helpers import REPO, free_port, require, sh, tool_env

ARTIFACTS = REPO / "tests" / "artifacts"


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium")
    require(chromium is not None, "Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def jupyterlab(story_clone, tmp_path):
    """JupyterLab from the project's environment, on localhost with a token, serving the clone."""
    clone, _ = story_clone
    port, token = free_port(), secrets.token_hex(16)
    env = tool_env(clone, JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
                   JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
                   JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"))
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={clone}",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start within a minute")
        yield base, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a loaded machine: do not fail a passed test on shutdown
            server.kill()
            server.wait()


def test_jupyterlab_shows_the_executed_evaluate_notebook(browser, jupyterlab):
    base, token = jupyterlab
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base}/lab/tree/executed/evaluate.ipynb?token={token}")
    # JupyterLab renders cells progressively: wait for the output that matters, not the first one.
    score = page.locator(".jp-OutputArea-output", has_text="accuracy:").first
    score.wait_for(timeout=90_000)
    assert "accuracy: 0." in score.inner_text()
    image = page.locator(".jp-OutputArea-output img").first
    image.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=image.element_handle())
    page.screenshot(path=str(ARTIFACTS / "jupyterlab-evaluate.png"))
    page.close()


CRAFTED = "executed/<svg onload=alert(2)>x'.ipynb"


def add_crafted_record(clone: Path) -> None:
    """A run record anyone could commit: an output name, a message, a tag and notebook outputs
    that would run script in a page that trusted them."""
    notebook = nbformat.read(clone / "executed/evaluate.ipynb", as_version=4)
    notebook.cells.append(nbformat.v4.new_markdown_cell(
        "<img src=x onerror=alert(3)><script>alert(4)</script>"))
    notebook.cells.append(nbformat.v4.new_code_cell("", outputs=[nbformat.v4.new_output(
        "display_data",
        data={"text/html": "<b onmouseover=alert(5)>bold</b><script>alert(6)</script>"})]))
    nbformat.write(notebook, clone / CRAFTED)
    record = {"cmd": "true", "exit": 0, "inputs": [], "outputs": [CRAFTED], "pwd": ".", "chain": [],
              "extra_inputs": [], "dsid": "crafted"}
    sh(["git", "checkout", "-q", "-b", "crafted"], clone)
    sh(["git", "add", CRAFTED], clone)
    sh(["git", "commit", "-q", "-m", "[DATALAD RUNCMD] <img src=y onerror=alert(7)>\n\n"
        f"=== Do not change lines below ===\n{json.dumps(record)}\n"
        "^^^ Do not change lines above ^^^"], clone)
    sh(["git", "tag", "<svg/onload=alert(8)>"], clone)
    sh(["git", "checkout", "-q", "main"], clone)


def test_report_names_runs_as_the_story_and_runs_no_script_from_the_history(browser, story_clone,
                                                                            tmp_path):
    story, _ = story_clone
    clone = tmp_path / "ds"
    # A clone of its own: the crafted record stays out of story_clone.
    sh(["git", "clone", "-q", str(story), str(clone)], tmp_path)
    sh(["git", "branch", "randomforest", "origin/randomforest"], clone)
    add_crafted_record(clone)
    sh([sys.executable, "-m", "pipeline", "report", "--output", str(tmp_path / "report")], clone)
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto((tmp_path / "report" / "index.html").as_uri())
    table = page.inner_text("table")
    names = page.locator("table tr td:first-child").all_inner_texts()
    assert {"ready4analysis", "SGD-10", "SGD-100", "random forest",
            "<svg/onload=alert(8)>"} <= set(names)
    assert "train_pixels" not in table and "max_iter=100" in table
    assert "<svg onload=alert(2)>x'" in table  # shown as text
    plot = page.locator("img").first
    assert plot.evaluate("img => img.complete && img.naturalWidth > 0")
    page.screenshot(path=str(ARTIFACTS / "report-index.png"), full_page=True)
    page.locator("a", has_text="<svg onload=alert(2)>x'.ipynb").click()
    page.wait_for_load_state()
    assert "bold" in page.inner_text("body")
    page.go_back()
    page.wait_for_load_state()
    assert dialogs == []
    assert page.evaluate("document.querySelectorAll('svg[onload], [onerror]').length") == 0

    page.locator("a", has_text="evaluate.ipynb").first.click()
    page.wait_for_load_state()
    assert "Stage 3" in page.inner_text("body")
    images = page.locator("img")
    assert images.count() >= 2  # confusion matrix and misclassified examples
    widths = [images.nth(i).evaluate("img => img.naturalWidth") for i in range(images.count())]
    assert all(width > 0 for width in widths)
    page.screenshot(path=str(ARTIFACTS / "report-evaluate.png"), full_page=True)
    page.close()
