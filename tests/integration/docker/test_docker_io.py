"""DockerRuntime against a real engine: ports in host and bridge mode, probes, logs, usage."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

import anyio
import pytest
from docker_helpers import eventually, free_port, http_port, remove_cluster

from orbit.api import ExecAction, HTTPGetAction, Probe, TCPSocketAction
from orbit.runtimes import ContainerLaunch, PortBinding, RuntimeFailure
from orbit.runtimes._docker import DockerRuntime

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

Launcher = Callable[..., ContainerLaunch]
MiB = 1024 * 1024

# busybox httpd serving one page that shows the port variables the container got
SERVE = 'echo "$PORT $ORBIT_PORT_WEB_UI" > /www/index.html; exec httpd -f -p "$PORT" -h /www'


async def http_body(port: int, path: str = "/index.html") -> str:
    """GET ``path`` from 127.0.0.1:``port`` over a plain socket; the body."""
    async with await anyio.connect_tcp("127.0.0.1", port) as stream:
        request = f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"
        await stream.send(request.encode())
        response = b""
        with contextlib.suppress(anyio.EndOfStream):
            while True:
                response += await stream.receive()
    head, _, body = response.decode().partition("\r\n\r\n")
    assert head.splitlines()[0].split()[1] == "200", head
    return body


async def ready(
    runtime: DockerRuntime, container_id: str, probe: Probe, launch: ContainerLaunch
) -> None:
    async def check() -> bool:
        return (await runtime.probe(container_id, probe, launch)).success

    await eventually(check)


async def test_host_mode_container_listens_on_the_allocated_port(
    runtime: DockerRuntime, make_launch: Launcher
) -> None:
    ports = (http_port("web-ui", 8080),)
    launch = make_launch("sh", "-c", SERVE, ports=ports)
    started = await runtime.start(launch)
    assert started.ports == ports
    http = Probe(http_get=HTTPGetAction(path="/index.html", port="web-ui"), timeout_seconds=2)
    await ready(runtime, started.id, http, launch)
    host_port = ports[0].host_port
    assert await http_body(host_port) == f"{host_port} {host_port}\n"
    tcp = Probe(tcp_socket=TCPSocketAction(port=8080))  # the declared port maps to the host port
    assert (await runtime.probe(started.id, tcp, launch)).success


async def test_bridge_mode_publishes_declared_ports_on_loopback(
    busybox_image: str, make_launch: Launcher, cluster_id: str
) -> None:
    bridged = DockerRuntime(network="bridge")
    try:
        ports = (
            http_port("web-ui", 8080),
            PortBinding(name="spare", container_port=9090, host_port=free_port()),
        )
        launch = make_launch("sh", "-c", f"hostname; {SERVE}", ports=ports)
        started = await bridged.start(launch)
        http = Probe(http_get=HTTPGetAction(path="/", port=8080), timeout_seconds=2)
        await ready(bridged, started.id, http, launch)
        # inside, the container listens on its declared port; outside, on the host port
        assert await http_body(ports[0].host_port) == "8080 8080\n"
        assert [line async for line in bridged.logs(started.id, tail=1)] == [launch.pod_name]
        unreached = Probe(tcp_socket=TCPSocketAction(port="spare"))
        assert not (await bridged.probe(started.id, unreached, launch)).success
    finally:
        await bridged.close()
        await remove_cluster(cluster_id)


async def test_exec_probes_succeed_fail_and_time_out(
    runtime: DockerRuntime, make_launch: Launcher
) -> None:
    launch = make_launch("sh", "-c", "touch /tmp/healthy; exec sleep 300")
    started = await runtime.start(launch)

    async def exec_probe(*command: str, timeout_s: int = 2) -> tuple[bool, str]:
        probe = Probe(exec=ExecAction(command=command), timeout_seconds=timeout_s)
        outcome = await runtime.probe(started.id, probe, launch)
        return outcome.success, outcome.message

    await eventually(lambda: exec_probe("cat", "/tmp/healthy"))
    assert await exec_probe("sh", "-c", "echo not ready; exit 1") == (False, "not ready")
    assert await exec_probe("false") == (False, "command ['false'] exited with 1")
    with anyio.fail_after(5):
        success, message = await exec_probe("sleep", "30", timeout_s=1)
    assert not success
    assert "timed out" in message
    stopped = await runtime.stop(started.id, grace_s=0)
    assert stopped.state == "terminated"
    success, message = await exec_probe("true")
    assert not success
    assert "is not running" in message


async def test_http_probe_reports_refused_and_status(
    runtime: DockerRuntime, make_launch: Launcher
) -> None:
    ports = (http_port(),)
    launch = make_launch("sh", "-c", 'exec httpd -f -p "$PORT" -h /www', ports=ports)
    before = Probe(http_get=HTTPGetAction(path="/", port="http"))
    refused = await runtime.probe("not-started-yet", before, launch)  # network probes need no id
    assert not refused.success
    assert "connection refused" in refused.message
    started = await runtime.start(launch)
    tcp = Probe(tcp_socket=TCPSocketAction(port="http"))
    await ready(runtime, started.id, tcp, launch)
    missing = await runtime.probe(
        started.id, Probe(http_get=HTTPGetAction(path="/nope", port=8080)), launch
    )
    assert (missing.success, missing.message) == (False, "HTTP probe failed with statuscode: 404")


async def test_logs_tail_and_follow(runtime: DockerRuntime, make_launch: Launcher) -> None:
    script = (
        "for i in 1 2 3 4 5; do echo line$i; done; echo oops >&2; "
        "while [ ! -f /tmp/go ]; do sleep 0.05; done; echo last"
    )
    started = await runtime.start(make_launch("sh", "-c", script))

    followed: list[str] = []

    async def follow(lines: AsyncIterator[str]) -> None:
        async for line in lines:
            followed.append(line)

    with anyio.fail_after(20):
        async with anyio.create_task_group() as group:
            group.start_soon(follow, runtime.logs(started.id, follow=True))
            await eventually(lambda: _has(followed, "oops"))
            # stdout keeps its order; stderr is copied by another reader, so "oops" may
            # land anywhere among the lines written around it
            assert [line for line in followed if line != "oops"] == [
                f"line{i}" for i in range(1, 6)
            ]
            assert [line async for line in runtime.logs(started.id, tail=0)] == []
            probe = Probe(exec=ExecAction(command=("touch", "/tmp/go")))
            assert (
                await runtime.probe(
                    started.id,
                    probe,
                    ContainerLaunch(pod_uid="", pod_name="", namespace="", name=""),
                )
            ).success
        # following ended because the container did
    assert followed[-1] == "last"
    assert sorted(followed) == sorted([f"line{i}" for i in range(1, 6)] + ["oops", "last"])
    assert (await runtime.inspect(started.id)).state == "terminated"
    everything = [line async for line in runtime.logs(started.id)]
    assert sorted(everything) == sorted(followed)
    assert [line async for line in runtime.logs(started.id, tail=1)] == ["last"]


async def _has(lines: list[str], wanted: str) -> bool:
    return wanted in lines


async def test_usage_reports_cpu_and_working_set(
    runtime: DockerRuntime, make_launch: Launcher
) -> None:
    # one busy loop capped at half a core, and 8 MiB held in a shell variable
    script = 'x=$(head -c 8m /dev/zero | tr "\\0" a); yes > /dev/null'
    launch = make_launch("sh", "-c", script, cpu_limit_millis=500, memory_limit_bytes=64 * MiB)
    started = await runtime.start(launch)
    usage = await runtime.usage(started.id)
    assert 0.05 < usage.cpu_cores <= 0.75
    assert 8 * MiB < usage.memory_bytes < 64 * MiB
    assert usage.at > 0


async def test_an_unreachable_engine_is_runtime_unavailable() -> None:
    for url in ("unix:///nonexistent/docker.sock", f"tcp://127.0.0.1:{free_port()}"):
        runtime = DockerRuntime(url)
        try:
            with pytest.raises(RuntimeFailure) as failure:
                await runtime.ping()
            assert failure.value.reason == "RuntimeUnavailable"
            with pytest.raises(RuntimeFailure):
                await runtime.list_running("any")
        finally:
            await runtime.close()
