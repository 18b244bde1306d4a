"""A room at once (``python -m benchmark --only workshop``, as root): N participants of a real
workshop run the whole story, each as their own Unix account through rootless podman.

1. ``workshop setup`` with N participants (its own folder and account prefix): the shared stores
   once, then each participant's seconds to ready and disk of their own.
2. The N stories one after another (``make tutorial`` in each clone, as its participant): the
   baseline.
3. Each clone made anew, then the N stories at once: the room's throughput. In a room each
   participant's browser runs on their own machine, so no browser runs here.
4. Chromium logs in as each participant (logins.py): first (which starts their JupyterLab), once
   more each on the quiet machine, then, with every clone made anew, again and again while the N
   stories run at once a second time. The browser stands in for the participants' own machines:
   its cpu cgroup outweighs the room's (logins.own_machine).
5. Checks: every participant's accuracies, ``git annex fsck`` in every clone, no run waited for
   another's lock; each participant's disk with the story's outputs.

``BENCH_LOCK=FILE`` holds an flock on FILE around each timed part (a shared machine's quiet
rule); ``os.getloadavg`` is sampled beside every figure.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from pipeline import process
from pipeline.workshop import accounts, clones, cpu, environment, hub, room, status
from pipeline.workshop.layout import layout_from

from . import logins as browser
from .measure import BenchmarkError

PARTICIPANTS = 8
PREFIX = "wsb-"
# The story's accuracies on the offline stand-in archive (tests/expected/stand-in.json).
EXPECTED = {"SGD-10": 0.7237, "SGD-100": 0.7655, "random forest": 0.8162}
READY_MAX_S, DISK_MAX_MB = 30, 250
THROUGHPUT_MIN, LOGIN_P95_MAX_S = 1.5, 3.0


@contextlib.contextmanager
def quiet_machine():
    """Hold $BENCH_LOCK (if set) while a figure is timed."""
    path = os.environ.get("BENCH_LOCK")
    if not path:
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def load() -> float:
    return round(os.getloadavg()[0], 2)


def free_ports() -> int:
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if all(socket.socket().connect_ex(("127.0.0.1", base + i)) != 0 for i in range(4)):
            return base
    raise BenchmarkError("no four free ports in a row")


def pipeline(root: Path, *args: str, log: Path) -> None:
    with log.open("a") as out:
        out.write(f"\n$ python -m pipeline {' '.join(args)}\n")
        out.flush()
        done = subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=root,
                              env=process.tool_env(), stdout=out, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL)
    if done.returncode:
        raise BenchmarkError(f"python -m pipeline {' '.join(args)} failed; see {log}")


def story(person, cpu_group: str, log: Path) -> subprocess.Popen:
    """`make tutorial` in the participant's clone, as the participant types it in a JupyterLab
    terminal: in the cpu cgroup the hub and everything it starts run in (workshop/cpu.py), at
    the priority environment.jupyter_settings gives terminals."""
    out = log.open("w")
    typed = [*environment.LOW_PRIORITY, "make", "tutorial"]
    return subprocess.Popen(accounts.as_account(person.account, typed, person.clone),
                            cwd=person.clone, preexec_fn=hub.entering(cpu_group), stdout=out,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def finished(child: subprocess.Popen, log: Path) -> None:
    if child.wait():
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
        raise BenchmarkError(f"a story failed ({log}):\n{tail}")


def check_clone(account: str, clone: str, log: Path) -> dict:
    fsck = {}
    for where in (clone, f"{clone}/data/raw"):
        done = subprocess.run(accounts.as_account(account, ["git", "annex", "fsck", "--quiet"],
                                                  clone), cwd=where, capture_output=True,
                              text=True, stdin=subprocess.DEVNULL)
        fsck[where] = done.returncode == 0 and "failed" not in done.stdout + done.stderr
    waited = "Waiting for" in log.read_text(errors="replace")
    return {"fsck_clean": all(fsck.values()), "waited_for_lock": waited}


def remake(layout, people) -> list[float]:
    """Every participant's clone made anew (seconds each): each room starts from the start."""
    seconds = []
    for person in people:
        started = time.perf_counter()
        clones.make(layout, person.account)
        seconds.append(round(time.perf_counter() - started, 1))
    return seconds


def at_once(people, cpu_group: str, logs: Path, name: str) -> dict:
    """The participants' stories started together; seconds until the last one ends."""
    started, loads = time.perf_counter(), [load()]
    running = [(story(p, cpu_group, logs / f"{name}-{p.name}.log"), logs / f"{name}-{p.name}.log")
               for p in people]
    while any(child.poll() is None for child, _ in running):
        time.sleep(5)
        loads.append(load())
    seconds = time.perf_counter() - started
    for child, path in running:
        finished(child, path)
    return {"seconds": round(seconds, 1), "load_mean": round(statistics.mean(loads), 2),
            "load_max": max(loads)}


def measure(root: Path, log: Path, participants: int = PARTICIPANTS) -> dict:
    if os.geteuid() != 0:
        raise BenchmarkError("the workshop benchmark makes Unix accounts: run it as root")
    folder = Path(f"/srv/imageclf-workshop-bench-{os.getpid()}")
    layout = layout_from(folder)
    logs = log.parent / "workshop"
    logs.mkdir(exist_ok=True)
    port = free_ports()
    results: dict = {"participants": participants, "cores": os.cpu_count()}
    browser_group = ""
    try:
        with quiet_machine():
            started, before = time.perf_counter(), load()
            pipeline(root, "workshop", "setup", "--dir", str(folder), "--prefix", PREFIX,
                     "--participants", str(participants), "--port", str(port), log=log)
            results["setup"] = {"seconds": round(time.perf_counter() - started, 1),
                                "load": [before, load()]}
        state = layout.load()
        people = state.participants
        results["setup"]["ready_s"] = [p.ready_seconds for p in people]
        passwords = dict(line.split("\t") for line in
                         layout.passwords.read_text().splitlines())

        sequential = []
        for person in people:
            with quiet_machine():
                started, before = time.perf_counter(), load()
                finished(story(person, state.cpu_group, logs / f"alone-{person.name}.log"),
                         logs / f"alone-{person.name}.log")
                sequential.append({"seconds": round(time.perf_counter() - started, 1),
                                   "load": [before, load()]})
        results["sequential"] = sequential

        results["clone_remade_s"] = remake(layout, people)
        with quiet_machine():
            results["room"] = at_once(people, state.cpu_group, logs, "room")
        results["throughput"] = round(sum(s["seconds"] for s in sequential)
                                      / results["room"]["seconds"], 2)

        browser_group = browser.own_machine(f"imageclf-bench-browser-{os.getpid()}")
        results["browser_own_cpu_group"] = bool(browser_group)
        logins = browser.Logins(f"http://127.0.0.1:{port}", {p.account: passwords[p.account]
                                                             for p in people}, browser_group)
        with quiet_machine():
            logins.thread.start()
            logins.quiet_done.wait()  # everyone's JupyterLab runs, as in a room that has begun
            remake(layout, people)
            logins.busy_from.set()
            results["room_with_browser"] = at_once(people, state.cpu_group, logs, "browser")
            logins.stop.set()
            logins.thread.join(timeout=300)
        results["first_logins_s"] = [t["total"] for t in logins.first]
        results["logins"] = {"idle": browser.summary(logins.idle),
                             "busy": browser.summary(logins.busy), "error": logins.error}

        entries = {e["account"]: e for e in status.rows(people)}
        results["participants_after"] = {
            p.account: {"accuracy": entries[p.account]["accuracy"],
                        "steps": entries[p.account]["steps"],
                        "own_mb": round(room.own_bytes(Path(p.home)) / 2**20),
                        **check_clone(p.account, p.clone, logs / f"browser-{p.name}.log")}
            for p in people}
        return results
    finally:
        (log.parent / "workshop.json").write_text(json.dumps(results, indent=2))
        subprocess.run([sys.executable, "-m", "pipeline", "workshop", "remove", "--dir",
                        str(folder)], cwd=root, env=process.tool_env(),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cpu.remove(browser_group)


def login_figure(logins: dict, key: str) -> str:
    """p95 while the room runs, beside the quiet machine's."""
    busy, idle = logins["busy"].get(key), logins["idle"].get(key)
    if not busy:
        return f"no logins ({logins['error'] or 'none made'})"
    quiet = f", quiet {idle['p95_s']} s" if idle else ""
    return f"p95 {busy['p95_s']} s of {logins['busy']['count']}{quiet}"


def rows(r: dict) -> list[tuple]:
    """(measure, handbook, ours, figure vs target, met) for the benchmark's table."""
    after = r["participants_after"].values()
    ready = r["setup"]["ready_s"]
    later = ready[1:] or ready
    own = [p["own_mb"] for p in after]
    exact = all(p["accuracy"] == EXPECTED for p in after)
    sequential = sum(s["seconds"] for s in r["sequential"])
    logins = r["logins"]
    busy = logins["busy"]
    return [
        (f"workshop: each participant after the first, ready (of {r['participants']})", "",
         f"max {max(later):.1f} s", f"target <= {READY_MAX_S} s", max(later) <= READY_MAX_S),
        ("workshop: a participant's disk with the story's outputs", "", f"max {max(own)} MB",
         f"target <= {DISK_MAX_MB} MB", max(own) <= DISK_MAX_MB),
        (f"workshop: {r['participants']} stories at once vs one after another", "",
         f"{sequential:.0f} s -> {r['room']['seconds']:.0f} s",
         f"{r['throughput']}x (target >= {THROUGHPUT_MIN}x)", r["throughput"] >= THROUGHPUT_MIN),
        ("workshop: login + JupyterLab page load (browser"
         + (" with a participant's own CPU share" if r.get("browser_own_cpu_group") else "")
         + ") while the room runs", "",
         login_figure(logins, "total"), f"target < {LOGIN_P95_MAX_S} s",
         bool(busy.get("total")) and busy["total"]["p95_s"] < LOGIN_P95_MAX_S),
        ("workshop: the hub's part of it (form sent -> JupyterLab's page received)", "",
         login_figure(logins, "server"), f"target < {LOGIN_P95_MAX_S} s",
         bool(busy.get("server")) and busy["server"]["p95_s"] < LOGIN_P95_MAX_S),
        ("workshop: every participant's accuracies are the story's", "",
         "exact" if exact else "differ", "0.7237 / 0.7655 / 0.8162 (stand-in archive)", exact),
        ("workshop: git annex fsck clean in every clone, no lock waits", "",
         f"{sum(p['fsck_clean'] for p in after)}/{len(own)} clean, "
         f"{sum(p['waited_for_lock'] for p in after)} waited", "",
         all(p["fsck_clean"] and not p["waited_for_lock"] for p in after)),
    ]
