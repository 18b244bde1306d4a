"""What a reader sees, in headless Chromium (Debian's, driven by Playwright; no browser download):
an executed notebook in JupyterLab, and the HTML report. Screenshots go to tests/artifacts/."""
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from helpers import REPO, require, sh, tool_env

ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def jupyterlab(story_clone, tmp_path):
    """JupyterLab from the project's environment, on localhost with a token, serving the clone."""
    clone, _ = story_clone
    port, token = free_port(), secrets.token_hex(16)
    env = tool_env(clone, JUPYTER_CONFIG_DIR=str(tmp_path / "config"), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
                   JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"))
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={clone}",
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
        server.wait(timeout=30)


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
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    page.screenshot(path=str(ARTIFACTS / "jupyterlab-evaluate.png"))
    page.close()


def test_report_index_and_a_page_render_with_their_images(browser, story_clone, tmp_path):
    clone, _ = story_clone
    sh([sys.executable, "-m", "pipeline", "report", "--output", str(tmp_path / "report")], clone)
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    page.goto((tmp_path / "report" / "index.html").as_uri())
    rows = page.locator("table tr")
    assert rows.count() - 1 >= 7  # prepare, three trainings, three evaluations
    assert "randomforest" in page.inner_text("table")
    page.screenshot(path=str(ARTIFACTS / "report-index.png"))

    page.locator("a", has_text="evaluate.ipynb").first.click()
    page.wait_for_load_state()
    assert "Stage 3" in page.inner_text("body")
    images = page.locator("img")
    assert images.count() >= 2  # confusion matrix and misclassified examples
    widths = [images.nth(i).evaluate("img => img.naturalWidth") for i in range(images.count())]
    assert all(width > 0 for width in widths)
    page.screenshot(path=str(ARTIFACTS / "report-evaluate.png"), full_page=True)
    page.close()
