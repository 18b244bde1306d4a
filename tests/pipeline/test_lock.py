"""One writer per dataset: the lock in .git, its holder's name, waiting, --no-wait, and the
descriptor handed to the commands we run."""
import os
import subprocess
import sys
import textwrap

import pytest

from helpers import tool_env
from pipeline import commands, lock

HOLDER = textwrap.dedent("""
    import pathlib, sys, time
    from pipeline import lock
    root = pathlib.Path(sys.argv[1])
    with lock.hold(root, command="python -m pipeline run train -p max_iter 10"):
        print("held", flush=True)
        while not (root / "go").exists():
            time.sleep(0.05)
""")
WAITER = textwrap.dedent("""
    import pathlib, sys
    from pipeline import lock
    with lock.hold(pathlib.Path(sys.argv[1]), command="second"):
        print("acquired", flush=True)
""")


@pytest.fixture
def root(tmp_path):
    (tmp_path / ".git").mkdir()
    return tmp_path


def start(script, root):
    return subprocess.Popen([sys.executable, "-c", script, str(root)], env=tool_env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_a_second_writer_is_refused_with_no_wait_naming_the_holder(root):
    holder = start(HOLDER, root)
    assert holder.stdout.readline() == "held\n"
    try:
        holder_named = rf"pid {holder.pid} \(`python -m pipeline run train -p max_iter 10`"
        with pytest.raises(lock.DatasetBusy, match=holder_named):
            with lock.hold(root, wait=False):
                pass
    finally:
        (root / "go").touch()
        holder.wait(timeout=30)
    with lock.hold(root, wait=False):  # free again once the holder ended
        assert f"\"pid\": {os.getpid()}" in lock.lock_path(root).read_text()


def test_a_second_writer_waits_with_one_line_then_writes(root):
    holder = start(HOLDER, root)
    assert holder.stdout.readline() == "held\n"
    waiter = start(WAITER, root)
    line = waiter.stderr.readline()
    assert line.startswith(f"Waiting for pid {holder.pid} (`python -m pipeline run train")
    (root / "go").touch()
    assert waiter.communicate(timeout=30)[0] == "acquired\n"
    assert holder.wait(timeout=30) == 0 and waiter.returncode == 0


def test_the_lock_is_reentrant_and_its_descriptor_reaches_the_commands_we_run(root):
    with lock.hold(root):
        with lock.hold(root):  # a stage run inside `pipeline` or `tutorial`
            assert len(lock.held_fds()) == 1
        datalad = root / "datalad"  # stands in for datalad: lists the descriptors it got
        datalad.write_text("#!/bin/sh\nls -l /proc/$$/fd\n")
        datalad.chmod(0o755)
        listing = commands.run([str(datalad)], quiet=True, stdout=subprocess.PIPE, text=True).stdout
        assert str(lock.lock_path(root)) in listing
        # Other tools get none: an engine's helpers may outlive us.
        listing = commands.run(["sh", "-c", "ls -l /proc/$$/fd"], quiet=True,
                               stdout=subprocess.PIPE, text=True).stdout
        assert str(lock.lock_path(root)) not in listing
    assert lock.held_fds() == ()


def test_the_lock_lives_in_the_git_directory_of_a_worktree(tmp_path):
    (tmp_path / "gitdir").mkdir()
    (tmp_path / "wt").mkdir()
    (tmp_path / "wt/.git").write_text(f"gitdir: {tmp_path / 'gitdir'}\n")
    assert lock.lock_path(tmp_path / "wt") == tmp_path / "gitdir" / lock.LOCK_NAME


def test_clones_sharing_an_input_dataset_take_turns_creating_it(root):
    guard = root / ".imagenette.lock"
    holder = start(HOLDER.replace("lock.hold(root,", "lock.hold_file(root / '.imagenette.lock',"),
                   root)
    assert holder.stdout.readline() == "held\n"
    try:
        with pytest.raises(lock.DatasetBusy, match="writing to the input dataset /x/imagenette"):
            with lock.hold_file(guard, wait=False, what="the input dataset /x/imagenette"):
                pass
    finally:
        (root / "go").touch()
        holder.wait(timeout=30)
