"""The workshop's cpu cgroup (pipeline/workshop/cpu.py): made only where autogroups would void
the terminals' nice, in the hierarchy the machine has, and removed again. Fake /proc and cgroup
trees stand in for the machine's; the real group is tested with the hub
(tests/integration/test_workshop.py)."""
from pathlib import Path

import pytest

from pipeline.workshop import cpu

HYBRID = "9:name=systemd:/\n4:memory:/x\n2:cpuacct:/\n1:cpu:/\n0::/\n"


def fake_proc(tmp_path: Path, cgroup: str, autogroup: str | None = "1") -> Path:
    proc = tmp_path / "proc"
    (proc / "self").mkdir(parents=True)
    (proc / "self" / "cgroup").write_text(cgroup)
    if autogroup is not None:
        (proc / "sys" / "kernel").mkdir(parents=True)
        (proc / "sys" / "kernel" / "sched_autogroup_enabled").write_text(autogroup + "\n")
    return proc


def v1_tree(tmp_path: Path) -> Path:
    cgroups = tmp_path / "cgroup"
    (cgroups / "cpu").mkdir(parents=True)
    (cgroups / "cpu" / "cgroup.procs").write_text("")
    return cgroups


def v2_tree(tmp_path: Path, enabled: str = "") -> Path:
    cgroups = tmp_path / "cgroup"
    cgroups.mkdir()
    (cgroups / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (cgroups / "cgroup.subtree_control").write_text(enabled)
    return cgroups


@pytest.mark.parametrize("cgroup, autogroup, needed", [
    (HYBRID, "1", True),                          # no systemd: all in the root, autogroups on
    (HYBRID, "0", False),                         # autogroups off: nice works as it is
    (HYBRID, None, False),                        # a kernel without autogroups
    ("1:cpu,cpuacct:/user.slice\n0::/\n", "1", False),  # a login session's cgroup (v1)
    ("0::/user.slice/user-0.slice/session-3.scope\n", "1", False),  # systemd, v2
    ("0::/\n", "1", True),                        # v2 without systemd
])
def test_a_group_is_needed_only_where_autogroups_weigh_sessions(tmp_path, cgroup, autogroup,
                                                                 needed):
    assert cpu.needed(fake_proc(tmp_path, cgroup, autogroup)) is needed


def test_v1_the_group_is_made_in_the_cpu_hierarchy_once_and_removed_when_empty(tmp_path):
    proc, cgroups = fake_proc(tmp_path, HYBRID), v1_tree(tmp_path)
    root = Path("/srv/imageclf-workshop")
    group = cpu.ensure(root, cgroups, proc)
    assert Path(group).parent == cgroups / "cpu" and Path(group).is_dir()
    assert Path(group).name.startswith("imageclf-workshop-")
    assert cpu.ensure(root, cgroups, proc) == group  # again (setup twice): the same group
    assert cpu.ensure(Path("/srv/other/imageclf-workshop"), cgroups, proc) != group
    cpu.remove(group)
    assert not Path(group).exists()


def test_v2_the_root_hands_cpu_down_before_the_group_is_made(tmp_path):
    proc, cgroups = fake_proc(tmp_path, "0::/\n"), v2_tree(tmp_path, enabled="memory\n")
    group = cpu.ensure(Path("/srv/imageclf-workshop"), cgroups, proc)
    assert Path(group).parent == cgroups
    assert (cgroups / "cgroup.subtree_control").read_text() == "+cpu"


def test_nothing_is_made_where_nice_works_or_cgroups_are_read_only(tmp_path, capsys):
    cgroups = v1_tree(tmp_path)
    systemd = fake_proc(tmp_path / "a", "1:cpu:/system.slice/x.service\n")
    assert cpu.ensure(Path("/srv/w"), cgroups, systemd) == ""
    assert list((cgroups / "cpu").iterdir()) == [cgroups / "cpu" / "cgroup.procs"]
    assert capsys.readouterr().out == ""
    no_cpu = tmp_path / "empty"
    no_cpu.mkdir()
    assert cpu.ensure(Path("/srv/w"), no_cpu, fake_proc(tmp_path / "b", HYBRID)) == ""
    assert "No cpu cgroup can be made here" in capsys.readouterr().out
    root = Path("/srv/w")  # a group that cannot be made (here: a file in its place)
    (cgroups / "cpu" / cpu.group_name(root)).write_text("")
    assert cpu.ensure(root, cgroups, fake_proc(tmp_path / "c", HYBRID)) == ""
    assert "Cannot make the cpu cgroup" in capsys.readouterr().out


def test_entering_writes_the_process_into_the_group(tmp_path):
    group = tmp_path / "group"
    group.mkdir()
    cpu.enter(str(group), pid=4242)
    assert (group / "cgroup.procs").read_text() == "4242\n"
    cpu.enter("", pid=4242)  # no group: nothing to join, nothing fails


def test_a_group_with_a_larger_claim_weighs_more_than_its_siblings(tmp_path):
    """v1 weighs by cpu.shares (default 1024), v2 by cpu.weight (default 100)."""
    group = cpu.make("first-claim", claim=100, cgroups=v1_tree(tmp_path / "v1"))
    assert (Path(group) / "cpu.shares").read_text() == "102400\n"
    (tmp_path / "v2").mkdir()
    cgroups = v2_tree(tmp_path / "v2")
    (cgroups / "first-claim").mkdir()
    (cgroups / "first-claim" / "cpu.weight").write_text("100\n")  # as the kernel makes it
    assert cpu.make("first-claim", claim=100, cgroups=cgroups) == str(cgroups / "first-claim")
    assert (cgroups / "first-claim" / "cpu.weight").read_text() == "10000\n"
    with pytest.raises(OSError):
        cpu.make("nowhere", cgroups=tmp_path / "no-cgroups")
