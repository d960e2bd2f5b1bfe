"""The node agent: orbit's kubelet for one node.

It registers the node (capacity discovered from the runtime unless given), adopts the
containers an earlier orbit process left running for pods still bound here, then runs
one :class:`~orbit.node._worker.PodWorker` per pod bound to the node. Pods arrive
through the cluster's one shared pod watch (:mod:`orbit.node._informer`), not a watch
per node, so a thousand simulated nodes cost one watch. The cluster's heartbeat loop
(:mod:`orbit.node._heartbeat`) renews the node's lease and keeps its Ready condition.

The agent is also where the pod workers reach the runtime: every call is wrapped so a
runtime's failure becomes a status and a log line, never an exception out of the loop.
"""

from __future__ import annotations

import logging
import os
import platform
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path

import anyio
import anyio.abc
import attrs

from orbit.api import (
    PODS,
    ConfigMap,
    NodeAddress,
    NodeCondition,
    NodeSpec,
    NodeStatus,
    NodeSystemInfo,
    ObjectMeta,
    Pod,
    Quantity,
    Secret,
)
from orbit.api import Node as NodeObject
from orbit.clock import Clock, to_datetime
from orbit.errors import Conflict, NotFound
from orbit.runtimes import (
    POD_NAME_LABEL,
    POD_NAMESPACE_LABEL,
    POD_UID_LABEL,
    ContainerLaunch,
    ContainerReport,
    NetworkMode,
    NodeResources,
    Runtime,
    RuntimeFailure,
    Usage,
)
from orbit.store import EventRecorder, Store

from ._backoff import RestartBackoff
from ._config import Node
from ._launch import GPU_DEVICES_ANNOTATION, HOST_IP, NODE_LABEL, build_launch
from ._lifecycle import TERMINAL_PHASES
from ._podports import PodPorts
from ._ports import PortAllocator
from ._record import ContainerRecord
from ._volumes import materialise, plan_volumes
from ._worker import PodWorker

__all__ = ["RUNTIME_LABEL", "NodeAgent"]

RUNTIME_LABEL = "orbit.dev/runtime"
_log = logging.getLogger("orbit.node")
_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
_SYSTEM_INFO_ALIASES = {"os": "operating_system", "machineID": "machine_id"}
_PRESSURE = ("MemoryPressure", "DiskPressure", "PIDPressure")
_PRESSURE_REASONS = {
    "MemoryPressure": "KubeletHasSufficientMemory",
    "DiskPressure": "KubeletHasNoDiskPressure",
    "PIDPressure": "KubeletHasSufficientPID",
}


class _StoreSources:
    """ConfigMaps and Secrets read from the store (for env and volumes)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def config_map(self, namespace: str, name: str) -> ConfigMap | None:
        try:
            return self._store.get(ConfigMap, name, namespace)
        except NotFound:
            return None

    def secret(self, namespace: str, name: str) -> Secret | None:
        try:
            return self._store.get(Secret, name, namespace)
        except NotFound:
            return None


class NodeAgent:
    """Runs the pods bound to one node (see the module docstring).

    Args:
        node: the node's configuration.
        runtime: its runtime (resolved: never ``None``).
        store: the cluster's store.
        clock: the cluster's clock.
        cluster_id: labels everything the runtime starts (adoption, cleanup).
        state_dir: this node's directory (pod directories go below it).
        ports: the host-port allocator (shared by the nodes of one host).
        backoff: the cluster's restart backoff (pods may override it).
    """

    def __init__(
        self,
        node: Node,
        runtime: Runtime,
        *,
        store: Store,
        clock: Clock,
        cluster_id: str,
        state_dir: str,
        ports: PortAllocator,
        backoff: RestartBackoff | None = None,
    ) -> None:
        self.config = node
        self.name = node.name
        self.runtime = runtime
        self.store = store
        self.clock = clock
        self.cluster_id = cluster_id
        self.node_name = node.name
        self.state_dir = state_dir
        self.ports = ports
        self.backoff = backoff or RestartBackoff()
        network = getattr(runtime, "network", "host")
        self.network: NetworkMode = "bridge" if network == "bridge" else "host"
        self.host_ip = HOST_IP
        """Where this node's pods are reached: loopback, or a remote engine's address
        (asked of the runtime's optional ``node_address()`` when registering)."""
        self.node_allocatable: Mapping[str, Quantity] = {}
        self.recorder = EventRecorder(store, clock, component="kubelet", host=node.name)
        self.sources = _StoreSources(store)
        self.workers: dict[str, PodWorker] = {}
        self._pending: dict[str, Pod] = {}
        self._adopted: dict[str, list[ContainerReport]] = {}
        self._group: anyio.abc.TaskGroup | None = None
        self._stopped = anyio.Event()
        self._ready: tuple[str, str, str] | None = None
        self.ready_reported = False
        """Whether this agent last wrote the node's Ready condition as True."""

    # -- registration ------------------------------------------------------------------

    async def register(self) -> NodeObject:
        """Create (or refresh) the node's API object: capacity, labels, taints, GPU
        ids, Ready. Capacity comes from ``runtime.discover()`` unless configured."""
        config = self.config
        self.host_ip = await self._node_address()
        if config.capacity is not None:
            resources = NodeResources(capacity={k: str(v) for k, v in config.capacity.items()})
        else:
            resources = await self.runtime.discover()
        desired = self._node_object(resources)
        self.node_allocatable = desired.status.allocatable
        try:
            live = self.store.get(NodeObject, self.name)
        except NotFound:
            stored: NodeObject = self.store.create(desired)
        else:
            labels = {**live.metadata.labels, **desired.metadata.labels}
            annotations = {**live.metadata.annotations, **desired.metadata.annotations}
            meta = attrs.evolve(live.metadata, labels=labels, annotations=annotations)
            spec = attrs.evolve(live.spec, taints=desired.spec.taints)
            stored = self.store.update(attrs.evolve(live, metadata=meta, spec=spec))
        stored = self.store.update_status(attrs.evolve(stored, status=desired.status))
        self._ready = ("True", "KubeletReady", "kubelet is posting ready status")
        self.ready_reported = True
        return stored

    async def _node_address(self) -> str:
        """The runtime's ``node_address()`` where it has one (a Docker engine, which
        may be remote), else loopback: process and simulated pods are local."""
        address = getattr(self.runtime, "node_address", None)
        if address is None:
            return HOST_IP
        try:
            return str(await address())
        except Exception:
            _log.exception("node %s: no address from the runtime; using %s", self.name, HOST_IP)
            return HOST_IP

    def _node_object(self, resources: NodeResources) -> NodeObject:
        config = self.config
        capacity = {name: Quantity.parse(value) for name, value in resources.capacity.items()}
        capacity.setdefault(PODS, Quantity.parse("110"))
        info = resources.info
        machine = (info.get("architecture") or platform.machine()).lower()
        arch = _ARCH.get(machine, machine or "amd64")  # Go's names, as kubernetes.io/arch has
        system = (info.get("os") or info.get("operating_system") or platform.system()).lower()
        labels = {
            "kubernetes.io/hostname": config.name,
            "kubernetes.io/os": system,
            "kubernetes.io/arch": arch,
            RUNTIME_LABEL: self.runtime.kind,
            **config.labels,
        }
        annotations = {}
        if resources.gpu_ids:
            annotations[GPU_DEVICES_ANNOTATION] = ",".join(resources.gpu_ids)
        now = to_datetime(int(self.clock.now()))
        conditions = [
            NodeCondition(
                type=kind,
                status="False",
                reason=f"KubeletHasNo{kind}"
                if kind != "PIDPressure"
                else "KubeletHasSufficientPID",
                message=f"kubelet has no {kind.lower()}",
                last_heartbeat_time=now,
                last_transition_time=now,
            )
            for kind in _PRESSURE
        ]
        conditions.append(_ready_condition("True", "KubeletReady", _READY_MESSAGE, now))
        return NodeObject(
            metadata=ObjectMeta(name=config.name, labels=labels, annotations=annotations),
            spec=NodeSpec(taints=config.taints),
            status=NodeStatus(
                capacity=capacity,
                allocatable=dict(capacity),
                conditions=tuple(conditions),
                addresses=(
                    NodeAddress(type="InternalIP", address=self.host_ip),
                    NodeAddress(type="Hostname", address=config.name),
                ),
                node_info=_system_info(info, self.runtime.kind, arch, system),
            ),
        )

    def set_ready(self, ok: bool, message: str = "", *, force: bool = False) -> None:
        """Report the node Ready (its runtime answered) or NotReady; written to the
        store only when it changed, or with ``force`` (after the node lifecycle
        controller marked the node Unknown)."""
        wanted = (
            ("True", "KubeletReady", _READY_MESSAGE)
            if ok
            else ("False", "KubeletNotReady", message or "container runtime is down")
        )
        if wanted == self._ready and not force:
            return
        try:
            node = self.store.get(NodeObject, self.name)
        except NotFound:
            return
        now = to_datetime(int(self.clock.now()))
        conditions = []
        for condition in node.status.conditions:
            if condition.type == "Ready":
                continue
            if condition.type in _PRESSURE and condition.status == "Unknown":
                conditions.append(
                    attrs.evolve(
                        condition,
                        status="False",
                        reason=_PRESSURE_REASONS[condition.type],
                        message=f"kubelet has no {condition.type.lower()}",
                        last_heartbeat_time=now,
                        last_transition_time=now,
                    )
                )
            else:
                conditions.append(condition)
        old = node.status.condition("Ready")
        ready = _ready_condition(*wanted, now)
        if old is not None and old.status == wanted[0]:
            ready = attrs.evolve(ready, last_transition_time=old.last_transition_time)
        conditions.append(ready)
        status = attrs.evolve(node.status, conditions=tuple(conditions))
        try:
            self.store.update_status(attrs.evolve(node, status=status))
        except (Conflict, NotFound):
            return
        self._ready = wanted
        self.ready_reported = ok

    # -- the loop --------------------------------------------------------------------------

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Adopt what is running for this node, then run pod workers until cancelled."""
        try:
            await self._adopt()
            async with anyio.create_task_group() as group:
                self._group = group
                pending, self._pending = self._pending, {}
                for pod in pending.values():
                    self.on_pod(pod)
                task_status.started()
                await anyio.sleep_forever()
        finally:
            self._group = None
            self._stopped.set()

    async def _adopt(self) -> None:
        """Take over containers of pods still bound here, running or ended (an ended
        one is judged by its pod's restart policy); stop and remove the others this
        node started: their pods are gone, or finished and they still run."""
        try:
            reports = await self.runtime.list_running(self.cluster_id)
        except Exception:
            _log.exception("node %s: listing running containers failed", self.name)
            return
        mine = [r for r in reports if r.labels.get(NODE_LABEL) == self.name]
        if not mine:
            return
        bound = {
            pod.metadata.uid: pod
            for pod in self.store.list(Pod, field_selector={"spec.nodeName": self.name}).items
        }
        for report in mine:
            pod = bound.get(report.pod_uid or report.labels.get(POD_UID_LABEL, ""))
            finished = pod is not None and pod.status.phase in TERMINAL_PHASES
            if pod is None or (finished and report.state != "terminated"):
                _log.info("node %s: stopping orphaned container %s", self.name, report.id)
                await self.stop_container(report.id, 2.0)
                await self.remove_container(report.id)
                continue
            self._adopted.setdefault(pod.metadata.uid, []).append(report)

    def on_pod(self, pod: Pod) -> None:
        """The latest state of a pod bound to this node (from the shared watch)."""
        uid = pod.metadata.uid
        worker = self.workers.get(uid)
        if worker is not None:
            worker.update(pod)
            return
        if self._group is None:
            self._pending[uid] = pod
            return
        adopted = self._adopted.pop(uid, [])
        if not adopted and not self._still_stored(pod):
            return  # a late event of a pod whose worker already finished
        worker = PodWorker(self, pod, adopted)
        self.workers[uid] = worker
        self._group.start_soon(self._run_worker, worker)

    def on_pod_gone(self, uid: str) -> None:
        """A pod left the store (or this node)."""
        self._pending.pop(uid, None)
        worker = self.workers.get(uid)
        if worker is not None:
            worker.update(None)

    def known(self) -> Iterable[str]:
        """The uids of the pods this agent runs or is about to."""
        return [*self.workers, *self._pending]

    def _still_stored(self, pod: Pod) -> bool:
        meta = pod.metadata
        try:
            current = self.store.get(Pod, meta.name, meta.namespace)
        except NotFound:
            return False
        return current.metadata.uid == meta.uid and current.spec.node_name == self.name

    async def _run_worker(self, worker: PodWorker) -> None:
        try:
            await worker.run()
        finally:
            if self.workers.get(worker.uid) is worker:
                del self.workers[worker.uid]

    # -- runtime calls for the pod workers -------------------------------------------------

    def pod_dir(self, uid: str) -> str:
        return os.path.join(self.state_dir, "pods", uid)

    async def launch_for(
        self, pod: Pod, record: ContainerRecord, ports: PodPorts, *, restarts: int
    ) -> ContainerLaunch:
        """Resolve one container's launch: volumes written, env and ports resolved."""
        pod_dir = self.pod_dir(pod.metadata.uid)
        paths: dict[str, str] = {}
        if pod.spec.volumes:
            plans = plan_volumes(pod.spec.volumes, pod.metadata.namespace, self.sources)
            context = pod.spec.security_context
            fs_group = context.fs_group if context is not None else None
            # small writes; a thread would let a virtual clock jump while they happen
            paths = materialise(plans, pod_dir, fs_group=fs_group)
        return build_launch(
            pod,
            record.spec,
            self.sources,
            self,
            ports=ports.for_container(record.name),
            volume_paths=paths,
            init=record.init,
            restart_count=restarts,
            state_dir=pod_dir,
        )

    def adopted_launch(self, pod: Pod, record: ContainerRecord, ports: PodPorts) -> ContainerLaunch:
        """The launch an adopted container was (as far as can be told) started with:
        what its probes need (ports, env). Volumes are not written again."""
        pod_dir = self.pod_dir(pod.metadata.uid)
        volumes = {
            v.name: v.host_path.path
            if v.host_path is not None
            else str(Path(pod_dir, "volumes", v.name))
            for v in pod.spec.volumes
        }
        try:
            return build_launch(
                pod,
                record.spec,
                self.sources,
                self,
                ports=ports.for_container(record.name),
                volume_paths=volumes,
                init=record.init,
                restart_count=record.restarts,
                state_dir=self.pod_dir(pod.metadata.uid),
            )
        except RuntimeFailure:
            return ContainerLaunch(
                pod_uid=pod.metadata.uid,
                pod_name=pod.metadata.name,
                namespace=pod.metadata.namespace,
                name=record.name,
                ports=ports.for_container(record.name),
                network=self.network,
            )

    async def wait_container(self, container_id: str, name: str, pod_uid: str) -> ContainerReport:
        """The container's final report; a container the runtime lost is reported
        terminated with Kubernetes' ``ContainerStatusUnknown``."""
        try:
            return await self.runtime.wait(container_id)
        except Exception as error:
            _log.warning("node %s: waiting for %s failed: %s", self.name, container_id, error)
        try:
            report = await self.runtime.inspect(container_id)
            if report.state == "terminated":
                return report
        except Exception:
            _log.debug("node %s: inspecting %s failed", self.name, container_id, exc_info=True)
        return ContainerReport(
            id=container_id,
            name=name,
            pod_uid=pod_uid,
            state="terminated",
            exit_code=137,
            reason="ContainerStatusUnknown",
            message="The container could not be located when the pod was terminated",
            finished_at=self.clock.now(),
        )

    async def stop_container(self, container_id: str, grace_s: float) -> ContainerReport | None:
        try:
            return await self.runtime.stop(container_id, max(0.0, grace_s))
        except NotFound:
            return None
        except Exception:
            _log.exception("node %s: stopping %s failed", self.name, container_id)
            return None

    async def remove_container(self, container_id: str) -> None:
        try:
            await self.runtime.remove(container_id)
        except NotFound:
            return
        except Exception:
            _log.exception("node %s: removing %s failed", self.name, container_id)

    # -- reading -------------------------------------------------------------------------

    def container_ids(self, pod_uid: str, container: str) -> tuple[str, str]:
        """(current, previous) runtime ids of a pod's container ("" when none)."""
        worker = self.workers.get(pod_uid)
        record = worker.records.get(container) if worker is not None else None
        if record is None:
            return "", ""
        return record.id, record.last_id

    async def usage(self) -> dict[tuple[str, str], dict[str, Usage]]:
        """Current cpu and memory use of every running container, by pod
        (namespace, name) then container name: for the autoscaler and ``top``. The
        containers are read concurrently (a Docker stats read takes a second or two)."""
        found: dict[tuple[str, str], dict[str, Usage]] = {}

        async def read(key: tuple[str, str], name: str, container_id: str) -> None:
            try:
                found.setdefault(key, {})[name] = await self.runtime.usage(container_id)
            except Exception:
                _log.debug("node %s: usage of %s failed", self.name, container_id, exc_info=True)

        async with anyio.create_task_group() as group:
            for worker in list(self.workers.values()):
                key = (worker.pod.metadata.namespace, worker.pod.metadata.name)
                for record in worker.records.values():
                    if record.running:
                        group.start_soon(read, key, record.name, record.id)
        return found

    # -- shutdown ------------------------------------------------------------------------

    async def shutdown(self, *, stop: bool, grace_cap_s: float | None = None) -> None:
        """Cancel the pod workers; with ``stop``, stop and remove every container this
        node runs (each with its pod's grace, capped at ``grace_cap_s``)."""
        graces: dict[str, float] = {}
        for worker in self.workers.values():
            grace = float(worker.pod.spec.termination_grace_period_seconds)
            for record in worker.records.values():
                for container_id in (record.id, record.last_id):
                    if container_id:
                        graces[container_id] = grace
        group = self._group
        if group is not None:
            group.cancel_scope.cancel()
            await self._stopped.wait()
        if not stop:
            return
        try:
            running = await self.runtime.list_running(self.cluster_id)
        except Exception:
            running = []
        for report in running:
            if report.labels.get(NODE_LABEL) == self.name and report.id not in graces:
                graces[report.id] = self._grace_of(report)
        await self._stop_and_remove(sorted(graces), graces, grace_cap_s)

    def _grace_of(self, report: ContainerReport) -> float:
        """The grace of the pod a container found running belongs to (30 s if gone)."""
        labels = report.labels
        try:
            pod = self.store.get(
                Pod, labels.get(POD_NAME_LABEL, ""), labels.get(POD_NAMESPACE_LABEL, "")
            )
        except NotFound:
            return 30.0
        return float(pod.spec.termination_grace_period_seconds)

    async def _stop_and_remove(
        self, ids: Sequence[str], graces: Mapping[str, float], cap: float | None
    ) -> None:
        async def finish(container_id: str) -> None:
            grace = graces.get(container_id, 30.0)
            if cap is not None:
                grace = min(grace, cap)
            await self.stop_container(container_id, grace)
            await self.remove_container(container_id)

        async with anyio.create_task_group() as group:
            for container_id in ids:
                group.start_soon(finish, container_id)


_READY_MESSAGE = "kubelet is posting ready status"


def _ready_condition(status: str, reason: str, message: str, now: datetime) -> NodeCondition:
    return NodeCondition(
        type="Ready",
        status=status,  # type: ignore[arg-type]
        reason=reason,
        message=message,
        last_heartbeat_time=now,
        last_transition_time=now,
    )


def _system_info(info: Mapping[str, str], kind: str, arch: str, system: str) -> NodeSystemInfo:
    """nodeInfo from the runtime's facts: its keys are Kubernetes' JSON names
    (``kernelVersion``, ``osImage``, ``os``...) or already snake_case; the architecture
    and operating system are the agent's normalised ones (``amd64``, ``linux``)."""
    fields = {field.name for field in attrs.fields(NodeSystemInfo)}
    known: dict[str, str] = {}
    for key, value in info.items():
        name = _SYSTEM_INFO_ALIASES.get(key) or re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()
        if name in fields and value:
            known[name] = value
    known["architecture"] = arch
    known["operating_system"] = system
    known.setdefault("kernel_version", platform.release())
    known.setdefault("container_runtime_version", kind)
    known.setdefault("kubelet_version", "orbit")
    return NodeSystemInfo(**known)
