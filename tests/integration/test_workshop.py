"""A workshop for real (issue 24): `workshop setup` with three participants makes a JupyterHub
with its proxy, Unix accounts and their clones; Chromium (Debian's, driven by Playwright) logs in
through the hub's form as each participant, finds the walkthrough open in JupyterLab and runs a
stage from a Jupyter terminal, which `workshop status` then shows. Each participant is refused
what belongs to another, the shared stores and the hub's admin API. `stop` leaves nothing
running and `remove` deletes exactly what setup made.

Needs root (accounts), podman with uidmap and fuse-overlayfs, node and npm, and chromium.
"""
import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmark.logins import CHROMIUM_ARGS
from helpers import free_port, project, require, sh
from pipeline.workshop.environment import TERMINAL_NICENESS
from test_browser import ARTIFACTS

PREFIX = "wst-"
NAMES = ("ada", "bob", "cyd")
ACCOUNTS = [f"{PREFIX}{name}" for name in NAMES]


def four_free_ports() -> int:
    """A port whose three successors are free as well (the hub uses four in a row)."""
    for _ in range(50):
        base = free_port()
        if all(not in_use(base + offset) for offset in range(4)):
            return base
    pytest.fail("no four free ports in a row on 127.0.0.1")


def in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def workshop(*args: str, check: bool = True, **extra: str) -> subprocess.CompletedProcess:
    return sh([sys.executable, "-m", "pipeline", "workshop", *args], project(), check=check,
              **extra)


def as_participant(account: str, args: list[str]) -> subprocess.CompletedProcess:
    """A command as the participant would type it in a terminal of their JupyterLab."""
    entry = pwd.getpwnam(account)
    clone = f"{entry.pw_dir}/imageclf"
    env = {"HOME": entry.pw_dir, "USER": account, "LOGNAME": account, "LANG": "C.UTF-8",
           "PATH": f"{clone}/.venv/bin:/usr/bin:/bin",
           "XDG_RUNTIME_DIR": f"/run/user/{entry.pw_uid}"}
    return subprocess.run(["runuser", "-u", account, "--", "env", "-i",
                           *(f"{k}={v}" for k, v in env.items()), *args],
                          cwd="/", capture_output=True, text=True, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def room(small_archive):
    require(os.geteuid() == 0, "root (the workshop makes Unix accounts)")
    for tool in ("useradd", "runuser", "podman", "newuidmap", "fuse-overlayfs", "node", "npm",
                 "chromium"):
        require(bool(shutil.which(tool)), f"{tool} (.ci/run installs it)")
    folder = Path(f"/srv/imageclf-workshop-test-{os.getpid()}")
    fuse_mode = Path("/dev/fuse").stat().st_mode
    port = four_free_ports()
    options = ["--dir", str(folder)]
    started = time.perf_counter()
    try:
        made = workshop("setup", *options, "--participants", " ".join(NAMES), "--prefix",
                        PREFIX, "--port", str(port), IMAGENETTE_URL=small_archive.as_uri())
        setup_seconds = time.perf_counter() - started
        yield {"folder": folder, "options": options, "port": port, "printed": made.stdout,
               "fuse_mode": fuse_mode,
               "seconds": setup_seconds,
               "passwords": dict(re.findall(r"^  (wst-\w+)\s+(\S+)$", made.stdout, re.M))}
    finally:  # also after a failed setup: what it made before failing goes
        if folder.exists():
            workshop("remove", *options, check=False)


def test_setup_makes_accounts_clones_and_a_hub_and_again_changes_nothing(room):
    printed = room["printed"]
    assert set(room["passwords"]) == {*ACCOUNTS, f"{PREFIX}instructor"}, printed
    passwords = Path(room["folder"], "hub", "passwords.txt")
    assert passwords.stat().st_mode & 0o077 == 0 and passwords.stat().st_uid == 0
    for account in ACCOUNTS:
        ready = re.search(rf"^{account}: ready in ([\d.]+) s, (\d+) MB of its own", printed, re.M)
        assert ready, printed
        assert float(ready.group(1)) <= 60 and int(ready.group(2)) <= 250
        entry = pwd.getpwnam(account)
        clone = Path(entry.pw_dir, "imageclf")
        assert Path(entry.pw_dir).stat().st_mode & 0o077 == 0  # home: the participant's only
        assert clone.stat().st_uid == entry.pw_uid
        # The image's layers are the source clone's own files, linked, not copies.
        layer = next(p for p in (clone / ".datalad/environments/software/image").iterdir()
                     if p.is_symlink() and p.name != "manifest.json")
        assert layer.resolve().stat().st_nlink > 1 and layer.resolve().stat().st_uid == 0
    state = Path(room["folder"], "hub", "workshop.json").read_text()
    hub_pid = Path(room["folder"], "hub", "supervisor.pid").read_text()
    again = workshop("setup", *room["options"], "--participants", " ".join(NAMES), "--prefix",
                     PREFIX, "--port", str(room["port"]))
    assert "New accounts" not in again.stdout and "runs already" in again.stdout, again.stdout
    assert Path(room["folder"], "hub", "workshop.json").read_text() == state
    assert Path(room["folder"], "hub", "supervisor.pid").read_text() == hub_pid


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=shutil.which("chromium"),
                                              args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def log_in(browser, base: str, account: str, password: str):
    """A new browser session through the hub's form; ``context.requested`` lists its URLs."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.requested = []
    context.on("request", lambda request: context.requested.append(request.url))
    page = context.new_page()
    page.goto(f"{base}/hub/login")
    page.fill("#username_input", account)
    page.fill("#password_input", password)
    page.click("#login_submit")
    return context, page


def test_participants_log_in_open_the_walkthrough_and_run_a_stage(room, browser):
    base = f"http://127.0.0.1:{room['port']}"
    sessions = []
    for account in ACCOUNTS:
        context, page = log_in(browser, base, account, room["passwords"][account])
        tab = page.locator(".lm-TabBar-tab", has_text="walkthrough.ipynb")
        tab.first.wait_for(timeout=120_000)
        assert f"/user/{account}/lab" in page.url
        page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
        # A page load asks for no build check (environment.jupyter_settings).
        assert any("/api/contents/notebooks/walkthrough.ipynb" in url
                   for url in context.requested)
        assert not [url for url in context.requested if "/lab/api/build" in url]
        # Opening the walkthrough must not, two minutes later, save it and dirty the clone.
        settings = page.request.get(f"{base}/user/{account}/lab/api/settings/"
                                    "@jupyterlab/docmanager-extension:plugin").json()
        # the server applies overrides.json to the schema's defaults; user settings come on top
        effective = {name: spec.get("default")
                     for name, spec in settings["schema"]["properties"].items()}
        effective.update(settings.get("settings") or {})
        assert effective["autosave"] is False
        page.click(".lm-MenuBar-item:has-text('File')")
        page.hover(".lm-Menu-item:has-text('New')")
        page.click(".lm-Menu-item:has-text('Terminal')")
        terminal = page.locator(".jp-Terminal .xterm-screen")
        terminal.wait_for(timeout=60_000)
        terminal.click()
        page.keyboard.type("python -m pipeline run prepare\n")
        sessions.append((account, context, page))
    # The terminal draws on a canvas: what the stage did is read where the instructor reads it.
    deadline, rows = time.monotonic() + 600, {}
    while time.monotonic() < deadline:
        rows = {row["account"]: row for row in json.loads(
            workshop("status", *room["options"], "--json").stdout)}
        if all((rows[a]["last_run"] or {}).get("command") == "run prepare" for a in ACCOUNTS):
            break
        time.sleep(5)
    for account, context, page in sessions:
        page.screenshot(path=str(ARTIFACTS / f"workshop-{account}.png"))
        assert_pages_come_first(room, account)
        context.close()
    assert_a_later_login_keeps_the_layout(base, ACCOUNTS[0], room["passwords"][ACCOUNTS[0]],
                                          browser)
    for account in ACCOUNTS:
        row = rows[account]
        assert row["last_run"]["command"] == "run prepare" and row["last_run"]["exit"] == 0, row
        assert row["clone"] == f"{pwd.getpwnam(account).pw_dir}/imageclf"
        assert row["home"] == pwd.getpwnam(account).pw_dir
        clone = Path(row["clone"])
        assert (clone / "executed" / "prepare.ipynb").stat().st_uid == pwd.getpwnam(account).pw_uid
        clean = as_participant(account, ["git", "-C", str(clone), "status", "--porcelain"])
        assert clean.returncode == 0 and clean.stdout == "", clean
    table = workshop("status", *room["options"]).stdout
    assert all(re.search(rf"^{a}\s+0/4 -\s+ok \S+ \(run prepare\)", table, re.M)
               for a in ACCOUNTS), table


def assert_a_later_login_keeps_the_layout(base: str, account: str, password: str, browser):
    """Logging in again restores the participant's own layout (their terminal in front), and
    nothing brings the walkthrough back over it (the hub opens /lab; workshop/workspace.py)."""
    context, page = log_in(browser, base, account, password)
    page.locator(".lm-TabBar-tab", has_text="walkthrough.ipynb").first.wait_for(timeout=60_000)
    terminal = page.locator(".jp-Terminal .xterm-screen >> visible=true").first
    terminal.wait_for(timeout=60_000)
    time.sleep(2)  # past JupyterLab's 500 ms save timer, after which a /lab/tree/ URL re-opens
    current = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current").all_inner_texts()
    assert terminal.is_visible() and not any("walkthrough" in tab for tab in current), current
    context.close()


POLICIES = {0: "normal", 3: "batch", 5: "idle"}  # SCHED_OTHER, SCHED_BATCH, SCHED_IDLE


def processes(account: str) -> dict[str, tuple[int, str, str]]:
    """The participant's JupyterLab server, kernel and terminal: (niceness, scheduling
    policy, cpu cgroup)."""
    found = {}
    uid = pwd.getpwnam(account).pw_uid
    roles = {"jupyterhub-singleuser": "server", "ipykernel_launcher": "kernel",
             "bash\0--login": "terminal"}
    for entry in Path("/proc").iterdir():
        try:
            if not entry.name.isdigit() or entry.stat().st_uid != uid:
                continue
            command = (entry / "cmdline").read_bytes().decode(errors="replace")
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cgroups = (entry / "cgroup").read_text().splitlines()
        except OSError:
            continue
        group = next((line.split(":", 2)[2] for line in cgroups
                      if "cpu" in line.split(":")[1].split(",")), cgroups[-1].split(":", 2)[2])
        for marker, role in roles.items():
            if marker in command and not command.startswith(("nice", "chrt")):
                # stat's 19th field: the niceness; its 41st: the scheduling policy
                found[role] = (int(fields[16]), POLICIES.get(int(fields[38]), fields[38]), group)
    return found


def assert_pages_come_first(room, account: str) -> None:
    """The participant's computing (terminal, kernel) runs below their JupyterLab server, in the
    workshop's cpu cgroup where autogroups would otherwise void nice (workshop/cpu.py)."""
    from pipeline.workshop import cpu

    state = json.loads(Path(room["folder"], "hub", "workshop.json").read_text())
    found = processes(account)
    assert set(found) == {"server", "kernel", "terminal"}, found
    assert found["server"][:2] == (0, "normal"), found
    assert found["kernel"][:2] == found["terminal"][:2] == (TERMINAL_NICENESS, "idle"), found
    if cpu.needed():  # as on this CI machine: no systemd, autogroups on
        assert state["cpu_group"], state
        assert {group for *_, group in found.values()} == {
            "/" + Path(state["cpu_group"]).name}, (found, state["cpu_group"])
    else:
        assert state["cpu_group"] == ""


def test_the_instructor_sees_the_room_and_participants_do_not(room, browser):
    base = f"http://127.0.0.1:{room['port']}"
    instructor = f"{PREFIX}instructor"
    context, page = log_in(browser, base, instructor, room["passwords"][instructor])
    page.locator("#room").wait_for(timeout=60_000)
    assert "/services/workshop-status/" in page.url
    assert all(account in page.inner_text("#room") for account in ACCOUNTS)
    page.screenshot(path=str(ARTIFACTS / "workshop-status.png"), full_page=True)
    context.close()
    context, page = log_in(browser, base, ACCOUNTS[0], room["passwords"][ACCOUNTS[0]])
    page.locator(".lm-TabBar-tab").first.wait_for(timeout=120_000)
    refused = page.goto(f"{base}/services/workshop-status/")
    assert refused.status == 403
    context.close()


def refused(result: subprocess.CompletedProcess) -> bool:
    said = result.stdout + result.stderr
    return result.returncode != 0 and re.search(
        r"Permission denied|Read-only|not permitted|403|Forbidden|read only", said, re.I)


def test_a_participant_is_refused_what_is_not_theirs(room):
    me, other = ACCOUNTS[0], ACCOUNTS[1]
    other_home = pwd.getpwnam(other).pw_dir
    folder = room["folder"]
    attempts = {
        "read another's home": ["ls", other_home],
        "write another's clone": ["touch", f"{other_home}/imageclf/mine"],
        "see another's containers": ["podman", "--root",
                                     f"{other_home}/.local/share/containers/storage", "ps", "-a"],
        "write the shared environment": ["touch", f"{folder}/env/bin/mine"],
        "uninstall from the shared environment": [f"{folder}/env/bin/python", "-m", "pip",
                                                  "uninstall", "--yes", "six"],
        "write the input dataset": ["touch", f"{folder}/imagenette/mine"],
        "write the image store": ["touch", f"{folder}/images/mine"],
        "remove the shared image": ["podman", "rmi", "localhost/imageclf-software:latest"],
    }
    shown = {}
    for what, args in attempts.items():
        result = as_participant(me, args)
        shown[what] = (result.stdout + result.stderr).strip().splitlines()[-1:]
        assert refused(result), f"{what}: {result}"
    # Content linked from the shared stores: readable, but neither writable nor removable for
    # everyone (the participant may only unlink it from their own clone).
    clone = Path(pwd.getpwnam(me).pw_dir, "imageclf")
    image = next(p for p in (clone / ".datalad/environments/software/image").iterdir()
                 if p.is_symlink() and p.name != "manifest.json")
    result = as_participant(me, ["sh", "-c", f"echo x >> '{image.resolve()}'"])
    assert refused(result), result
    assert as_participant(me, ["head", "-c", "1", str(image)]).returncode == 0
    # The hub's admin API, with the participant's own token (their server's).
    api = (
        "import os, urllib.request, urllib.error\n"
        "for pid in os.listdir('/proc'):\n"
        "    try: env = open(f'/proc/{pid}/environ', 'rb').read().split(b'\\0')\n"
        "    except OSError: continue\n"
        "    token = [e[22:].decode() for e in env if e.startswith(b'JUPYTERHUB_API_TOKEN=')]\n"
        "    if token: break\n"
        f"for path in ['users', 'users/{other}', 'users/{other}/server']:\n"
        f"    req = urllib.request.Request('http://127.0.0.1:{room['port']}/hub/api/' + path,\n"
        "        headers={'Authorization': 'token ' + token[0]},\n"
        "        method='POST' if path.endswith('server') else 'GET')\n"
        "    try: print(path, urllib.request.urlopen(req).status)\n"
        "    except urllib.error.HTTPError as e: print(path, e.code)\n")
    result = as_participant(me, ["python3", "-c", api])
    codes = dict(line.split() for line in result.stdout.splitlines())
    assert codes and all(code in ("403", "404") for code in codes.values()), result
    print("refusals:", json.dumps(shown, indent=1), "admin API:", codes)


def test_stop_leaves_nothing_running_and_remove_deletes_what_setup_made(room):
    printed = workshop("stop", *room["options"]).stdout
    assert "Stopped" in printed
    uids = {pwd.getpwnam(a).pw_uid for a in ACCOUNTS}
    running = [p for p in Path("/proc").iterdir()
               if p.name.isdigit() and p.exists() and p.stat().st_uid in uids]
    assert running == []
    assert not any(in_use(room["port"] + offset) for offset in range(4))

    cpu_group = json.loads(Path(room["folder"], "hub", "workshop.json").read_text())["cpu_group"]
    workshop("remove", *room["options"])
    assert not cpu_group or not Path(cpu_group).exists()
    for account in [*ACCOUNTS, f"{PREFIX}instructor"]:
        with pytest.raises(KeyError):
            pwd.getpwnam(account)
        assert not Path("/home", account).exists()
        assert account not in Path("/etc/subuid").read_text()
    assert not room["folder"].exists()
    assert Path("/dev/fuse").stat().st_mode == room["fuse_mode"]  # as it was before setup
