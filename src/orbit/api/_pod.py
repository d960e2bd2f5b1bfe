"""Pods: the unit orbit schedules and runs, with their volumes and status.

``PodSpec`` carries everything the scheduler and the node agent read; ``PodStatus`` is
written only by the node agent (and the scheduler's PodScheduled condition).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal

import attrs

from ._affinity import Affinity, Toleration, TopologySpreadConstraint
from ._container import Container
from ._meta import EMPTY_MAP, ObjectMeta, TypedObject, register_kind
from ._quantity import Quantity

__all__ = [
    "ConfigMapVolumeSource",
    "ContainerState",
    "ContainerStateRunning",
    "ContainerStateTerminated",
    "ContainerStateWaiting",
    "ContainerStatus",
    "EmptyDirVolumeSource",
    "HostPathVolumeSource",
    "KeyToPath",
    "Pod",
    "PodCondition",
    "PodSecurityContext",
    "PodSpec",
    "PodStatus",
    "PodTemplateSpec",
    "SecretVolumeSource",
    "Volume",
]

RestartPolicy = Literal["Always", "OnFailure", "Never"]
PodPhase = Literal["Pending", "Running", "Succeeded", "Failed", "Unknown"]
ConditionStatus = Literal["True", "False", "Unknown"]


@attrs.frozen(kw_only=True)
class KeyToPath:
    key: str = ""
    path: str = ""
    mode: int | None = None


@attrs.frozen(kw_only=True)
class EmptyDirVolumeSource:
    medium: Literal["", "Memory"] = ""
    size_limit: Quantity | None = None


@attrs.frozen(kw_only=True)
class HostPathVolumeSource:
    path: str = ""
    type: Literal[
        "",
        "DirectoryOrCreate",
        "Directory",
        "FileOrCreate",
        "File",
        "Socket",
        "CharDevice",
        "BlockDevice",
    ] = ""


@attrs.frozen(kw_only=True)
class ConfigMapVolumeSource:
    name: str = ""
    items: tuple[KeyToPath, ...] = ()
    default_mode: int = 0o644
    optional: bool | None = None


@attrs.frozen(kw_only=True)
class SecretVolumeSource:
    secret_name: str = ""
    items: tuple[KeyToPath, ...] = ()
    default_mode: int = 0o644
    optional: bool | None = None


@attrs.frozen(kw_only=True)
class Volume:
    """A named volume; exactly one source must be set."""

    name: str = ""
    empty_dir: EmptyDirVolumeSource | None = None
    host_path: HostPathVolumeSource | None = None
    config_map: ConfigMapVolumeSource | None = None
    secret: SecretVolumeSource | None = None

    __orbit_ignored__ = (
        "persistentVolumeClaim",
        "projected",
        "downwardAPI",
        "csi",
        "ephemeral",
        "nfs",
        "awsElasticBlockStore",
        "gcePersistentDisk",
        "azureDisk",
        "azureFile",
    )

    def sources(self) -> list[str]:
        """The wire names of the sources that are set (valid volumes have one)."""
        pairs = (
            ("emptyDir", self.empty_dir),
            ("hostPath", self.host_path),
            ("configMap", self.config_map),
            ("secret", self.secret),
        )
        return [name for name, value in pairs if value is not None]


@attrs.frozen(kw_only=True)
class PodSecurityContext:
    run_as_user: int | None = None
    run_as_group: int | None = None
    run_as_non_root: bool | None = None
    fs_group: int | None = None
    supplemental_groups: tuple[int, ...] = ()

    __orbit_ignored__ = (
        "seccompProfile",
        "seLinuxOptions",
        "sysctls",
        "fsGroupChangePolicy",
        "windowsOptions",
        "appArmorProfile",
    )


@attrs.frozen(kw_only=True)
class PodSpec:
    """What to run and where it may run."""

    containers: tuple[Container, ...] = ()
    init_containers: tuple[Container, ...] = ()
    volumes: tuple[Volume, ...] = ()
    restart_policy: RestartPolicy = "Always"
    termination_grace_period_seconds: int = 30
    active_deadline_seconds: int | None = None
    node_selector: Mapping[str, str] = EMPTY_MAP
    node_name: str = ""
    affinity: Affinity | None = None
    tolerations: tuple[Toleration, ...] = ()
    topology_spread_constraints: tuple[TopologySpreadConstraint, ...] = ()
    priority: int | None = None
    priority_class_name: str = ""
    preemption_policy: Literal["PreemptLowerPriority", "Never"] = "PreemptLowerPriority"
    scheduler_name: str = "default-scheduler"
    security_context: PodSecurityContext | None = None
    hostname: str = ""
    subdomain: str = ""

    __orbit_ignored__ = (
        "serviceAccountName",
        "serviceAccount",
        "automountServiceAccountToken",
        "imagePullSecrets",
        "dnsPolicy",
        "dnsConfig",
        "enableServiceLinks",
        "hostNetwork",
        "hostPID",
        "hostIPC",
        "hostAliases",
        "shareProcessNamespace",
        "runtimeClassName",
        "overhead",
        "readinessGates",
        "setHostnameAsFQDN",
        "ephemeralContainers",
        "os",
        "schedulingGates",
        "resourceClaims",
    )

    def all_containers(self) -> tuple[Container, ...]:
        """Init containers, then app containers."""
        return self.init_containers + self.containers


@attrs.frozen(kw_only=True)
class PodTemplateSpec:
    """The pod a controller stamps out: labels and annotations plus a PodSpec."""

    metadata: ObjectMeta = ObjectMeta()
    spec: PodSpec = PodSpec()


@attrs.frozen(kw_only=True)
class PodCondition:
    type: str = ""
    status: ConditionStatus = "Unknown"
    reason: str = ""
    message: str = ""
    last_probe_time: datetime | None = None
    last_transition_time: datetime | None = None


@attrs.frozen(kw_only=True)
class ContainerStateWaiting:
    reason: str = ""
    message: str = ""


@attrs.frozen(kw_only=True)
class ContainerStateRunning:
    started_at: datetime | None = None


@attrs.frozen(kw_only=True)
class ContainerStateTerminated:
    exit_code: int = 0
    signal: int = 0
    reason: str = ""
    message: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    container_id: str = ""


@attrs.frozen(kw_only=True)
class ContainerState:
    """At most one of waiting / running / terminated is set."""

    waiting: ContainerStateWaiting | None = None
    running: ContainerStateRunning | None = None
    terminated: ContainerStateTerminated | None = None


@attrs.frozen(kw_only=True)
class ContainerStatus:
    name: str = ""
    ready: bool = False
    started: bool | None = None
    restart_count: int = 0
    state: ContainerState = ContainerState()
    last_state: ContainerState = ContainerState()
    image: str = ""
    image_id: str = ""
    container_id: str = ""


@attrs.frozen(kw_only=True)
class PodStatus:
    phase: PodPhase = "Pending"
    conditions: tuple[PodCondition, ...] = ()
    message: str = ""
    reason: str = ""
    nominated_node_name: str = ""
    host_ip: str = ""
    pod_ip: str = ""
    start_time: datetime | None = None
    init_container_statuses: tuple[ContainerStatus, ...] = ()
    container_statuses: tuple[ContainerStatus, ...] = ()
    qos_class: str = ""

    def condition(self, type_: str) -> PodCondition | None:
        """The condition of that type, if the pod has it."""
        for condition in self.conditions:
            if condition.type == type_:
                return condition
        return None


@register_kind("v1", plural="pods", short_names=("po",))
@attrs.frozen(kw_only=True)
class Pod(TypedObject):
    """A group of containers scheduled together onto one node."""

    metadata: ObjectMeta = ObjectMeta()
    spec: PodSpec = PodSpec()
    status: PodStatus = PodStatus()
