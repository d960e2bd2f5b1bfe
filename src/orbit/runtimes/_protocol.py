"""The ``Runtime`` protocol: what the node agent asks of a container backend.

A runtime runs *containers*, not pods: the node agent (``orbit.node``) decides the
order (init containers first), restarts, probes' timing and the pod's status, and hands
the runtime one fully resolved :class:`ContainerLaunch` at a time — env already
expanded (ConfigMap and Secret references read from the store), volumes already
materialised as host directories, host ports already allocated, GPU device ids already
chosen by the scheduler. That keeps every backend small and free of store access, and
lets the same agent drive processes, Docker and the simulator.

Every backend maps its library's errors to :class:`RuntimeFailure` with a Kubernetes
reason (``ErrImagePull``, ``ContainerCannotRun``, ``CreateContainerError``...), which
the agent turns into container status and events; nothing a container does may raise
out of the agent's loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Literal, Protocol, runtime_checkable

import attrs

from orbit.api import Probe, SecurityContext
from orbit.errors import OrbitError

__all__ = [
    "CLUSTER_LABEL",
    "CONTAINER_LABEL",
    "POD_NAME_LABEL",
    "POD_NAMESPACE_LABEL",
    "POD_UID_LABEL",
    "RESTART_COUNT_LABEL",
    "ContainerLaunch",
    "ContainerReport",
    "Mount",
    "NetworkMode",
    "NodeResources",
    "PortBinding",
    "ProbeOutcome",
    "Runtime",
    "RuntimeFailure",
    "Usage",
]

CLUSTER_LABEL = "orbit.dev/cluster"
"""Label every runtime puts on what it starts: the cluster id (for adoption and cleanup)."""
POD_UID_LABEL = "orbit.dev/pod-uid"
POD_NAME_LABEL = "orbit.dev/pod-name"
POD_NAMESPACE_LABEL = "orbit.dev/pod-namespace"
CONTAINER_LABEL = "orbit.dev/container"
RESTART_COUNT_LABEL = "orbit.dev/restart-count"
"""Which attempt of its container an instance is (0 for the first): with several
instances of one container left behind, adoption takes the latest."""

NetworkMode = Literal["host", "bridge"]
ContainerStateName = Literal["waiting", "running", "terminated"]


class RuntimeFailure(OrbitError):
    """A container could not be created, started or pulled.

    ``reason`` is Kubernetes' word for it (``ErrImagePull``, ``ImagePullBackOff`` is the
    agent's, ``ContainerCannotRun``, ``CreateContainerError``, ``RunContainerError``);
    ``message`` the backend's own explanation, kept for the event.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


@attrs.frozen(kw_only=True)
class PortBinding:
    """A declared container port and the host port orbit allocated for it.

    In host networking the container must listen on ``host_port`` (it gets ``PORT`` and
    ``ORBIT_PORT_<NAME>``); in bridge mode the runtime publishes ``host_ip:host_port`` to
    ``container_port``. Either way ``host_ip:host_port`` is where it can be reached.
    """

    name: str = ""
    container_port: int = 0
    host_port: int = 0
    host_ip: str = "127.0.0.1"
    protocol: Literal["TCP", "UDP", "SCTP"] = "TCP"


@attrs.frozen(kw_only=True)
class Mount:
    """A host path (a materialised volume) made visible to the container at ``target``.

    ``volume`` names the pod's volume; ``materialised`` says the directory is one orbit
    wrote on its own machine (emptyDir, configMap, secret) rather than a ``hostPath``:
    an engine on another machine cannot bind-mount it.
    """

    source: str
    target: str
    read_only: bool = False
    volume: str = ""
    materialised: bool = False


@attrs.frozen(kw_only=True)
class ContainerLaunch:
    """Everything a runtime needs to start one container, resolved by the node agent.

    ``argv`` is the container's command followed by its args with ``$(VAR)`` already
    expanded; empty means the image's entrypoint (Docker) — ProcessRuntime refuses it
    with ``ContainerCannotRun``. Resources are plain numbers: ``cpu_request_millis``
    and ``cpu_limit_millis`` (0 = none), ``memory_limit_bytes`` (0 = none).
    ``group_add`` are supplementary group ids for the container's process: the pod's
    ``fsGroup`` then its ``supplementalGroups``, as the kubelet synthesises them.
    """

    pod_uid: str
    pod_name: str
    namespace: str
    name: str
    image: str = ""
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"
    argv: tuple[str, ...] = ()
    working_dir: str = ""
    env: Mapping[str, str] = attrs.field(factory=dict)
    ports: tuple[PortBinding, ...] = ()
    mounts: tuple[Mount, ...] = ()
    cpu_request_millis: int = 0
    cpu_limit_millis: int = 0
    memory_request_bytes: int = 0
    memory_limit_bytes: int = 0
    gpu_ids: tuple[str, ...] = ()
    security: SecurityContext | None = None
    group_add: tuple[int, ...] = ()
    network: NetworkMode = "host"
    init: bool = False
    restart_count: int = 0
    labels: Mapping[str, str] = attrs.field(factory=dict)
    annotations: Mapping[str, str] = attrs.field(factory=dict)
    """The pod's annotations (SimRuntime reads its behaviour model from them)."""
    state_dir: str = ""
    """A directory private to this pod on this node (logs, working directories)."""


@attrs.frozen(kw_only=True)
class ContainerReport:
    """What a runtime knows about one container it started (or found running).

    ``state`` is waiting (created, not started), running or terminated; a terminated
    container has ``exit_code`` and ``reason`` (``Completed`` for 0, ``Error``,
    ``OOMKilled``, ``ContainerCannotRun``) and ``signal`` when a signal ended it.
    Times are the runtime clock's epoch seconds.
    """

    id: str
    name: str
    pod_uid: str
    state: ContainerStateName
    exit_code: int | None = None
    signal: int = 0
    reason: str = ""
    message: str = ""
    started_at: float | None = None
    finished_at: float | None = None
    image: str = ""
    image_id: str = ""
    labels: Mapping[str, str] = attrs.field(factory=dict)
    ports: tuple[PortBinding, ...] = ()


@attrs.frozen(kw_only=True)
class Usage:
    """A container's resource use now: cpu in cores (averaged since the last sample
    or over the runtime's own window) and memory in bytes (working set)."""

    cpu_cores: float
    memory_bytes: int
    at: float


@attrs.frozen(kw_only=True)
class ProbeOutcome:
    """One probe attempt: success, or failure with Kubernetes' kind of message."""

    success: bool
    message: str = ""


@attrs.frozen(kw_only=True)
class NodeResources:
    """What a runtime found on its machine: allocatable resources in Kubernetes'
    quantity strings (``{"cpu": "2", "memory": "24Gi", "nvidia.com/gpu": "1"}``),
    the GPU device ids, and facts for ``status.nodeInfo``-like reporting."""

    capacity: Mapping[str, str]
    gpu_ids: tuple[str, ...] = ()
    info: Mapping[str, str] = attrs.field(factory=dict)


@runtime_checkable
class Runtime(Protocol):
    """A container backend: ProcessRuntime, DockerRuntime, SimRuntime.

    All methods are coroutines; each is safe to call concurrently for different
    containers. ``id`` values are the runtime's own (a Docker container id, a pid-based
    key); they survive only as long as the backend does, except that ``list_running``
    lets a new orbit process adopt containers an earlier one started.
    """

    kind: str
    """``"process"``, ``"docker"`` or ``"sim"``: shown on the node."""

    async def discover(self) -> NodeResources:
        """The machine's resources (cpus, memory, GPUs) as this backend sees them."""
        ...

    async def ping(self) -> None:
        """Raise :class:`RuntimeFailure` if the backend cannot be reached (the Docker
        engine is down, a simulated node has failed); the node agent's heartbeat
        stops while it does, so the node turns NotReady."""
        ...

    async def start(self, launch: ContainerLaunch) -> ContainerReport:
        """Create and start one container; returns its report (running, or already
        terminated if it exited at once). Raises :class:`RuntimeFailure` when it
        cannot be created or started (missing image: ``ErrImagePull``)."""
        ...

    async def wait(self, container_id: str) -> ContainerReport:
        """Block until the container has terminated; its final report."""
        ...

    async def inspect(self, container_id: str) -> ContainerReport:
        """The container's current report (``NotFound`` if the runtime has no such id)."""
        ...

    async def stop(self, container_id: str, grace_s: float) -> ContainerReport:
        """SIGTERM, wait up to ``grace_s``, then SIGKILL; returns the terminated report.
        Stopping a container that already exited is not an error."""
        ...

    async def remove(self, container_id: str) -> None:
        """Forget a terminated container (delete it from the engine, drop its files)."""
        ...

    def logs(
        self, container_id: str, *, tail: int | None = None, follow: bool = False
    ) -> AsyncIterator[str]:
        """The container's output lines (stdout and stderr interleaved), the last
        ``tail`` of them if given; with ``follow`` it keeps yielding until the
        container ends."""
        ...

    async def usage(self, container_id: str) -> Usage:
        """Current cpu and memory use (for the autoscaler and ``top``)."""
        ...

    async def probe(self, container_id: str, probe: Probe, launch: ContainerLaunch) -> ProbeOutcome:
        """Run one liveness / readiness / startup check (exec in the container,
        httpGet or tcpSocket against where its port is reachable), within the
        probe's ``timeout_seconds``. SimRuntime answers from the behaviour model."""
        ...

    async def list_running(self, cluster_id: str) -> Sequence[ContainerReport]:
        """Every container this backend runs for ``cluster_id`` (labels included), for
        adoption by a node agent after orbit restarts: running ones, and where the
        backend still knows them, exited ones not yet removed, terminated with how
        they ended (so a container that finished while no orbit ran is not started
        again against its pod's restart policy)."""
        ...

    async def close(self) -> None:
        """Release the backend's connections (not its containers)."""
        ...
