"""``kubectl describe`` text, the parts every describer shares: the writer, labels and
annotations, containers and pod templates, the pod describer and the events table.

Ported from kubectl's ``pkg/describe/describe.go`` (``describePod``,
``DescribePodTemplate``, ``describeContainers``, ``DescribeEvents``...): lines are
written with tab-separated cells at an indent level (two spaces a level), and the
whole text goes through Go's tab-writer rules (padding 2), so each block of
``Key:\\tvalue`` lines lines up on its own. Times are RFC 1123 in UTC. Pure: ``now``
is passed in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from orbit.api import Container, ContainerState, ContainerStatus, Event, Pod, PodTemplateSpec, Probe

from ._format import human_duration, tabwrite
from ._rows_cluster import event_times

__all__ = [
    "Writer",
    "describe_containers",
    "describe_events",
    "describe_pod",
    "describe_pod_template",
    "rfc1123",
]


_SKIPPED_ANNOTATIONS = frozenset(
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        "orbit.dev/last-applied-configuration",
    }
)


class Writer:
    """kubectl's ``PrefixWriter``: lines at indent levels, rendered with tab-writer
    alignment at the end."""

    def __init__(self) -> None:
        self._lines: list[str] = []

    def line(self, level: int, text: str) -> None:
        """One line (``text`` without its newline; cells separated by tabs)."""
        self._lines.append("  " * level + text)

    def labels(self, title: str, labels: Mapping[str, str], *, indent: str = "") -> None:
        """kubectl's ``printLabelsMultiline``: ``key=value`` a line, sorted."""
        if not labels:
            self._lines.append(f"{indent}{title}:\t<none>")
            return
        for index, key in enumerate(sorted(labels)):
            head = f"{indent}{title}:" if index == 0 else indent
            self._lines.append(f"{head}\t{key}={labels[key]}")

    def annotations(self, title: str, annotations: Mapping[str, str], *, indent: str = "") -> None:
        """kubectl's ``printAnnotationsMultiline``: ``key: value`` a line, sorted,
        without the last-applied configuration (kubectl skips its own, and orbit's)."""
        annotations = {k: v for k, v in annotations.items() if k not in _SKIPPED_ANNOTATIONS}
        if not annotations:
            self._lines.append(f"{indent}{title}:\t<none>")
            return
        for index, key in enumerate(sorted(annotations)):
            head = f"{indent}{title}:" if index == 0 else indent
            value = " ".join(annotations[key].split("\n")).strip()
            self._lines.append(f"{head}\t{key}: {value}")

    def render(self) -> str:
        """The text, aligned."""
        return tabwrite("".join(f"{line}\n" for line in self._lines), padding=2)


def rfc1123(when: datetime | None) -> str:
    """Go's ``time.RFC1123Z`` (``Mon, 02 Jan 2006 15:04:05 +0000``), in UTC."""
    if when is None:
        return "<unknown>"
    return when.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S %z")


def _describe_probe(probe: Probe) -> str:
    """kubectl's ``DescribeProbe``."""
    attrs_ = (
        f"delay={probe.initial_delay_seconds}s timeout={probe.timeout_seconds}s "
        f"period={probe.period_seconds}s #success={probe.success_threshold} "
        f"#failure={probe.failure_threshold}"
    )
    if probe.exec is not None:
        return f"exec [{' '.join(probe.exec.command)}] {attrs_}"
    if probe.http_get is not None:
        get = probe.http_get
        return f"http-get {get.scheme.lower()}://{get.host}:{get.port}{get.path} {attrs_}"
    if probe.tcp_socket is not None:
        return f"tcp-socket {probe.tcp_socket.host}:{probe.tcp_socket.port} {attrs_}"
    if probe.grpc is not None:
        return f"grpc <pod>:{probe.grpc.port} {probe.grpc.service or ''} {attrs_}"
    return f"unknown {attrs_}"


def _describe_state(w: Writer, title: str, state: ContainerState) -> None:
    """kubectl's ``describeStatus``."""
    if state.running is not None:
        w.line(2, f"{title}:\tRunning")
        w.line(3, f"Started:\t{rfc1123(state.running.started_at)}")
    elif state.terminated is not None:
        done = state.terminated
        w.line(2, f"{title}:\tTerminated")
        if done.reason:
            w.line(3, f"Reason:\t{done.reason}")
        if done.message:
            w.line(3, f"Message:\t{done.message}")
        w.line(3, f"Exit Code:\t{done.exit_code}")
        if done.signal > 0:
            w.line(3, f"Signal:\t{done.signal}")
        w.line(3, f"Started:\t{rfc1123(done.started_at)}")
        w.line(3, f"Finished:\t{rfc1123(done.finished_at)}")
    else:
        w.line(2, f"{title}:\tWaiting")
        if state.waiting is not None and state.waiting.reason:
            w.line(3, f"Reason:\t{state.waiting.reason}")


def _ports(container: Container, w: Writer) -> None:
    ports = ", ".join(f"{p.container_port}/{p.protocol}" for p in container.ports)
    hosts = ", ".join(f"{p.host_port}/{p.protocol}" for p in container.ports)
    w.line(2, f"{'Ports' if ',' in ports else 'Port'}:\t{ports or '<none>'}")
    w.line(2, f"{'Host Ports' if ',' in hosts else 'Host Port'}:\t{hosts or '<none>'}")


def _environment(container: Container, w: Writer) -> None:
    if container.env_from:
        w.line(2, "Environment Variables from:")
        for origin in container.env_from:
            ref = origin.config_map_ref or origin.secret_ref
            what = "ConfigMap" if origin.config_map_ref is not None else "Secret"
            optional = bool(ref.optional) if ref is not None else False
            prefix = f" with prefix '{origin.prefix}'" if origin.prefix else ""
            name = ref.name if ref is not None else ""
            w.line(3, f"{name}\t{what}{prefix}\tOptional: {str(optional).lower()}")
    w.line(2, "Environment:" if container.env else "Environment:\t<none>")
    for env in container.env:
        source = env.value_from
        if source is None:
            first, *rest = env.value.split("\n")
            w.line(3, f"{env.name}:\t{first}")
            for more in rest:
                w.line(3, f"\t{more}")
        elif source.config_map_key_ref is not None:
            key = source.config_map_key_ref
            w.line(
                3,
                f"{env.name}:\t<set to the key '{key.key}' of config map '{key.name}'>"
                f"\tOptional: {str(bool(key.optional)).lower()}",
            )
        elif source.secret_key_ref is not None:
            secret = source.secret_key_ref
            w.line(
                3,
                f"{env.name}:\t<set to the key '{secret.key}' in secret '{secret.name}'>"
                f"\tOptional: {str(bool(secret.optional)).lower()}",
            )
        elif source.field_ref is not None:
            field = source.field_ref
            w.line(3, f"{env.name}:\t ({field.api_version}:{field.field_path})")
        elif source.resource_field_ref is not None:
            w.line(3, f"{env.name}:\t ({source.resource_field_ref.resource})")


def _limits_and_probes(w: Writer, container: Container) -> None:
    """kubectl's ``describeResources`` and ``describeContainerProbe``."""
    for heading, amounts in (
        ("Limits", container.resources.limits),
        ("Requests", container.resources.requests),
    ):
        if amounts:
            w.line(2, f"{heading}:")
            for name in sorted(amounts):
                w.line(3, f"{name}:\t{amounts[name]}")
    for heading, probe in (
        ("Liveness", container.liveness_probe),
        ("Readiness", container.readiness_probe),
        ("Startup", container.startup_probe),
    ):
        if probe is not None:
            w.line(2, f"{heading}:\t{_describe_probe(probe)}")


def _command(w: Writer, container: Container) -> None:
    """kubectl's ``describeContainerCommand``: a line per word."""
    for heading, words in (("Command", container.command), ("Args", container.args)):
        if words:
            w.line(2, f"{heading}:")
            for word in words:
                for piece in word.split("\n"):
                    w.line(3, piece)


def _mounts(w: Writer, container: Container) -> None:
    """kubectl's ``describeContainerVolumes``: ``/path from volume (rw)``."""
    w.line(2, "Mounts:" if container.volume_mounts else "Mounts:\t<none>")
    for mount in sorted(container.volume_mounts, key=lambda m: m.mount_path):
        flags = ["ro" if mount.read_only else "rw"]
        if mount.sub_path:
            flags.append(f'path="{mount.sub_path}"')
        w.line(3, f"{mount.mount_path} from {mount.name} ({','.join(flags)})")


def describe_containers(
    w: Writer,
    title: str,
    containers: Sequence[Container],
    statuses: Sequence[ContainerStatus] = (),
    *,
    indent: str = "",
) -> None:
    """kubectl's ``describeContainers``: each container's image, ports, command,
    state, resources, probes, environment and mounts."""
    by_name = {status.name: status for status in statuses}
    w.line(0, f"{indent}{title}:" + ("" if containers else " <none>"))
    for container in containers:
        status = by_name.get(container.name)
        w.line(1, f"{' ' if indent else ''}{container.name}:")
        if status is not None:
            w.line(2, f"Container ID:\t{status.container_id}")
        w.line(2, f"Image:\t{container.image}")
        if status is not None:
            w.line(2, f"Image ID:\t{status.image_id}")
        _ports(container, w)
        _command(w, container)
        if status is not None:
            _describe_state(w, "State", status.state)
            if status.last_state.terminated is not None:
                _describe_state(w, "Last State", status.last_state)
            w.line(2, f"Ready:\t{'True' if status.ready else 'False'}")
            w.line(2, f"Restart Count:\t{status.restart_count}")
        _limits_and_probes(w, container)
        _environment(container, w)
        _mounts(w, container)


def _volumes(w: Writer, spec: Any, *, indent: str = "") -> None:
    """kubectl's ``describeVolumes`` for the volume types orbit runs."""
    if not spec.volumes:
        w.line(0, f"{indent}Volumes:\t<none>")
        return
    w.line(0, f"{indent}Volumes:")
    for volume in spec.volumes:
        w.line(1, f"{volume.name}:")
        if volume.empty_dir is not None:
            limit = volume.empty_dir.size_limit
            w.line(2, "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)")
            w.line(2, f"Medium:\t{volume.empty_dir.medium}")
            w.line(2, f"SizeLimit:\t{limit if limit is not None else '<unset>'}")
        elif volume.host_path is not None:
            w.line(2, "Type:\tHostPath (bare host directory volume)")
            w.line(2, f"Path:\t{volume.host_path.path}")
            w.line(2, f"HostPathType:\t{volume.host_path.type}")
        elif volume.config_map is not None:
            w.line(2, "Type:\tConfigMap (a volume populated by a ConfigMap)")
            w.line(2, f"Name:\t{volume.config_map.name}")
            w.line(2, f"Optional:\t{str(bool(volume.config_map.optional)).lower()}")
        elif volume.secret is not None:
            w.line(2, "Type:\tSecret (a volume populated by a Secret)")
            w.line(2, f"SecretName:\t{volume.secret.secret_name}")
            w.line(2, f"Optional:\t{str(bool(volume.secret.optional)).lower()}")


def _tolerations(w: Writer, title: str, tolerations: Sequence[Any]) -> None:
    """kubectl's ``printTolerationsMultiline``: ``key=value:effect op=Exists for Ns``."""
    if not tolerations:
        w.line(0, f"{title}:\t<none>")
        return
    for index, toleration in enumerate(tolerations):
        text = toleration.key
        if toleration.value:
            text += f"={toleration.value}"
        if toleration.effect:
            text += f":{toleration.effect}"
        if toleration.operator == "Exists" and not toleration.value:
            text += " op=Exists" if toleration.key else "op=Exists"
        if toleration.toleration_seconds is not None:
            text += f" for {toleration.toleration_seconds}s"
        w.line(0, f"{title + ':' if index == 0 else ''}\t{text}")


def describe_pod_template(w: Writer, template: PodTemplateSpec) -> None:
    """kubectl's ``DescribePodTemplate``."""
    w.line(0, "Pod Template:")
    w.labels("Labels", template.metadata.labels, indent="  ")
    if template.metadata.annotations:
        w.annotations("Annotations", template.metadata.annotations, indent="  ")
    spec = template.spec
    if spec.init_containers:
        describe_containers(w, "Init Containers", spec.init_containers, indent="  ")
    describe_containers(w, "Containers", spec.containers, indent="  ")
    _volumes(w, spec, indent="  ")
    if spec.priority_class_name:
        w.line(1, f"Priority Class Name:\t{spec.priority_class_name}")
    w.labels("Node-Selectors", spec.node_selector, indent="  ")
    _tolerations(w, "  Tolerations", spec.tolerations)


def describe_events(w: Writer, events: Sequence[Event], now: float) -> None:
    """kubectl's ``DescribeEvents``: Type Reason Age From Message, by last seen;
    ``3m (x4 over 10m)`` for a repeated event."""
    if not events:
        w.line(0, "Events:\t<none>")
        return
    w.line(0, "Events:")
    w.line(1, "Type\tReason\tAge\tFrom\tMessage")
    w.line(1, "----\t------\t----\t----\t-------")
    ordered = sorted(
        events, key=lambda e: e.last_timestamp or e.event_time or datetime.min.replace(tzinfo=UTC)
    )
    for event in ordered:
        last, first, count = event_times(event, now)
        age = f"{last} (x{count} over {first})" if count > 1 else first
        source = event.source.component or event.reporting_component
        w.line(1, f"{event.type}\t{event.reason}\t{age}\t{source}\t{event.message.strip()}")


def _pod_identity(w: Writer, pod: Pod, now: float) -> None:
    """The head of ``describe pod``: name to ``Controlled By``."""
    meta, spec, status = pod.metadata, pod.spec, pod.status
    w.line(0, f"Name:\t{meta.name}")
    w.line(0, f"Namespace:\t{meta.namespace}")
    w.line(0, f"Priority:\t{spec.priority or 0}")
    if spec.priority_class_name:
        w.line(0, f"Priority Class Name:\t{spec.priority_class_name}")
    node = spec.node_name
    if node and status.host_ip:
        node = f"{node}/{status.host_ip}"
    w.line(0, f"Node:\t{node or '<none>'}")
    if status.start_time is not None:
        w.line(0, f"Start Time:\t{rfc1123(status.start_time)}")
    w.labels("Labels", meta.labels)
    w.annotations("Annotations", meta.annotations)
    if meta.deletion_timestamp is not None:
        left = human_duration(meta.deletion_timestamp.timestamp() - now)
        w.line(0, f"Status:\tTerminating (lasts {left})")
        w.line(0, f"Termination Grace Period:\t{meta.deletion_grace_period_seconds or 0}s")
    else:
        w.line(0, f"Status:\t{status.phase}")
    if status.reason:
        w.line(0, f"Reason:\t{status.reason}")
    if status.message:
        w.line(0, f"Message:\t{status.message.strip()}")
    w.line(0, f"IP:\t{status.pod_ip}")
    if status.pod_ip:
        w.line(0, "IPs:")
        w.line(1, f"IP:\t{status.pod_ip}")
    else:
        w.line(0, "IPs:\t<none>")
    owner = meta.controller_ref()
    if owner is not None:
        w.line(0, f"Controlled By:\t{owner.kind}/{owner.name}")
    if status.nominated_node_name:
        w.line(0, f"NominatedNodeName:\t{status.nominated_node_name}")


def describe_pod(pod: Pod, events: Sequence[Event], now: float) -> str:
    """``kubectl describe pod``."""
    w = Writer()
    spec, status = pod.spec, pod.status
    _pod_identity(w, pod, now)
    if spec.init_containers:
        describe_containers(
            w, "Init Containers", spec.init_containers, status.init_container_statuses
        )
    describe_containers(w, "Containers", spec.containers, status.container_statuses)
    if status.conditions:
        w.line(0, "Conditions:")
        w.line(1, "Type\tStatus")
        for condition in status.conditions:
            w.line(1, f"{condition.type} \t{condition.status}")
    _volumes(w, spec)
    w.line(0, f"QoS Class:\t{status.qos_class}")
    w.labels("Node-Selectors", spec.node_selector)
    _tolerations(w, "Tolerations", spec.tolerations)
    describe_events(w, events, now)
    return w.render()
