"""The pure half of DockerRuntime: launch -> create-container JSON, engine JSON -> reports."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orbit.api import Capabilities, SecurityContext
from orbit.runtimes import (
    CLUSTER_LABEL,
    CONTAINER_LABEL,
    POD_UID_LABEL,
    ContainerLaunch,
    Mount,
    PortBinding,
    Runtime,
)
from orbit.runtimes._docker import DockerRuntime
from orbit.runtimes._docker_config import (
    INIT_LABEL,
    PORTS_LABEL,
    RESTART_COUNT_LABEL,
    container_config,
    container_labels,
    container_name,
    cpu_shares,
    decode_ports,
    encode_ports,
    engine_base,
    engine_host,
    is_remote_engine,
    port_env,
    remote_mount_problem,
    run_as_root_problem,
)
from orbit.runtimes._docker_state import (
    cpu_cores,
    engine_time,
    gpu_driver,
    node_resources,
    report_from_inspect,
    working_set_bytes,
)

MiB = 1024 * 1024
UID = "0f8e7d6c-5b4a-4392-8170-fedcba987654"
_ENGINE_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")  # the engine's rule for names


def launch(**fields: Any) -> ContainerLaunch:
    values: dict[str, Any] = {
        "pod_uid": UID,
        "pod_name": "web-1",
        "namespace": "shop",
        "name": "app",
        "image": "orbit-busybox:1",
        "labels": {CLUSTER_LABEL: "c1"},
    }
    values.update(fields)
    return ContainerLaunch(**values)


# --- resources -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("millis", "shares"),
    [(0, 2), (1, 2), (3, 3), (250, 256), (1000, 1024), (1500, 1536), (10**9, 262_144)],
)
def test_cpu_shares_follow_the_kubelet(millis: int, shares: int) -> None:
    assert cpu_shares(millis) == shares


@given(st.integers(0, 10**6), st.integers(0, 10**6))
def test_cpu_shares_are_monotone_and_bounded(a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert 2 <= cpu_shares(low) <= cpu_shares(high) <= 262_144


def test_limits_map_to_host_config() -> None:
    config = container_config(
        launch(
            cpu_request_millis=500,
            cpu_limit_millis=1500,
            memory_request_bytes=64 * MiB,
            memory_limit_bytes=128 * MiB,
            gpu_ids=("GPU-a", "GPU-b"),
        )
    )
    host = config["HostConfig"]
    assert host["NanoCpus"] == 1_500_000_000
    assert host["CpuShares"] == 512
    assert host["Memory"] == host["MemorySwap"] == 128 * MiB
    assert host["DeviceRequests"] == [
        {"Driver": "nvidia", "DeviceIDs": ["GPU-a", "GPU-b"], "Capabilities": [["gpu"]]}
    ]
    assert host["RestartPolicy"] == {"Name": "no"}


def test_no_limits_leave_the_engine_defaults() -> None:
    host = container_config(launch())["HostConfig"]
    for absent in ("NanoCpus", "Memory", "MemorySwap", "DeviceRequests"):
        assert absent not in host
    assert host["CpuShares"] == 2  # no request: the minimum weight, as BestEffort


# --- command, env, mounts ------------------------------------------------------------


def test_argv_replaces_entrypoint_and_cmd() -> None:
    config = container_config(launch(argv=("python", "-m", "http.server"), working_dir="/srv"))
    assert config["Entrypoint"] == ["python"]
    assert config["Cmd"] == ["-m", "http.server"]
    assert config["WorkingDir"] == "/srv"
    single = container_config(launch(argv=("serve",)))
    assert (single["Entrypoint"], single["Cmd"]) == (["serve"], [])


def test_empty_argv_keeps_the_image_defaults() -> None:
    config = container_config(launch())
    assert "Entrypoint" not in config
    assert "Cmd" not in config
    assert "WorkingDir" not in config


def test_env_keeps_values_verbatim_and_adds_ports() -> None:
    ports = (
        PortBinding(name="http", container_port=8080, host_port=31001),
        PortBinding(name="admin-ui", container_port=9090, host_port=31002),
        PortBinding(container_port=7070, host_port=31003),
    )
    config = container_config(launch(env={"A": "x=y", "EMPTY": ""}, ports=ports))
    assert config["Env"] == [
        "A=x=y",
        "EMPTY=",
        "PORT=31001",
        "ORBIT_PORT_HTTP=31001",
        "ORBIT_PORT_ADMIN_UI=31002",
    ]


def test_port_env_in_bridge_mode_is_the_declared_port() -> None:
    ports = (PortBinding(name="http", container_port=8080, host_port=31001),)
    assert port_env(ports, "bridge") == {"PORT": "8080", "ORBIT_PORT_HTTP": "8080"}
    assert port_env(ports, "host") == {"PORT": "31001", "ORBIT_PORT_HTTP": "31001"}
    assert port_env((), "host") == {}


def test_mounts_become_binds() -> None:
    mounts = (
        Mount(source="/var/orbit/pods/u/vol", target="/data"),
        Mount(source="/var/orbit/pods/u/cm", target="/etc/app", read_only=True),
    )
    binds = container_config(launch(mounts=mounts))["HostConfig"]["Binds"]
    assert binds == ["/var/orbit/pods/u/vol:/data", "/var/orbit/pods/u/cm:/etc/app:ro"]


# --- networking ----------------------------------------------------------------------


def test_host_networking() -> None:
    config = container_config(launch(ports=(PortBinding(container_port=80, host_port=31000),)))
    assert config["HostConfig"]["NetworkMode"] == "host"
    assert "PortBindings" not in config["HostConfig"]
    assert "Hostname" not in config  # the engine refuses a hostname with host networking


def test_bridge_networking_publishes_on_loopback() -> None:
    ports = (
        PortBinding(name="http", container_port=8080, host_port=31001),
        PortBinding(name="dns", container_port=53, host_port=31053, protocol="UDP"),
        PortBinding(name="unallocated", container_port=7000),
    )
    config = container_config(launch(ports=ports), network="bridge", bridge_network="orbit")
    assert config["ExposedPorts"] == {"8080/tcp": {}, "53/udp": {}, "7000/tcp": {}}
    assert config["Hostname"] == "web-1"
    host = config["HostConfig"]
    assert host["NetworkMode"] == "orbit"
    assert host["PortBindings"] == {
        "8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "31001"}],
        "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "31053"}],
    }


# --- security ------------------------------------------------------------------------


def test_default_security_sets_no_new_privileges_only() -> None:
    config = container_config(launch())
    host = config["HostConfig"]
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["Privileged"] is False
    assert host["ReadonlyRootfs"] is False
    assert "User" not in config
    assert "CapAdd" not in host


def test_security_context_maps_to_the_engine() -> None:
    security = SecurityContext(
        run_as_user=1000,
        run_as_group=2000,
        read_only_root_filesystem=True,
        capabilities=Capabilities(add=("NET_ADMIN",), drop=("ALL",)),
    )
    config = container_config(launch(security=security))
    assert config["User"] == "1000:2000"
    host = config["HostConfig"]
    assert host["ReadonlyRootfs"] is True
    assert (host["CapAdd"], host["CapDrop"]) == (["NET_ADMIN"], ["ALL"])
    assert container_config(launch(security=SecurityContext(run_as_user=7)))["User"] == "7"


@pytest.mark.parametrize(
    "security",
    [SecurityContext(allow_privilege_escalation=True), SecurityContext(privileged=True)],
)
def test_escalation_or_privileged_turns_no_new_privileges_off(security: SecurityContext) -> None:
    host = container_config(launch(security=security))["HostConfig"]
    assert host["SecurityOpt"] == []
    assert host["Privileged"] is bool(security.privileged)


@pytest.mark.parametrize(
    ("security", "image_user", "refused"),
    [
        (None, "", False),
        (SecurityContext(run_as_non_root=False), "", False),
        (SecurityContext(run_as_non_root=True), "", True),
        (SecurityContext(run_as_non_root=True), "root", True),
        (SecurityContext(run_as_non_root=True), "0:0", True),
        (SecurityContext(run_as_non_root=True), "app", True),  # cannot verify a name
        (SecurityContext(run_as_non_root=True), "1000", False),
        (SecurityContext(run_as_non_root=True, run_as_user=0), "1000", True),
        (SecurityContext(run_as_non_root=True, run_as_user=5), "", False),
    ],
)
def test_run_as_non_root(security: SecurityContext | None, image_user: str, refused: bool) -> None:
    assert bool(run_as_root_problem(security, image_user)) is refused


# --- names and labels ----------------------------------------------------------------


def test_name_and_labels() -> None:
    item = launch(restart_count=3, init=True, ports=(PortBinding(container_port=1, host_port=2),))
    assert container_name(item) == "orbit-shop-web-1-app-3-0f8e7d6c"
    labels = container_labels(item)
    assert labels[CLUSTER_LABEL] == "c1"
    assert labels[POD_UID_LABEL] == UID
    assert labels[CONTAINER_LABEL] == "app"
    assert labels[RESTART_COUNT_LABEL] == "3"
    assert labels[INIT_LABEL] == "true"
    assert decode_ports(labels[PORTS_LABEL]) == item.ports
    assert INIT_LABEL not in container_labels(launch())


_names = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)


@given(_names, _names, _names, st.uuids().map(str), st.integers(0, 10_000))
def test_container_names_are_valid_engine_names(
    namespace: str, pod: str, container: str, uid: str, restart: int
) -> None:
    item = launch(
        namespace=namespace, pod_name=pod, name=container, pod_uid=uid, restart_count=restart
    )
    assert _ENGINE_NAME.match(container_name(item))
    assert container_name(item).endswith(f"-{restart}-{uid[:8]}")


_ports = st.builds(
    PortBinding,
    name=st.text(max_size=15),
    container_port=st.integers(0, 65535),
    host_port=st.integers(0, 65535),
    host_ip=st.sampled_from(["127.0.0.1", "0.0.0.0", "::1"]),
    protocol=st.sampled_from(["TCP", "UDP", "SCTP"]),
)


@given(st.lists(_ports, max_size=5).map(tuple))
def test_ports_label_round_trips(ports: tuple[PortBinding, ...]) -> None:
    assert decode_ports(encode_ports(ports)) == ports


@pytest.mark.parametrize("garbled", ["", "{", "[1]", '[["a", "b"]]', "null"])
def test_garbled_ports_label_gives_no_ports(garbled: str) -> None:
    assert decode_ports(garbled) == ()


# --- engine address ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "env", "tls", "expected"),
    [
        (None, {}, False, ("unix", "/var/run/docker.sock")),
        (
            None,
            {"DOCKER_HOST": "unix:///run/user/1000/docker.sock"},
            False,
            ("unix", "/run/user/1000/docker.sock"),
        ),
        ("unix:///tmp/d.sock", {"DOCKER_HOST": "tcp://x:1"}, False, ("unix", "/tmp/d.sock")),
        ("tcp://docker.example:2376", {}, True, ("tcp", "https://docker.example:2376")),
        ("tcp://127.0.0.1:2375", {}, False, ("tcp", "http://127.0.0.1:2375")),
        ("https://h:2376/", {}, False, ("tcp", "https://h:2376")),
    ],
)
def test_engine_base(
    url: str | None, env: dict[str, str], tls: bool, expected: tuple[str, str]
) -> None:
    assert engine_base(url, env, tls=tls) == expected


@pytest.mark.parametrize("url", ["ssh://me@host", "docker.sock", "tcp://"])
def test_engine_base_refuses_what_it_cannot_reach(url: str) -> None:
    with pytest.raises(ValueError, match="Docker engine address"):
        engine_base(url, {}, tls=False)


# --- engine answers -> reports -------------------------------------------------------


def inspect_answer(**state: Any) -> dict[str, Any]:
    base_state = {
        "Status": "exited",
        "Running": False,
        "OOMKilled": False,
        "ExitCode": 0,
        "Error": "",
        "StartedAt": "2026-01-01T00:00:01.5Z",
        "FinishedAt": "2026-01-01T00:00:03.25Z",
    }
    base_state.update(state)
    labels = container_labels(
        launch(ports=(PortBinding(name="http", container_port=80, host_port=3100),))
    )
    return {
        "Id": "abc123",
        "Name": "/orbit-shop-web-1-app-0-0f8e7d6c",
        "Image": "sha256:feed",
        "State": base_state,
        "Config": {"Image": "orbit-busybox:1", "Labels": labels},
    }


T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def test_running_report() -> None:
    report = report_from_inspect(
        inspect_answer(Status="running", Running=True, FinishedAt="0001-01-01T00:00:00Z")
    )
    assert report.state == "running"
    assert (report.id, report.name, report.pod_uid) == ("abc123", "app", UID)
    assert (report.image, report.image_id) == ("orbit-busybox:1", "sha256:feed")
    assert report.started_at == pytest.approx(T0 + 1.5)
    assert report.finished_at is None
    assert report.exit_code is None
    assert report.ports == (PortBinding(name="http", container_port=80, host_port=3100),)


@pytest.mark.parametrize(
    ("state", "exit_code", "signal", "reason"),
    [
        ({"ExitCode": 0}, 0, 0, "Completed"),
        ({"ExitCode": 1}, 1, 0, "Error"),
        ({"ExitCode": 143}, 143, 15, "Error"),
        ({"ExitCode": 137}, 137, 9, "Error"),
        ({"ExitCode": 137, "OOMKilled": True}, 137, 9, "OOMKilled"),
        ({"Status": "dead", "ExitCode": 2}, 2, 0, "Error"),
    ],
)
def test_terminated_reports(
    state: dict[str, Any], exit_code: int, signal: int, reason: str
) -> None:
    report = report_from_inspect(inspect_answer(**state))
    assert report.state == "terminated"
    assert (report.exit_code, report.signal, report.reason) == (exit_code, signal, reason)
    assert report.finished_at == pytest.approx(T0 + 3.25)


def test_created_is_waiting_unless_the_start_failed() -> None:
    created = inspect_answer(
        Status="created", StartedAt="0001-01-01T00:00:00Z", FinishedAt="0001-01-01T00:00:00Z"
    )
    assert report_from_inspect(created).state == "waiting"
    message = 'exec: "nope": executable file not found in $PATH'
    failed = report_from_inspect(
        {**created, "State": {**created["State"], "Error": message, "ExitCode": 127}}
    )
    assert (failed.state, failed.exit_code, failed.reason) == (
        "terminated",
        127,
        "ContainerCannotRun",
    )
    assert failed.message == message


def test_finished_never_precedes_started() -> None:
    quick = inspect_answer(
        StartedAt="2026-01-01T00:00:01.000002Z", FinishedAt="2026-01-01T00:00:01.000001Z"
    )
    report = report_from_inspect(quick)
    assert report.finished_at == report.started_at


def test_a_container_orbit_did_not_label_still_reports() -> None:
    report = report_from_inspect(
        {"Id": "x", "Name": "/stray", "State": {"Status": "running"}, "Config": {}}
    )
    assert (report.name, report.pod_uid, report.labels, report.ports) == ("stray", "", {}, ())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-01T00:00:00Z", T0),
        ("2026-01-01T00:00:00.123456789Z", T0 + 0.123456789),
        ("2026-01-01T01:00:00+01:00", T0),
        ("0001-01-01T00:00:00Z", None),
        ("", None),
        (None, None),
        ("yesterday", None),
    ],
)
def test_engine_time(text: str | None, expected: float | None) -> None:
    parsed = engine_time(text)
    if expected is None:
        assert parsed is None
    else:
        assert parsed == pytest.approx(expected, abs=1e-6)


# --- stats and info ------------------------------------------------------------------


def stats(
    total: int, pre_total: int, system: int, pre_system: int, online: int = 2
) -> dict[str, Any]:
    return {
        "cpu_stats": {
            "cpu_usage": {"total_usage": total},
            "system_cpu_usage": system,
            "online_cpus": online,
        },
        "precpu_stats": {"cpu_usage": {"total_usage": pre_total}, "system_cpu_usage": pre_system},
    }


def test_cpu_cores_from_the_two_samples() -> None:
    # half a second of cpu over one second of two cpus' time (2e9 ns): 0.5 cores
    assert cpu_cores(
        stats(1_500_000_000, 1_000_000_000, 52_000_000_000, 50_000_000_000)
    ) == pytest.approx(0.5)
    assert cpu_cores(stats(10, 10, 20, 10)) == 0.0  # idle
    assert cpu_cores(stats(10, 0, 20, 0)) == 0.0  # no earlier sample yet
    assert cpu_cores({}) == 0.0  # a stopped container's stats are empty


def test_working_set_subtracts_inactive_file_pages() -> None:
    v1 = {
        "memory_stats": {
            "usage": 10 * MiB,
            "stats": {"total_inactive_file": 3 * MiB, "inactive_file": 1},
        }
    }
    v2 = {"memory_stats": {"usage": 10 * MiB, "stats": {"inactive_file": 4 * MiB}}}
    assert working_set_bytes(v1) == 7 * MiB
    assert working_set_bytes(v2) == 6 * MiB
    assert working_set_bytes({"memory_stats": {"usage": 1, "stats": {"inactive_file": 5}}}) == 0
    assert working_set_bytes({"memory_stats": {}}) == 0


def test_node_resources_from_info() -> None:
    info = {
        "NCPU": 8,
        "MemTotal": 16 * 1024 * MiB,
        "ServerVersion": "20.10.24",
        "KernelVersion": "6.1.0",
        "OperatingSystem": "Debian GNU/Linux 12 (bookworm)",
        "OSType": "linux",
        "Architecture": "x86_64",
        "CgroupVersion": "2",
        "Runtimes": {"runc": {}},
    }
    resources = node_resources(info)
    assert resources.capacity == {"cpu": "8", "memory": "16777216Ki"}
    assert resources.gpu_ids == ()
    assert resources.info["containerRuntimeVersion"] == "docker://20.10.24"
    assert "gpuRuntime" not in resources.info
    with_nvidia = node_resources({**info, "Runtimes": {"runc": {}, "nvidia": {}}})
    assert with_nvidia.info["gpuRuntime"] == "nvidia"
    assert with_nvidia.gpu_ids == ()


# --- the runtime object (no engine needed to build one) -------------------------------


def test_docker_runtime_satisfies_the_protocol() -> None:
    runtime = DockerRuntime("tcp://127.0.0.1:2375", network="bridge")
    assert isinstance(runtime, Runtime)
    assert (runtime.kind, runtime.network) == ("docker", "bridge")
    with pytest.raises(ValueError, match="only unix:// and tcp://"):
        DockerRuntime("ssh://me@host")


# --- groups, GPUs by CDI, a remote engine ------------------------------------------


def test_pod_groups_become_group_add() -> None:
    assert "GroupAdd" not in container_config(launch())["HostConfig"]
    config = container_config(launch(group_add=(2000, 3000)))
    assert config["HostConfig"]["GroupAdd"] == ["2000", "3000"]


def test_gpus_on_a_cdi_engine_are_requested_by_cdi_name() -> None:
    config = container_config(launch(gpu_ids=("0", "2")), gpu_driver="cdi")
    assert config["HostConfig"]["DeviceRequests"] == [
        {"Driver": "cdi", "DeviceIDs": ["nvidia.com/gpu=0", "nvidia.com/gpu=2"]}
    ]


def test_bridge_ports_of_a_remote_engine_are_published_on_every_address() -> None:
    binding = PortBinding(name="web", container_port=80, host_port=31000, host_ip="10.0.0.5")
    local = container_config(launch(ports=(binding,)), network="bridge")
    assert local["HostConfig"]["PortBindings"] == {
        "80/tcp": [{"HostIp": "10.0.0.5", "HostPort": "31000"}]
    }
    remote = container_config(launch(ports=(binding,)), network="bridge", publish_ip="")
    assert remote["HostConfig"]["PortBindings"] == {"80/tcp": [{"HostIp": "", "HostPort": "31000"}]}


@pytest.mark.parametrize(
    ("url", "host", "remote"),
    [
        ("unix:///var/run/docker.sock", "", False),
        ("tcp://127.0.0.1:2375", "127.0.0.1", False),
        ("tcp://127.0.0.2:2375", "127.0.0.2", False),
        ("tcp://localhost:2376", "localhost", False),
        ("tcp://[::1]:2376", "::1", False),
        ("tcp://build-box:2376", "build-box", True),
        ("tcp://10.0.0.5:2376", "10.0.0.5", True),
        ("tcp://[fd00::5]:2376", "fd00::5", True),
        ("tcp://10.0.0.5", "10.0.0.5", True),
    ],
)
def test_where_an_engine_is_and_whether_it_is_remote(url: str, host: str, remote: bool) -> None:
    endpoint = engine_base(url, {}, tls=False)
    assert engine_host(endpoint) == host
    assert is_remote_engine(endpoint) is remote


def test_a_remote_engine_refuses_volumes_orbit_writes_but_not_host_paths() -> None:
    host_path = Mount(source="/srv/data", target="/data", volume="data")
    assert remote_mount_problem(launch(mounts=(host_path,)), "https://box:2376") == ""
    written = (
        host_path,
        Mount(source="/s/cfg", target="/etc/app", volume="cfg", materialised=True),
        Mount(source="/s/scratch", target="/tmp/s", volume="scratch", materialised=True),
    )
    problem = remote_mount_problem(launch(mounts=written), "https://box:2376")
    assert problem.startswith('volume "cfg", "scratch" cannot be mounted: ')
    assert "remote Docker engine https://box:2376 cannot bind-mount" in problem


def test_engine_gpu_driver_and_discovered_gpus() -> None:
    info = {"NCPU": 2, "MemTotal": 1024 * MiB, "Runtimes": {"runc": {}}}
    assert gpu_driver(info) == ""
    assert gpu_driver({**info, "Runtimes": {"runc": {}, "nvidia": {}}}) == "nvidia"
    assert gpu_driver({**info, "CDISpecDirs": ["/etc/cdi", "/var/run/cdi"]}) == "cdi"
    assert gpu_driver({**info, "CDISpecDirs": []}) == ""
    found = node_resources({**info, "CDISpecDirs": ["/etc/cdi"]}, ("0", "1"), "nvml")
    assert found.capacity["nvidia.com/gpu"] == "2"
    assert found.gpu_ids == ("0", "1")
    assert (found.info["gpuRuntime"], found.info["gpuDiscovery"]) == ("cdi", "nvml")


@pytest.mark.anyio
async def test_a_remote_runtime_is_reached_at_its_host() -> None:
    remote = DockerRuntime("tcp://10.0.0.5:2376")
    assert remote.remote is True
    assert await remote.node_address() == "10.0.0.5"
    assert DockerRuntime().remote is False
    assert await DockerRuntime("unix:///run/docker.sock").node_address() == "127.0.0.1"
    assert await DockerRuntime("tcp://localhost:2375").node_address() == "127.0.0.1"
    told = DockerRuntime("tcp://10.0.0.5:2376", address="192.0.2.7", remote=False)
    assert (told.remote, await told.node_address()) == (False, "192.0.2.7")
