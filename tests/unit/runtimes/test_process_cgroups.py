"""ProcessRuntime's cgroup driver against fake cgroup trees (directories in tmp_path),
so both layouts are checked on any machine; the real kernel is exercised by the
integration tests on whichever layout the machine has."""

from __future__ import annotations

from pathlib import Path

import pytest

from orbit.runtimes._process_cgroups import (
    Cgroup,
    CgroupLayout,
    cpu_shares,
    cpu_weight,
    detect_layout,
    parse_flat_keyed,
    parse_mounts,
)

HYBRID_MOUNTS = """\
tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0
cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,relatime,cpu,cpuacct 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0
cgroup /sys/fs/cgroup/pids cgroup rw,relatime,pids 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
"""


def test_parse_mounts_finds_unified_and_v1_controllers() -> None:
    unified, v1 = parse_mounts(HYBRID_MOUNTS)
    assert unified == "/sys/fs/cgroup/unified"
    assert v1 == {
        "cpu": "/sys/fs/cgroup/cpu,cpuacct",
        "cpuacct": "/sys/fs/cgroup/cpu,cpuacct",
        "memory": "/sys/fs/cgroup/memory",
    }


def test_parse_mounts_ignores_other_filesystems() -> None:
    assert parse_mounts("proc /proc proc rw 0 0\nshort line\n") == (None, {})


def test_kubelet_cpu_conversions() -> None:
    assert cpu_shares(0) == 2
    assert cpu_shares(1) == 2
    assert cpu_shares(500) == 512
    assert cpu_shares(2000) == 2048
    assert cpu_shares(256_000) == 262_144  # Kubernetes' MaxShares
    assert cpu_shares(1_000_000) == 262_144  # a request beyond it is capped, not wrapped
    assert cpu_weight(2) == 1
    assert cpu_weight(1024) == 39
    assert cpu_weight(262144) == 10000


def test_parse_flat_keyed() -> None:
    text = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\nnot a pair\nname text\n"
    assert parse_flat_keyed(text) == {"oom_kill_disable": 0, "under_oom": 0, "oom_kill": 3}


def fake_v2(tmp_path: Path, controllers: str = "cpu io memory pids") -> Path:
    root = tmp_path / "unified"
    root.mkdir()
    (root / "cgroup.controllers").write_text(controllers + "\n")
    (root / "cgroup.subtree_control").write_text("")
    return root


def test_detect_v2_enables_controllers_for_orbit(tmp_path: Path) -> None:
    root = fake_v2(tmp_path)
    # a real kernel creates cgroup.subtree_control in a new cgroup; the fake does it here
    (root / "orbit").mkdir()
    (root / "orbit" / "cgroup.subtree_control").write_text("")
    layout = detect_layout(f"cgroup2 {root} cgroup2 rw 0 0\n")
    assert layout == CgroupLayout(version=2, mounts={"": str(root)})
    assert (root / "cgroup.subtree_control").read_text() == "+memory +cpu"
    assert (root / "orbit" / "cgroup.subtree_control").read_text() == "+memory +cpu"


def test_detect_v2_without_memory_controller_falls_back_to_v1(tmp_path: Path) -> None:
    unified = fake_v2(tmp_path, controllers="hugetlb")
    memory = tmp_path / "memory"
    memory.mkdir()
    text = f"cgroup2 {unified} cgroup2 rw 0 0\ncgroup {memory} cgroup rw,memory 0 0\n"
    layout = detect_layout(text)
    assert layout == CgroupLayout(version=1, mounts={"memory": str(memory)})
    assert (memory / "orbit").is_dir()


def test_detect_nothing_usable(tmp_path: Path) -> None:
    assert detect_layout("proc /proc proc rw 0 0\n") is None
    missing = tmp_path / "absent"
    assert detect_layout(f"cgroup {missing}/x cgroup rw,memory 0 0\n") is None


def v2_group(tmp_path: Path, **limits: int) -> tuple[Cgroup, Path]:
    mount = tmp_path / "v2"
    (mount / "orbit" / "c1").mkdir(parents=True)
    for name in ("memory.swap.max", "memory.oom.group", "cpu.max", "cpu.weight"):
        (mount / "orbit" / "c1" / name).write_text("")
    (mount / "orbit" / "c1" / "memory.events").write_text(
        "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"
    )
    layout = CgroupLayout(version=2, mounts={"": str(mount)})
    values = {"memory_limit_bytes": 0, "cpu_limit_millis": 0, "cpu_request_millis": 0}
    values.update(limits)
    return Cgroup.create(layout, "c1", **values), mount / "orbit" / "c1"


def test_v2_limits_written(tmp_path: Path) -> None:
    group, directory = v2_group(
        tmp_path, memory_limit_bytes=64 << 20, cpu_limit_millis=500, cpu_request_millis=250
    )
    assert (directory / "memory.max").read_text() == str(64 << 20)
    assert (directory / "memory.swap.max").read_text() == "0"
    assert (directory / "memory.oom.group").read_text() == "1"
    assert (directory / "cpu.max").read_text() == "50000 100000"
    assert (directory / "cpu.weight").read_text() == str(cpu_weight(256))
    assert group.procs_files() == [str(directory / "cgroup.procs")]


def test_v2_no_limits_means_max(tmp_path: Path) -> None:
    _, directory = v2_group(tmp_path)
    assert not (directory / "memory.max").exists()
    assert (directory / "cpu.max").read_text() == "max 100000"
    assert (directory / "cpu.weight").read_text() == "1"


def test_v2_oom_kill_counted_from_creation(tmp_path: Path) -> None:
    group, directory = v2_group(tmp_path)
    assert group.oom_counter() == (str(directory / "memory.events"), 0)  # for the shim
    assert not group.oom_killed()
    (directory / "memory.events").write_text("oom 1\noom_kill 1\n")
    assert group.oom_killed()


def test_v2_reused_directory_does_not_report_an_old_oom(tmp_path: Path) -> None:
    group, directory = v2_group(tmp_path)
    (directory / "memory.events").write_text("oom_kill 2\n")
    again = Cgroup.create(
        CgroupLayout(version=2, mounts={"": str(tmp_path / "v2")}),
        "c1",
        memory_limit_bytes=0,
        cpu_limit_millis=0,
        cpu_request_millis=0,
    )
    assert group.oom_killed()
    assert not again.oom_killed()


def test_v2_usage_reads(tmp_path: Path) -> None:
    group, directory = v2_group(tmp_path)
    (directory / "cpu.stat").write_text("usage_usec 2500000\nuser_usec 2000000\n")
    (directory / "memory.current").write_text("10485760\n")
    (directory / "memory.stat").write_text("anon 1\ninactive_file 4194304\n")
    assert group.cpu_seconds() == pytest.approx(2.5)
    assert group.memory_bytes() == 10485760 - 4194304


def v1_tree(tmp_path: Path) -> CgroupLayout:
    mounts = {}
    for controller in ("memory", "cpu", "cpuacct"):
        directory = tmp_path / controller / "orbit" / "c1"
        directory.mkdir(parents=True)
        mounts[controller] = str(tmp_path / controller)
    (tmp_path / "memory" / "orbit" / "c1" / "memory.memsw.limit_in_bytes").write_text("")
    (tmp_path / "memory" / "orbit" / "c1" / "memory.oom_control").write_text(
        "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n"
    )
    return CgroupLayout(version=1, mounts=mounts)


def test_v1_limits_written(tmp_path: Path) -> None:
    group = Cgroup.create(
        v1_tree(tmp_path),
        "c1",
        memory_limit_bytes=128 << 20,
        cpu_limit_millis=1500,
        cpu_request_millis=100,
    )
    memory, cpu = tmp_path / "memory" / "orbit" / "c1", tmp_path / "cpu" / "orbit" / "c1"
    assert (memory / "memory.limit_in_bytes").read_text() == str(128 << 20)
    assert (memory / "memory.memsw.limit_in_bytes").read_text() == str(128 << 20)
    assert (cpu / "cpu.cfs_period_us").read_text() == "100000"
    assert (cpu / "cpu.cfs_quota_us").read_text() == "150000"
    assert (cpu / "cpu.shares").read_text() == "102"
    assert sorted(group.procs_files()) == sorted(
        str(tmp_path / c / "orbit" / "c1" / "cgroup.procs") for c in ("memory", "cpu", "cpuacct")
    )
    (memory / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 1\n")
    assert group.oom_killed()


def test_v1_unlimited_cpu_quota_and_usage(tmp_path: Path) -> None:
    group = Cgroup.create(
        v1_tree(tmp_path), "c1", memory_limit_bytes=0, cpu_limit_millis=0, cpu_request_millis=0
    )
    assert (tmp_path / "cpu" / "orbit" / "c1" / "cpu.cfs_quota_us").read_text() == "-1"
    assert not (tmp_path / "memory" / "orbit" / "c1" / "memory.limit_in_bytes").exists()
    (tmp_path / "cpuacct" / "orbit" / "c1" / "cpuacct.usage").write_text("1500000000\n")
    (tmp_path / "memory" / "orbit" / "c1" / "memory.usage_in_bytes").write_text("8192\n")
    (tmp_path / "memory" / "orbit" / "c1" / "memory.stat").write_text("total_inactive_file 4096\n")
    assert group.cpu_seconds() == pytest.approx(1.5)
    assert group.memory_bytes() == 4096


def test_shared_v1_hierarchy_is_joined_once(tmp_path: Path) -> None:
    shared = tmp_path / "cpu,cpuacct"
    (shared / "orbit" / "c1").mkdir(parents=True)
    (tmp_path / "memory" / "orbit" / "c1").mkdir(parents=True)
    layout = CgroupLayout(
        version=1,
        mounts={"memory": str(tmp_path / "memory"), "cpu": str(shared), "cpuacct": str(shared)},
    )
    group = Cgroup.create(
        layout, "c1", memory_limit_bytes=0, cpu_limit_millis=0, cpu_request_millis=0
    )
    assert len(group.procs_files()) == 2


def test_record_round_trip(tmp_path: Path) -> None:
    group = Cgroup.create(
        v1_tree(tmp_path), "c1", memory_limit_bytes=0, cpu_limit_millis=0, cpu_request_millis=0
    )
    assert Cgroup.from_json(group.to_json()) == group


def test_unreadable_files_read_as_nothing(tmp_path: Path) -> None:
    group = Cgroup(version=2, dirs={"": str(tmp_path / "gone")})
    assert group.cpu_seconds() is None
    assert group.memory_bytes() is None
    assert group.oom_kills() == 0
    assert group.pids() == []
    group.destroy()  # nothing to remove is not an error
