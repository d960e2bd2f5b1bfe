"""Volumes materialised on disk (emptyDir, hostPath, configMap / secret files) and host
ports: allocation, reuse across orbit restarts and release."""

from __future__ import annotations

import json
import os
import socket
import stat
from pathlib import Path

import pytest
from node_builders import Sources, make_pod

from orbit.api import ConfigMap, ObjectMeta, Secret
from orbit.node import PORTS_ANNOTATION, CountingPorts, SocketPorts
from orbit.node._podports import PodPorts, parse_ports_annotation
from orbit.node._volumes import fs_group_mode, materialise, plan_volumes
from orbit.runtimes import RuntimeFailure


def sources() -> Sources:
    return (
        Sources()
        .add(
            ConfigMap(
                metadata=ObjectMeta(name="cfg", namespace="default"), data={"a.conf": "A", "b": "B"}
            )
        )
        .add(Secret(metadata=ObjectMeta(name="tls", namespace="default"), string_data={"key": "K"}))
    )


def volumes(*specs: dict[str, object]) -> list[object]:
    return list(make_pod(volumes=list(specs)).spec.volumes)


def test_config_map_and_secret_volumes_become_files(tmp_path: Path) -> None:
    specs = volumes(
        {"name": "cfg", "configMap": {"name": "cfg"}},
        {
            "name": "some",
            "configMap": {
                "name": "cfg",
                "items": [{"key": "b", "path": "sub/b.txt", "mode": 0o600}],
            },
        },
        {"name": "tls", "secret": {"secretName": "tls", "defaultMode": 0o400}},
        {"name": "scratch", "emptyDir": {}},
    )
    paths = materialise(plan_volumes(specs, "default", sources()), str(tmp_path))  # type: ignore[arg-type]
    cfg = Path(paths["cfg"])
    assert sorted(p.name for p in cfg.iterdir()) == ["a.conf", "b"]
    assert (cfg / "a.conf").read_text() == "A"
    some = Path(paths["some"])
    assert (some / "sub" / "b.txt").read_text() == "B"
    assert stat.S_IMODE((some / "sub" / "b.txt").stat().st_mode) == 0o600
    assert not (some / "a.conf").exists()
    tls = Path(paths["tls"]) / "key"
    assert tls.read_bytes() == b"K"
    assert stat.S_IMODE(tls.stat().st_mode) == 0o400
    assert Path(paths["scratch"]).is_dir()
    assert all(Path(p).is_relative_to(tmp_path) for p in paths.values())


def test_rewriting_drops_keys_that_went_away(tmp_path: Path) -> None:
    spec = volumes({"name": "cfg", "configMap": {"name": "cfg"}})
    materialise(plan_volumes(spec, "default", sources()), str(tmp_path))  # type: ignore[arg-type]
    fewer = Sources().add(
        ConfigMap(metadata=ObjectMeta(name="cfg", namespace="default"), data={"b": "B2"})
    )
    paths = materialise(plan_volumes(spec, "default", fewer), str(tmp_path))  # type: ignore[arg-type]
    assert sorted(p.name for p in Path(paths["cfg"]).iterdir()) == ["b"]
    assert (Path(paths["cfg"]) / "b").read_text() == "B2"


def test_missing_sources_fail_the_mount_unless_optional(tmp_path: Path) -> None:
    spec = volumes({"name": "v", "configMap": {"name": "absent"}})
    with pytest.raises(RuntimeFailure) as caught:
        plan_volumes(spec, "default", sources())  # type: ignore[arg-type]
    assert caught.value.reason == "FailedMount"
    assert (
        caught.value.message
        == 'MountVolume.SetUp failed for volume "v" : configmap "absent" not found'
    )
    optional = volumes({"name": "v", "secret": {"secretName": "absent", "optional": True}})
    paths = materialise(plan_volumes(optional, "default", sources()), str(tmp_path))  # type: ignore[arg-type]
    assert list(Path(paths["v"]).iterdir()) == []


def test_host_paths_are_used_as_they_are_and_created_when_asked(tmp_path: Path) -> None:
    made = tmp_path / "made"
    spec = volumes(
        {"name": "mk", "hostPath": {"path": str(made), "type": "DirectoryOrCreate"}},
        {"name": "any", "hostPath": {"path": str(tmp_path)}},
    )
    paths = materialise(plan_volumes(spec, "default", sources()), str(tmp_path / "pod"))  # type: ignore[arg-type]
    assert paths == {"mk": str(made), "any": str(tmp_path)}
    assert made.is_dir()
    strict = volumes(
        {"name": "d", "hostPath": {"path": str(tmp_path / "nope"), "type": "Directory"}}
    )
    with pytest.raises(RuntimeFailure, match="does not exist"):
        materialise(plan_volumes(strict, "default", sources()), str(tmp_path))  # type: ignore[arg-type]


def test_socket_ports_are_free_and_never_handed_out_twice() -> None:
    ports = SocketPorts()
    taken = {ports.allocate() for _ in range(20)}
    assert len(taken) == 20
    for port in list(taken)[:3]:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", port))  # really free
    ports.release(taken)
    assert ports.reserved == set()


def test_counting_ports_are_deterministic_and_reused() -> None:
    ports = CountingPorts(first=30000)
    assert [ports.allocate() for _ in range(3)] == [30000, 30001, 30002]
    ports.release([30001])
    assert ports.allocate() == 30001
    ports.reserve([30003])
    assert ports.allocate() == 30004


def test_a_pod_gets_one_port_per_declared_port_and_an_annotation_naming_them() -> None:
    allocator = CountingPorts(first=40000)
    pod = make_pod(
        containers=[
            {
                "name": "web",
                "image": "x",
                "ports": [{"containerPort": 8080}, {"name": "metrics", "containerPort": 9090}],
            },
            {"name": "side", "image": "x", "ports": [{"containerPort": 7000, "hostPort": 7000}]},
        ]
    )
    ports = PodPorts(allocator, pod, "host")
    assert [(b.container_port, b.host_port, b.name) for b in ports.for_container("web")] == [
        (8080, 40000, ""),
        (9090, 40001, "metrics"),
    ]
    assert ports.for_container("side")[0].host_port == 7000
    assert json.loads(ports.annotation) == {
        "8080": "127.0.0.1:40000",
        "metrics": "127.0.0.1:40001",
        "7000": "127.0.0.1:7000",
    }
    ports.release()
    assert allocator.reserved == set()


def test_a_pod_with_an_annotation_keeps_its_ports() -> None:
    allocator = CountingPorts(first=40000)
    pod = make_pod(
        containers=[{"name": "web", "image": "x", "ports": [{"containerPort": 8080}]}],
        annotations={
            PORTS_ANNOTATION: json.dumps({"8080": "127.0.0.1:45555", "gone": "127.0.0.1:45556"})
        },
    )
    ports = PodPorts(allocator, pod, "host")
    assert ports.for_container("web")[0].host_port == 45555
    assert allocator.reserved == {45555}
    assert parse_ports_annotation("not json") == {}


def test_an_empty_dir_is_world_writable_as_the_kubelet_makes_it(tmp_path: Path) -> None:
    specs = volumes({"name": "scratch", "emptyDir": {}})
    paths = materialise(plan_volumes(specs, "default", sources()), str(tmp_path))  # type: ignore[arg-type]
    assert stat.S_IMODE(Path(paths["scratch"]).stat().st_mode) == 0o777  # whatever the umask


@pytest.mark.parametrize(
    ("mode", "is_dir", "read_only", "handed"),
    [
        (0o644, False, False, 0o664),  # emptyDir files: group read-write
        (0o400, False, True, 0o440),  # a secret's 0400 file becomes group-readable
        (0o755, True, False, 0o2775),  # directories: group rwx and setgid
        (0o777, True, False, 0o2777),
        (0o755, True, True, 0o2755),
    ],
)
def test_fs_group_modes_follow_the_kubelets_change_file_permission(
    mode: int, is_dir: bool, read_only: bool, handed: int
) -> None:
    assert fs_group_mode(mode, is_dir=is_dir, read_only=read_only) == handed


def test_fs_group_owns_what_orbit_writes_but_not_host_paths(tmp_path: Path) -> None:
    host = tmp_path / "host"
    host.mkdir()
    specs = volumes(
        {"name": "scratch", "emptyDir": {}},
        {"name": "tls", "secret": {"secretName": "tls", "defaultMode": 0o400}},
        {"name": "cfg", "configMap": {"name": "cfg", "items": [{"key": "b", "path": "d/b"}]}},
        {"name": "host", "hostPath": {"path": str(host)}},
    )
    plans = plan_volumes(specs, "default", sources())  # type: ignore[arg-type]
    paths = materialise(plans, str(tmp_path / "pod"), fs_group=4321)
    owned = [
        Path(paths["scratch"]),
        Path(paths["tls"]),
        Path(paths["tls"]) / "key",
        Path(paths["cfg"]) / "d",
        Path(paths["cfg"]) / "d" / "b",
    ]
    if os.geteuid() != 0:  # only root may give files to a group it is not in
        assert all(path.stat().st_gid == os.getgid() for path in owned)
        return
    assert [path.stat().st_gid for path in owned] == [4321] * len(owned)
    assert stat.S_IMODE(owned[0].stat().st_mode) == 0o2777
    assert stat.S_IMODE(owned[2].stat().st_mode) == 0o440
    assert stat.S_IMODE(owned[3].stat().st_mode) & 0o2010 == 0o2010  # setgid, group search
    assert host.stat().st_gid != 4321
    (Path(paths["cfg"]) / "d" / "b").unlink()
    materialise(plans, str(tmp_path / "pod"), fs_group=4321)  # rewritten at each start
    assert (Path(paths["cfg"]) / "d" / "b").stat().st_gid == 4321


def test_ports_are_reached_at_the_nodes_address() -> None:
    pod = make_pod(containers=[{"name": "web", "image": "x", "ports": [{"containerPort": 80}]}])
    ports = PodPorts(CountingPorts(first=40000), pod, "host", "10.0.0.5")
    assert ports.for_container("web")[0].host_ip == "10.0.0.5"
    assert json.loads(ports.annotation) == {"80": "10.0.0.5:40000"}
    v6 = PodPorts(CountingPorts(first=40000), pod, "host", "fd00::5")
    assert json.loads(v6.annotation) == {"80": "[fd00::5]:40000"}
    assert parse_ports_annotation(v6.annotation) == {"80": 40000}
