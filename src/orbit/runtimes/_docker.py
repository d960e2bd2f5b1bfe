"""DockerRuntime: containers on a real Docker engine, through aiodocker.

The only module in orbit that imports aiodocker (an import-linter contract keeps it
so). It sends what :mod:`._docker_config` builds, reads answers with
:mod:`._docker_state`, and translates the library's errors at the boundary
(httpcore's ``map_exceptions`` habit): an unknown container id is
:class:`orbit.errors.NotFound`, an engine that cannot be reached is
``RuntimeFailure("RuntimeUnavailable")``, a failed pull ``ErrImagePull``; nothing else
of aiodocker or aiohttp escapes.

One engine can back several logical nodes: every container carries the cluster id
and its pod's uid as labels, so :meth:`DockerRuntime.list_running` finds what a
cluster started (for adoption after orbit restarts) and the agent tells its pods
apart by uid. The engine may be local (``DOCKER_HOST`` or the usual socket) or remote
(``tcp://host:2376`` with an ``ssl.SSLContext``). A remote engine's containers are
reached at its host (:meth:`DockerRuntime.node_address`: pods' hostIP and podIP, where
probes and ``orbit.dev/ports`` point), and containers that mount a directory orbit
writes on its own machine are refused with ``CreateContainerConfigError``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import math
import os
import socket
import ssl
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import aiodocker
import aiohttp
import anyio
import attrs
from aiodocker.containers import DockerContainer

from orbit.api import Probe
from orbit.clock import Clock, RealClock
from orbit.errors import NotFound

from ._docker_config import (
    container_config,
    container_name,
    engine_base,
    engine_host,
    is_remote_engine,
    remote_mount_problem,
    run_as_root_problem,
)
from ._docker_state import (
    cpu_cores,
    gpu_driver,
    node_resources,
    report_from_inspect,
    working_set_bytes,
)
from ._gpus import discover_gpus
from ._probing import network_probe
from ._protocol import (
    CLUSTER_LABEL,
    ContainerLaunch,
    ContainerReport,
    NetworkMode,
    NodeResources,
    ProbeOutcome,
    RuntimeFailure,
    Usage,
)

__all__ = ["DockerRuntime"]

UNAVAILABLE = "RuntimeUnavailable"
_REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=120, sock_connect=10)
"""Short calls (create, inspect, start) give up after two minutes; long ones (wait,
logs, stats, stop, pull) are unbounded here and bounded by their callers."""


@contextlib.contextmanager
def _engine_errors(reason: str, container_id: str = "") -> Iterator[None]:
    """Translate aiodocker / aiohttp failures into orbit's errors.

    404 for a container operation is ``NotFound``; a connection failure (aiodocker's
    status 900) or a transport error is ``RuntimeFailure("RuntimeUnavailable")``;
    anything else ``RuntimeFailure(reason)`` with the engine's message.
    """
    try:
        yield
    except aiodocker.DockerError as error:
        if error.status == 404 and container_id:
            raise NotFound("container", container_id) from error
        if error.status == 900:
            raise RuntimeFailure(UNAVAILABLE, error.message) from error
        raise RuntimeFailure(reason, error.message) from error
    except (aiohttp.ClientError, OSError) as error:
        raise RuntimeFailure(UNAVAILABLE, f"Docker engine: {error}") from error


def _env_tls() -> ssl.SSLContext | None:
    """The docker CLI's convention: ``DOCKER_TLS_VERIFY=1`` with certificates in
    ``DOCKER_CERT_PATH`` (``ca.pem``, ``cert.pem``, ``key.pem``)."""
    if os.environ.get("DOCKER_TLS_VERIFY", "") in {"", "0"}:
        return None
    certs = Path(os.environ.get("DOCKER_CERT_PATH") or Path.home() / ".docker")
    context = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    context.load_cert_chain(str(certs / "cert.pem"), str(certs / "key.pem"))
    return context


async def _resolve(host: str) -> str:
    """``host`` as an IP address: itself when it is one, else its first address."""
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_address(host))
    for family in (socket.AF_INET, socket.AF_UNSPEC):  # IPv4 first, as curl and Go do
        with contextlib.suppress(OSError):
            found = await anyio.getaddrinfo(host, None, family=family, type=socket.SOCK_STREAM)
            if found:
                return str(found[0][4][0])
    return host


class DockerRuntime:
    """Run containers on a Docker engine.

    Args:
        url: the engine's address; None means ``DOCKER_HOST`` or the local socket
            (``unix:///var/run/docker.sock``); ``tcp://host:2376`` for a remote one.
        tls: client TLS for a ``tcp://`` engine (else ``DOCKER_TLS_VERIFY`` /
            ``DOCKER_CERT_PATH`` as the docker CLI reads them).
        network: ``"host"``: containers share the host's network and listen on the
            port orbit allocated (``PORT``); ``"bridge"``: each container gets its own
            network namespace on ``bridge_network`` (created when missing) and its
            declared ports are published on ``127.0.0.1``. This node-level mode
            decides; ``ContainerLaunch.network`` is not consulted.
        clock: stamps usage samples (the real clock by default).
        bridge_network: the user-defined bridge network used in bridge mode.
        pull_timeout_s: a pull that takes longer fails with ``ErrImagePull``.
        address: where this engine's containers are reached from orbit (an IP or a
            name, resolved once); ``None``: the ``tcp://`` URL's host, or ``127.0.0.1``
            for a unix socket.
        remote: whether the engine runs on another machine; ``None`` infers it from
            the URL (a ``tcp://`` host that is not loopback). A remote engine's GPUs
            are not counted, bridge ports are published on all its addresses and
            containers mounting orbit-written volumes are refused.
    """

    kind = "docker"

    def __init__(
        self,
        url: str | None = None,
        *,
        tls: ssl.SSLContext | None = None,
        network: NetworkMode = "host",
        clock: Clock | None = None,
        bridge_network: str = "orbit",
        pull_timeout_s: float = 600.0,
        address: str | None = None,
        remote: bool | None = None,
    ) -> None:
        self._tls = tls if tls is not None else _env_tls()
        self._endpoint = engine_base(url, os.environ, tls=self._tls is not None)
        self.remote = is_remote_engine(self._endpoint) if remote is None else remote
        self._address_wanted = address or engine_host(self._endpoint) or "127.0.0.1"
        self._address: str | None = None
        self._gpu_driver: str | None = None
        self.url = url
        self.network: NetworkMode = network
        self.bridge_network = bridge_network
        self._clock: Clock = clock or RealClock()
        self._pull_timeout_s = pull_timeout_s
        self._docker: aiodocker.Docker | None = None
        self._bridge_ready = False
        self._addresses: dict[str, str] = {}  # bridge mode: container id -> its address
        self._bridge_lock = anyio.Lock()

    def __repr__(self) -> str:
        return f"DockerRuntime({self._endpoint[1]!r}, network={self.network!r})"

    def _engine(self) -> aiodocker.Docker:
        """The client, made on first use (aiohttp wants a running loop).

        The connector has no connection limit: every running container holds one
        connection open in :meth:`wait` and another while its logs are followed.
        """
        if self._docker is None:
            kind, address = self._endpoint
            connector: aiohttp.BaseConnector
            if kind == "unix":
                connector = aiohttp.UnixConnector(path=address, limit=0)
                base = "http://localhost"
            else:
                connector = aiohttp.TCPConnector(ssl=self._tls or False, limit=0)
                base = address
            self._docker = aiodocker.Docker(url=base, connector=connector, timeout=_REQUEST_TIMEOUT)
        return self._docker

    def _container(self, container_id: str) -> DockerContainer:
        return self._engine().containers.container(container_id)

    async def close(self) -> None:
        """Close the connections to the engine; containers keep running."""
        docker, self._docker = self._docker, None
        if docker is not None:
            connector = docker.connector
            await docker.close()
            await connector.close()

    async def ping(self) -> None:
        """``RuntimeFailure("RuntimeUnavailable")`` unless the engine answers."""
        with _engine_errors(UNAVAILABLE):
            await self._engine().version()

    async def node_address(self) -> str:
        """Where this engine's containers are reached: ``address``, else the URL's
        host, as an IP address (a name is resolved once; if it cannot be, the name)."""
        if self._address is None:
            self._address = await _resolve(self._address_wanted)
        return self._address

    async def discover(self) -> NodeResources:
        """The engine's cpus and memory (``docker info``) and, for an engine on this
        machine that can hand GPUs out (the nvidia runtime, or CDI), the machine's
        NVIDIA GPUs (NVML, else nvidia-smi) with their indices as device ids."""
        with _engine_errors(UNAVAILABLE):
            info = await self._engine().system.info()
        self._gpu_driver = gpu_driver(info)
        if not self._gpu_driver:
            return node_resources(info)
        if self.remote:
            return node_resources(info, gpu_discovery="not counted: a remote engine")
        inventory = await discover_gpus()
        ids = tuple(str(index) for index, _ in inventory.gpus)
        return node_resources(info, ids, inventory.source)

    async def _gpus_by(self) -> str:
        """How the engine hands out GPUs (asked once): ``nvidia`` unless it has CDI only."""
        if self._gpu_driver is None:
            with _engine_errors(UNAVAILABLE):
                self._gpu_driver = gpu_driver(await self._engine().system.info())
        return self._gpu_driver

    async def inspect(self, container_id: str) -> ContainerReport:
        """The container's report; ``NotFound`` when the engine has no such id."""
        with _engine_errors("InspectContainerError", container_id):
            data = await self._container(container_id).show()
        return report_from_inspect(data)

    async def start(self, launch: ContainerLaunch) -> ContainerReport:
        """Pull as the policy says, create, start; the container's first report.

        A start the engine refuses (no such executable, a bad mount) removes the
        created container and raises ``RuntimeFailure("ContainerCannotRun")``.
        """
        if self.remote:
            problem = remote_mount_problem(launch, self._endpoint[1])
            if problem:
                raise RuntimeFailure("CreateContainerConfigError", problem)
        image = await self._ensure_image(launch)
        problem = run_as_root_problem(
            launch.security, str((image.get("Config") or {}).get("User") or "")
        )
        if problem:
            raise RuntimeFailure("CreateContainerConfigError", problem)
        if self.network == "bridge":
            await self._ensure_bridge()
        by = await self._gpus_by() if launch.gpu_ids else "nvidia"
        config = container_config(
            launch,
            network=self.network,
            bridge_network=self.bridge_network,
            gpu_driver="cdi" if by == "cdi" else "nvidia",
            publish_ip="" if self.remote else None,
        )
        container = await self._create(config, container_name(launch))
        try:
            with _engine_errors("ContainerCannotRun"):
                await container.start()
        except RuntimeFailure:
            with contextlib.suppress(RuntimeFailure, NotFound):
                await self.remove(container.id)
            raise
        return await self.inspect(container.id)

    async def _create(self, config: dict[str, Any], name: str) -> DockerContainer:
        """Create, replacing a leftover container of the same name and cluster (an
        earlier attempt interrupted between create and start), as the kubelet's
        dockershim did. A same-named container of another cluster is left alone."""
        containers = self._engine().containers
        try:
            with _engine_errors("CreateContainerError"):
                return await containers.create(config, name=name)
        except RuntimeFailure as failure:
            if "is already in use" not in failure.message:
                raise
            leftover = await self.inspect(name)
            cluster = config["Labels"].get(CLUSTER_LABEL)
            if leftover.labels.get(CLUSTER_LABEL) != cluster:
                raise
        await self.remove(leftover.id)
        with _engine_errors("CreateContainerError"):
            return await containers.create(config, name=name)

    async def has_image(self, image: str) -> bool:
        """Whether the engine holds ``image`` now (no pull): for up-front checks
        (``orbit up`` reports missing images before their pods fail to start)."""
        return await self._image(image) is not None

    async def _image(self, image: str) -> dict[str, Any] | None:
        try:
            with _engine_errors("ErrImageInspect"):
                return await self._engine().images.inspect(image)
        except RuntimeFailure as failure:
            if "No such image" in failure.message:
                return None
            raise

    async def _ensure_image(self, launch: ContainerLaunch) -> dict[str, Any]:
        """The image's inspect answer, pulled first as ``imagePullPolicy`` says:
        Never uses only what is there, IfNotPresent pulls what is missing, Always
        pulls every time (and so fails with no registry, as on Kubernetes)."""
        image, policy = launch.image, launch.image_pull_policy
        if not image:
            raise RuntimeFailure("InvalidImageName", "the container names no image")
        if policy != "Always":
            found = await self._image(image)
            if found is not None:
                return found
            if policy == "Never":
                message = f'Container image "{image}" is not present with pull policy of Never'
                raise RuntimeFailure("ErrImageNeverPull", message)
        await self._pull(image)
        found = await self._image(image)
        if found is None:
            raise RuntimeFailure("ErrImagePull", f'image "{image}" is absent after its pull')
        return found

    async def _pull(self, image: str) -> None:
        try:
            with anyio.fail_after(self._pull_timeout_s), _engine_errors("ErrImagePull"):
                await self._engine().images.pull(image)
        except TimeoutError as error:
            message = f'Failed to pull image "{image}": no answer in {self._pull_timeout_s:g} s'
            raise RuntimeFailure("ErrImagePull", message) from error
        except RuntimeFailure as failure:
            if failure.reason == UNAVAILABLE:
                raise
            message = f'Failed to pull image "{image}": {failure.message}'
            raise RuntimeFailure("ErrImagePull", message) from failure

    async def _ensure_bridge(self) -> None:
        """Create the bridge network on first use (``dockerd --bridge=none`` has none)."""
        async with self._bridge_lock:
            if self._bridge_ready:
                return
            networks = self._engine().networks
            try:
                with _engine_errors("CreateContainerError"):
                    await networks.get(self.bridge_network)
            except RuntimeFailure as failure:
                if "not found" not in failure.message:
                    raise
                config = {"Name": self.bridge_network, "Driver": "bridge", "CheckDuplicate": True}
                with _engine_errors("CreateContainerError"):
                    await networks.create(config)
            self._bridge_ready = True

    async def wait(self, container_id: str) -> ContainerReport:
        """Block until the container is not running; its final report."""
        with _engine_errors("WaitContainerError", container_id):
            await self._container(container_id).wait()
        return await self.inspect(container_id)

    async def stop(self, container_id: str, grace_s: float) -> ContainerReport:
        """The engine's stop: SIGTERM, ``grace_s`` (rounded up to whole seconds, the
        engine's unit), then SIGKILL. An unhandled SIGTERM reports exit 143, the kill
        137, as on Kubernetes; a container that already exited is left as it is."""
        grace = max(0, math.ceil(grace_s))
        with _engine_errors("KillContainerError", container_id):
            await self._container(container_id).stop(t=grace)
        report = await self.inspect(container_id)
        if report.state == "running":  # the engine answered before the exit was recorded
            report = await self.wait(container_id)
        return report

    async def remove(self, container_id: str) -> None:
        """Force-remove the container (and its anonymous volumes); gone already is fine."""
        self._addresses.pop(container_id, None)
        try:
            with _engine_errors("RemoveContainerError", container_id):
                await self._container(container_id).delete(force=True, v=True)
        except NotFound:
            return
        except RuntimeFailure as failure:
            if "already in progress" not in failure.message:
                raise

    async def logs(
        self, container_id: str, *, tail: int | None = None, follow: bool = False
    ) -> AsyncIterator[str]:
        """The container's output lines (stdout and stderr interleaved, as the engine
        stored them), the last ``tail`` of them if given; with ``follow`` until the
        container ends."""
        container = self._container(container_id)
        lines_wanted = "all" if tail is None else str(max(0, tail))
        if not follow:
            with _engine_errors("LogsError", container_id):
                chunks = await container.log(stdout=True, stderr=True, tail=lines_wanted)
            for line in "".join(chunks).splitlines():
                yield line
            return
        pending = ""
        with _engine_errors("LogsError", container_id):
            async for chunk in container.log(
                stdout=True, stderr=True, follow=True, tail=lines_wanted
            ):
                pending += chunk
                *lines, pending = pending.split("\n")
                for line in lines:
                    yield line.removesuffix("\r")
        if pending:
            yield pending

    async def usage(self, container_id: str) -> Usage:
        """Cpu cores over the engine's last sampling interval (about a second, which
        this call waits for) and the working-set memory."""
        with _engine_errors("StatsError", container_id):
            samples = await self._container(container_id).stats(stream=False)
        sample = samples[0] if samples else {}
        return Usage(
            cpu_cores=cpu_cores(sample),
            memory_bytes=working_set_bytes(sample),
            at=self._clock.now(),
        )

    async def probe(self, container_id: str, probe: Probe, launch: ContainerLaunch) -> ProbeOutcome:
        """exec in the container through the engine; httpGet / tcpSocket over the
        network, as the kubelet does: in host mode at the engine's address
        (``127.0.0.1`` for a local one) and the allocated host port, in bridge mode at
        the container's own address and declared port (the engine's port proxy
        accepts connections even when nothing listens behind it, so a published port
        proves nothing), or for a remote engine, whose bridge is out of reach, at the
        published port on its address."""
        if probe.exec is not None:
            return await self._exec_probe(container_id, probe.exec.command, probe.timeout_seconds)
        host = await self.node_address()
        if self.network == "bridge" and not self.remote:
            host = await self._bridge_address(container_id)
            if not host:
                return ProbeOutcome(success=False, message="container has no network address")
            direct = tuple(attrs.evolve(p, host_port=p.container_port) for p in launch.ports)
            launch = attrs.evolve(launch, ports=direct)
        outcome = await network_probe(probe, launch, host)
        if outcome is None:
            handlers = ", ".join(probe.handlers()) or "none"
            return ProbeOutcome(success=False, message=f"unsupported probe handler: {handlers}")
        return outcome

    async def _bridge_address(self, container_id: str) -> str:
        """The container's address on the bridge network ("" when it has none)."""
        address = self._addresses.get(container_id)
        if address is None:
            with _engine_errors("ProbeError", container_id):
                data = await self._container(container_id).show()
            networks = (data.get("NetworkSettings") or {}).get("Networks") or {}
            address = str((networks.get(self.bridge_network) or {}).get("IPAddress") or "")
            if address and (data.get("State") or {}).get("Running"):
                self._addresses[container_id] = address
        return address

    async def _exec_probe(
        self, container_id: str, command: Sequence[str], timeout_s: float
    ) -> ProbeOutcome:
        """Run ``command`` in the container; success is exit status 0. The output
        becomes the failure message, as the kubelet reports it."""
        container = self._container(container_id)
        output = bytearray()
        try:
            with anyio.fail_after(max(1.0, timeout_s)):  # Kubernetes: 1 s at least
                with _engine_errors("ProbeError", container_id):
                    execution = await container.exec(list(command), stdout=True, stderr=True)
                    async with execution.start(detach=False) as stream:
                        while (message := await stream.read_out()) is not None:
                            output += message.data
                    result = await execution.inspect()
        except TimeoutError:
            return ProbeOutcome(
                success=False, message=f"command {list(command)} timed out after {timeout_s:g}s"
            )
        except RuntimeFailure as failure:
            if failure.reason == UNAVAILABLE:
                raise
            return ProbeOutcome(success=False, message=failure.message)
        code = result.get("ExitCode")
        if code == 0:
            return ProbeOutcome(success=True)
        text = output.decode(errors="replace").strip()
        return ProbeOutcome(
            success=False, message=text or f"command {list(command)} exited with {code}"
        )

    async def list_running(self, cluster_id: str) -> Sequence[ContainerReport]:
        """Every container labelled with ``cluster_id``, running or exited (an exited
        one may be a finished Job's), so an agent adopting them after a restart sees
        how each ended. Containers of every logical node on this engine are listed;
        the agent keeps those of its own pods (by pod uid)."""
        with _engine_errors(UNAVAILABLE):
            found = await self._engine().containers.list(
                all=True, filters={"label": [f"{CLUSTER_LABEL}={cluster_id}"]}
            )
        reports: list[ContainerReport] = []
        for container in found:
            with contextlib.suppress(NotFound):  # removed between list and inspect
                reports.append(await self.inspect(container.id))
        return reports
