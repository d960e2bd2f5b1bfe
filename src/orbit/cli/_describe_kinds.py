"""``kubectl describe`` for Nodes and HorizontalPodAutoscalers, and the generic
describer every other kind gets (kubectl's ``GenericDescriber``: the fields as
``Field Name:`` lines). Ported from kubectl's ``pkg/describe/describe.go``. Pure.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from typing import Any

from orbit.api import (
    ConfigMap,
    Event,
    HorizontalPodAutoscaler,
    MetricSpec,
    MetricStatus,
    MetricTarget,
    MetricValueStatus,
    Node,
    Pod,
    Quantity,
    Secret,
)

from ._describe_pod import Writer, describe_events, rfc1123
from ._format import since
from ._rows_cluster import node_roles

__all__ = [
    "describe_config",
    "describe_generic",
    "describe_hpa",
    "describe_node",
    "pod_requests_and_limits",
]

_ZERO = Quantity("0")


# -- HorizontalPodAutoscaler -------------------------------------------------------------


def _value(value: Any) -> str:
    return "<unknown>" if value is None else str(value)


def _resource_line(
    name: str, owner: str, target: MetricTarget, current: MetricValueStatus | None
) -> tuple[str, str]:
    """A Resource or ContainerResource metric: ``45% (45m) / 60%`` of request, or an
    average value."""
    if target.average_value is not None:
        now = current.average_value if current is not None else None
        return f"resource {name}{owner} on pods", f"{_value(now)} / {target.average_value}"
    shown = "<unknown>"
    if current is not None and current.average_utilization is not None:
        shown = f"{current.average_utilization}% ({_value(current.average_value)})"
    util = target.average_utilization
    goal = f"{util}%" if util is not None else "<auto>"
    return f"resource {name}{owner} on pods  (as a percentage of request)", f"{shown} / {goal}"


def _metric_line(spec: MetricSpec, status: MetricStatus | None) -> tuple[str, str]:
    """(label, ``current / target``) of one metric, kubectl's wording."""
    if spec.type == "Resource" and spec.resource is not None:
        reported = status.resource if status is not None else None
        current = reported.current if reported is not None else None
        return _resource_line(spec.resource.name, "", spec.resource.target, current)
    if spec.type == "ContainerResource" and spec.container_resource is not None:
        source = spec.container_resource
        found = status.container_resource if status is not None else None
        current = found.current if found is not None else None
        owner = f' of container "{source.container}"'
        return _resource_line(source.name, owner, source.target, current)
    if spec.type == "Pods" and spec.pods is not None:
        current = status.pods.current if status is not None and status.pods is not None else None
        now = current.average_value if current is not None else None
        return (
            f'"{spec.pods.metric.name}" on pods',
            f"{_value(now)} / {spec.pods.target.average_value}",
        )
    if spec.type == "Object" and spec.object is not None:
        source_o = spec.object
        current = (
            status.object.current if status is not None and status.object is not None else None
        )
        where = f"{source_o.described_object.kind}/{source_o.described_object.name}"
        if source_o.target.average_value is not None:
            now = current.average_value if current is not None else None
            label = f'"{source_o.metric.name}" on {where} (target average value)'
            return label, f"{_value(now)} / {source_o.target.average_value}"
        now = current.value if current is not None else None
        return f'"{source_o.metric.name}" on {where}', f"{_value(now)} / {source_o.target.value}"
    if spec.type == "External" and spec.external is not None:
        source_e = spec.external
        current = (
            status.external.current if status is not None and status.external is not None else None
        )
        if source_e.target.average_value is not None:
            now = current.average_value if current is not None else None
            label = f'"{source_e.metric.name}" (target average value)'
            return label, f"{_value(now)} / {source_e.target.average_value}"
        now = current.value if current is not None else None
        return (
            f'"{source_e.metric.name}" (target value)',
            f"{_value(now)} / {source_e.target.value}",
        )
    return "<unknown metric type>", ""


def describe_hpa(hpa: HorizontalPodAutoscaler, events: Sequence[Event], now: float) -> str:
    """``kubectl describe hpa``."""
    w = Writer()
    meta, spec, status = hpa.metadata, hpa.spec, hpa.status
    w.line(0, f"Name:\t{meta.name}")
    w.line(0, f"Namespace:\t{meta.namespace}")
    w.labels("Labels", meta.labels)
    w.annotations("Annotations", meta.annotations)
    w.line(0, f"CreationTimestamp:\t{rfc1123(meta.creation_timestamp)}")
    ref = spec.scale_target_ref
    w.line(0, f"Reference:\t{ref.kind}/{ref.name}")
    w.line(0, "Metrics:\t( current / target )")
    currents = status.current_metrics
    for index, metric in enumerate(spec.metrics):
        label, values = _metric_line(metric, currents[index] if index < len(currents) else None)
        w.line(1, f"{label}:\t{values}")
    w.line(0, f"Min replicas:\t{spec.min_replicas}")
    w.line(0, f"Max replicas:\t{spec.max_replicas}")
    w.line(
        0,
        f"{ref.kind} pods:\t{status.current_replicas} current / {status.desired_replicas} desired",
    )
    if status.conditions:
        w.line(0, "Conditions:")
        w.line(1, "Type\tStatus\tReason\tMessage")
        w.line(1, "----\t------\t------\t-------")
        for condition in status.conditions:
            w.line(
                1, f"{condition.type}\t{condition.status}\t{condition.reason}\t{condition.message}"
            )
    describe_events(w, events, now)
    return w.render()


# -- Node --------------------------------------------------------------------------------


def pod_requests_and_limits(pod: Pod) -> tuple[dict[str, Quantity], dict[str, Quantity]]:
    """kubectl's ``PodRequestsAndLimits``: the containers' sum, or an init
    container's amount where that is larger."""
    totals: tuple[dict[str, Quantity], dict[str, Quantity]] = ({}, {})
    for container in pod.spec.containers:
        for total, amounts in zip(
            totals, (container.resources.requests, container.resources.limits), strict=True
        ):
            for name, amount in amounts.items():
                total[name] = total.get(name, _ZERO) + amount
    for container in pod.spec.init_containers:
        for total, amounts in zip(
            totals, (container.resources.requests, container.resources.limits), strict=True
        ):
            for name, amount in amounts.items():
                total[name] = max(total.get(name, _ZERO), amount)
    return totals


def _fraction(amount: Quantity, allocatable: Quantity | None, cpu: bool) -> str:
    """``100m (5%)``: an amount and its share of the node's allocatable."""
    whole = 0
    if allocatable is not None and not allocatable.is_zero():
        if cpu:
            whole = int(amount.milli_value() / allocatable.milli_value() * 100)
        else:
            whole = int(amount.int_value() / allocatable.int_value() * 100)
    return f"{amount} ({whole}%)"


def _node_pods(w: Writer, node: Node, pods: Sequence[Pod], now: float) -> None:
    """kubectl's ``describeNodeResource``: the pods on the node that have not
    finished, their requests and limits, and the node's totals."""
    running = [p for p in pods if p.status.phase not in ("Succeeded", "Failed")]
    allocatable = node.status.allocatable
    w.line(0, f"Non-terminated Pods:\t({len(running)} in total)")
    w.line(1, "Namespace\tName\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge")
    w.line(1, "---------\t----\t------------\t----------\t---------------\t-------------\t---")
    sums: tuple[dict[str, Quantity], dict[str, Quantity]] = ({}, {})
    for pod in running:
        requests, limits = pod_requests_and_limits(pod)
        for total, amounts in zip(sums, (requests, limits), strict=True):
            for name, amount in amounts.items():
                total[name] = total.get(name, _ZERO) + amount
        cells = [
            _fraction(requests.get("cpu", _ZERO), allocatable.get("cpu"), True),
            _fraction(limits.get("cpu", _ZERO), allocatable.get("cpu"), True),
            _fraction(requests.get("memory", _ZERO), allocatable.get("memory"), False),
            _fraction(limits.get("memory", _ZERO), allocatable.get("memory"), False),
        ]
        age = since(pod.metadata.creation_timestamp, now)
        w.line(
            1, f"{pod.metadata.namespace}\t{pod.metadata.name}\t" + "\t".join(cells) + f"\t{age}"
        )
    w.line(0, "Allocated resources:")
    w.line(1, "(Total limits may be over 100 percent, i.e., overcommitted.)")
    w.line(1, "Resource\tRequests\tLimits")
    w.line(1, "--------\t--------\t------")
    for name in ("cpu", "memory"):
        request = _fraction(sums[0].get(name, _ZERO), allocatable.get(name), name == "cpu")
        limit = _fraction(sums[1].get(name, _ZERO), allocatable.get(name), name == "cpu")
        w.line(1, f"{name}\t{request}\t{limit}")


def describe_node(node: Node, events: Sequence[Event], now: float, pods: Sequence[Pod]) -> str:
    """``kubectl describe node``."""
    w = Writer()
    meta, spec, status = node.metadata, node.spec, node.status
    w.line(0, f"Name:\t{meta.name}")
    w.line(0, f"Roles:\t{node_roles(node)}")
    w.labels("Labels", meta.labels)
    w.annotations("Annotations", meta.annotations)
    w.line(0, f"CreationTimestamp:\t{rfc1123(meta.creation_timestamp)}")
    if not spec.taints:
        w.line(0, "Taints:\t<none>")
    for index, taint in enumerate(spec.taints):
        value = f"={taint.value}" if taint.value else ""
        w.line(0, f"{'Taints:' if index == 0 else ''}\t{taint.key}{value}:{taint.effect}")
    w.line(0, f"Unschedulable:\t{str(spec.unschedulable).lower()}")
    if status.conditions:
        w.line(0, "Conditions:")
        w.line(1, "Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage")
        w.line(1, "----\t------\t-----------------\t------------------\t------\t-------")
        for c in status.conditions:
            w.line(
                1,
                f"{c.type} \t{c.status} \t{rfc1123(c.last_heartbeat_time)} \t"
                f"{rfc1123(c.last_transition_time)} \t{c.reason} \t{c.message}",
            )
    if status.addresses:
        w.line(0, "Addresses:")
        for address in status.addresses:
            w.line(1, f"{address.type}:\t{address.address}")
    for title, amounts in (("Capacity", status.capacity), ("Allocatable", status.allocatable)):
        if amounts:
            w.line(0, f"{title}:")
            for name in sorted(amounts):
                w.line(1, f"{name}:\t{amounts[name]}")
    info = status.node_info
    w.line(0, "System Info:")
    for label, value in (
        ("Machine ID", info.machine_id),
        ("System UUID", info.system_uuid),
        ("Boot ID", info.boot_id),
        ("Kernel Version", info.kernel_version),
        ("OS Image", info.os_image),
        ("Operating System", info.operating_system),
        ("Architecture", info.architecture),
        ("Container Runtime Version", info.container_runtime_version),
        ("Kubelet Version", info.kubelet_version),
    ):
        w.line(1, f"{label}:\t{value}")
    _node_pods(w, node, pods, now)
    describe_events(w, events, now)
    return w.render()


# -- ConfigMaps and Secrets --------------------------------------------------------------


def _size(encoded: str) -> int:
    """The size of a base64 value (of the text itself if it is not base64)."""
    try:
        return len(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError):
        return len(encoded.encode())


def describe_config(obj: ConfigMap | Secret, events: Sequence[Event], now: float) -> str:
    """``kubectl describe configmap`` (each value under its key) and ``describe
    secret`` (sizes only: a describe never prints a secret's values)."""
    w = Writer()
    meta = obj.metadata
    w.line(0, f"Name:\t{meta.name}")
    w.line(0, f"Namespace:\t{meta.namespace}")
    w.labels("Labels", meta.labels)
    w.annotations("Annotations", meta.annotations)
    if isinstance(obj, Secret):
        w.line(0, "")
        w.line(0, f"Type:\t{obj.type}")
        w.line(0, "")
        w.line(0, "Data")
        w.line(0, "====")
        for key in sorted(obj.data):
            w.line(0, f"{key}:\t{_size(obj.data[key])} bytes")
    else:
        w.line(0, "")
        w.line(0, "Data")
        w.line(0, "====")
        for key in sorted(obj.data):
            w.line(0, f"{key}:")
            w.line(0, "----")
            w.line(0, obj.data[key])
            w.line(0, "")
        w.line(0, "")
        w.line(0, "BinaryData")
        w.line(0, "====")
        for key in sorted(obj.binary_data):
            w.line(0, f"{key}: {_size(obj.binary_data[key])} bytes")
    w.line(0, "")
    describe_events(w, events, now)
    return w.render()


# -- everything else ---------------------------------------------------------------------


def _label(field: str) -> str:
    """kubectl's ``smartLabelFor``: ``minAvailable`` -> ``Min Available``."""
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", field).split()
    return " ".join(word[:1].upper() + word[1:] for word in words)


def _content(w: Writer, level: int, value: Any) -> None:
    """kubectl's ``printUnstructuredContent``: maps as ``Field:`` lines, nested
    maps and lists indented below their field."""
    if isinstance(value, Mapping):
        for key in sorted(value):
            item = value[key]
            if isinstance(item, Mapping | list) and item:
                w.line(level, f"{_label(str(key))}:")
                _content(w, level + 1, item)
            else:
                w.line(level, f"{_label(str(key))}:\t{_scalar(item)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, Mapping):
                _content(w, level, item)
            else:
                w.line(level, _scalar(item))


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if value is None or value in ({}, []):
        return ""
    return str(value)


def describe_generic(data: Mapping[str, Any], obj: Any, events: Sequence[Event], now: float) -> str:
    """Any other kind: name, namespace, labels, annotations, then every other field."""
    w = Writer()
    meta = obj.metadata
    w.line(0, f"Name:\t{meta.name}")
    if meta.namespace:
        w.line(0, f"Namespace:\t{meta.namespace}")
    w.labels("Labels", meta.labels)
    w.annotations("Annotations", meta.annotations)
    w.line(0, f"API Version:\t{data.get('apiVersion', '')}")
    w.line(0, f"Kind:\t{data.get('kind', '')}")
    rest = {k: v for k, v in data.items() if k not in ("apiVersion", "kind", "metadata")}
    _content(w, 0, rest)
    describe_events(w, events, now)
    return w.render()
