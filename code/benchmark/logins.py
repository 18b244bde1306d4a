"""Logins through the hub, measured with the browser (Chromium, driven by Playwright): the
workshop benchmark's view of whether the hub stays usable while the room computes.

Each login is timed twice: ``total``, from opening the login form to the walkthrough's first
cell drawn in JupyterLab, and ``server``, from sending the form to JupyterLab's page arriving
(the hub's login, its redirects and the participant's server answering). The difference is the
browser starting JupyterLab: about 3.5 CPU seconds of Chromium per login, which in a room each
participant's own machine spends. Here the browser shares the room's cores, so it stands in for
those machines from a cpu cgroup of its own with a hundred times the room's claim
(``own_machine``): it takes what it needs, as on a laptop, and the room gets the rest. Without
that, the room's cores would slow the browser down, not the hub (an earlier run: p95 6.7 s, the
hub's part 0.67 s).
"""
from __future__ import annotations

import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

from pipeline.workshop import cpu

# Debian's chromium, headless, as root, on a machine whose only network is the loopback.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# One login every 8 s while the room works: enough for a p95 without the browser taking most
# of the room's CPU.
LOGIN_EVERY_S = 8
OWN_MACHINE_CLAIM = 100  # the browser's claim on the CPU, in times the room's


def own_machine(name: str) -> str:
    """A cpu cgroup for the browser that outweighs the room's; '' where none can be made."""
    try:
        return cpu.make(name, claim=OWN_MACHINE_CLAIM)
    except OSError:
        return ""


def chromium_in(group: str, folder: Path) -> str:
    """A command that starts Debian's chromium inside ``group`` (its helpers are born there)."""
    chromium = shutil.which("chromium")
    if not group:
        return chromium
    starter = folder / "chromium"
    starter.write_text(f"#!/bin/sh\necho $$ > {group}/cgroup.procs\nexec {chromium} \"$@\"\n")
    starter.chmod(0o755)
    return str(starter)


class Logins:
    """In a thread: each participant logs in once (which starts their JupyterLab: ``first``),
    once more each on the quiet machine (``idle``), then, from ``busy_from`` until ``stop``,
    again and again in turn (``busy``). Each participant keeps one browser profile, whose cache
    holds JupyterLab's files from their first login on as their own browser would; every login
    after the first starts without cookies (a session ended) and so passes the form again."""

    def __init__(self, base: str, passwords: dict[str, str], cpu_group: str = ""):
        self.base, self.passwords, self.cpu_group = base, passwords, cpu_group
        self.first: list[dict] = []
        self.idle: list[dict] = []
        self.busy: list[dict] = []
        self.quiet_done, self.busy_from, self.stop = (threading.Event(), threading.Event(),
                                                      threading.Event())
        self.error = ""
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        from playwright.sync_api import sync_playwright

        try:
            with sync_playwright() as playwright, tempfile.TemporaryDirectory() as folder:
                browser = playwright.chromium.launch(
                    executable_path=chromium_in(self.cpu_group, Path(folder)), args=CHROMIUM_ARGS)
                profiles = {account: browser.new_context() for account in self.passwords}
                self.first = [self.once(profiles[account], account, password)
                              for account, password in self.passwords.items()]
                self.idle = [self.paced(profiles[account], account, password)
                             for account, password in self.passwords.items()]
                self.quiet_done.set()
                self.busy_from.wait()
                while not self.stop.is_set():
                    for account, password in self.passwords.items():
                        if self.stop.is_set():
                            break
                        self.busy.append(self.paced(profiles[account], account, password))
                browser.close()
        except Exception as error:  # reported with the figures, not a crash of the benchmark
            self.error = f"{type(error).__name__}: {error}"
        finally:
            self.quiet_done.set()

    def paced(self, profile, account: str, password: str) -> dict:
        """A login every LOGIN_EVERY_S, its page open until the next is due, as a participant
        stays: JupyterLab saves their workspace then, which a page closed at its first cell
        never does."""
        next_due = time.perf_counter() + LOGIN_EVERY_S
        profile.clear_cookies()
        return self.once(profile, account, password, close_at=next_due)

    def once(self, profile, account: str, password: str, close_at: float | None = None) -> dict:
        """One login, timed; its page closed at ``close_at`` (perf_counter), a second after
        the notebook showed at the earliest."""
        page = profile.new_page()
        arrived: list[float] = []
        page.on("response", lambda response: arrived.append(time.perf_counter())
                if response.request.resource_type == "document" and "/lab" in response.url
                and response.status == 200 else None)
        started = time.perf_counter()
        page.goto(f"{self.base}/hub/login")
        page.fill("#username_input", account)
        page.fill("#password_input", password)
        sent = time.perf_counter()
        page.click("#login_submit")
        page.locator(".lm-TabBar-tab", has_text="walkthrough.ipynb").first.wait_for(
            timeout=120_000)
        page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=120_000)
        total = time.perf_counter() - started
        if close_at is not None:
            self.stop.wait(max(1.0, close_at - time.perf_counter()))
        page.close()
        return {"total": round(total, 2),
                "server": round(arrived[0] - sent, 2) if arrived else None}


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def summary(timed: list[dict]) -> dict:
    """Median, p95 and max of both figures."""
    figures = {"count": len(timed)}
    for key in ("total", "server"):
        values = [t[key] for t in timed if t[key] is not None]
        if values:
            figures[key] = {"median_s": round(statistics.median(values), 2),
                            "p95_s": round(p95(values), 2), "max_s": round(max(values), 2)}
    return figures
