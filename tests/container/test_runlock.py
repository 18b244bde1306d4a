"""The adapter's hold on the dataset's lock: taken when free (and kept until the datalad that
called it ends), found held by a caller, or waited for, naming the holder."""
import fcntl
import os
import subprocess
import sys
import textwrap
import time

import pytest

from container import runlock
from helpers import tool_env
from pipeline import lock

# What the adapter does around a run: hold the lock, say so, wait for "go", return.
ADAPTER = textwrap.dedent("""
    import pathlib, sys, time
    from container import runlock
    root = pathlib.Path(sys.argv[1])
    with runlock.held(root, ["adapter.py", "run"]):
        print("running", flush=True)
        while not (root / "go").exists():
            time.sleep(0.02)
""")


@pytest.fixture
def root(tmp_path):
    (tmp_path / ".git").mkdir()
    return tmp_path


def busy(root) -> bool:
    fd = os.open(lock.lock_path(root), os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def start(args, root, **kwargs):
    return subprocess.Popen(args, env=tool_env(), text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=root, **kwargs)


def test_a_free_lock_is_taken_and_names_the_run(root):
    run = start([sys.executable, "-c", ADAPTER, str(root)], root)
    assert run.stdout.readline() == "running\n"
    assert busy(root)
    assert f"pid {run.pid} (`python3 adapter.py run`" in lock.describe_holder(lock.lock_path(root))
    (root / "go").touch()
    run.wait(timeout=30)
    assert not busy(root)  # no datalad called it: released with the adapter


def test_under_a_caller_that_holds_the_lock_it_runs_at_once(root):
    """`python -m pipeline run` holds the lock; its datalad child (here: this test's child)
    starts the adapter, which must not wait for its own caller."""
    (root / "go").touch()
    with lock.hold(root, command="python -m pipeline run"):
        child = start([sys.executable, "-c", ADAPTER, str(root)], root, pass_fds=lock.held_fds())
        out, err = child.communicate(timeout=30)
    assert child.returncode == 0 and out == "running\n" and "Waiting" not in err


def test_anyone_else_holding_it_is_waited_for_and_named(root):
    holder = start([sys.executable, "-c", textwrap.dedent("""
        import pathlib, sys, time
        from pipeline import lock
        root = pathlib.Path(sys.argv[1])
        with lock.hold(root, command="python -m pipeline run train"):
            print("held", flush=True)
            while not (root / "release").exists():
                time.sleep(0.02)
    """), str(root)], root)
    assert holder.stdout.readline() == "held\n"
    (root / "go").touch()
    waiter = start([sys.executable, "-c", ADAPTER, str(root)], root)
    time.sleep(1.5)
    assert waiter.poll() is None  # still waiting
    (root / "release").touch()
    out, err = waiter.communicate(timeout=30)
    assert out == "running\n"
    assert f"Waiting for pid {holder.pid} (`python -m pipeline run train`" in err
    holder.wait(timeout=30)


def test_the_lock_is_kept_until_the_datalad_that_called_the_adapter_ends(root, tmp_path_factory):
    """datalad saves after the adapter returns: a keeper holds the lock until datalad exits."""
    bin_dir = tmp_path_factory.mktemp("bin")
    datalad = bin_dir / "datalad"  # stands in for datalad: runs the adapter, then "saves" a while
    datalad.write_text(f"#!{sys.executable}\n" + textwrap.dedent(f"""
        import subprocess, sys, time
        # Two commands, as `datalad rerun` of two records runs them: the second must not wait
        # for the keeper the first left for this very datalad.
        for _ in range(2):
            subprocess.run([sys.executable, "-c", {ADAPTER!r}, sys.argv[1]], check=True,
                           timeout=20)
        print("adapter done", flush=True)
        time.sleep(float(sys.argv[2]))
    """))
    datalad.chmod(0o755)
    (root / "go").touch()
    caller = start([str(datalad), str(root), "3"], root)
    assert caller.stdout.readline() == "running\n"
    assert caller.stdout.readline() == "running\n"
    assert caller.stdout.readline() == "adapter done\n"
    assert busy(root)  # the adapter has ended, its datalad goes on: still held
    holder = lock.describe_holder(lock.lock_path(root))
    assert f"pid {caller.pid} (`datalad {root} 3`" in holder
    caller.wait(timeout=30)
    deadline = time.monotonic() + 5
    while busy(root):
        assert time.monotonic() < deadline, "the keeper outlived datalad"
        time.sleep(0.05)


def test_ancestors_lead_up_from_the_parent():
    found = runlock.ancestors()
    assert found[0] == os.getppid() and os.getpid() not in found and 1 not in found


def test_a_commit_made_while_waiting_stops_the_run_before_it_starts(tmp_path):
    """datalad would refuse to record a run across another command's commit: the adapter says
    so and runs nothing."""
    root = tmp_path / "ds"
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    commit = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q",
              "--allow-empty", "-m"]
    subprocess.run([*commit, "first"], cwd=root, check=True)
    holder = start([sys.executable, "-c", textwrap.dedent("""
        import pathlib, sys, time
        from pipeline import lock
        root = pathlib.Path(sys.argv[1])
        with lock.hold(root, command="python -m pipeline run train"):
            print("held", flush=True)
            while not (root / "release").exists():
                time.sleep(0.02)
    """), str(root)], root)
    assert holder.stdout.readline() == "held\n"
    waiter = start([sys.executable, "-c", ADAPTER, str(root)], root)
    time.sleep(1.5)
    subprocess.run([*commit, "the holder's run"], cwd=root, check=True)
    (root / "release").touch()
    out, err = waiter.communicate(timeout=30)
    assert waiter.returncode != 0 and out == ""  # never ran
    assert "committed to the dataset" in err and "run the same command again" in err
    holder.wait(timeout=30)
