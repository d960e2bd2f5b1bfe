"""``kubectl get`` tables for orbit's objects, as pure functions of the JSON the
control socket answers with.

Each object arrives as a Kubernetes-shaped dict (``orbit.dump`` form: defaulted fields
left out). :func:`decode` turns it back into orbit's typed object, so every printer
reads real fields with their defaults filled in; the rows are kubectl's, cell for cell
(:mod:`orbit.cli._rows_workloads`, :mod:`orbit.cli._rows_cluster`), and
:func:`render_table` lays them out as kubectl's tab writer does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from orbit.api import KindInfo, decode_object, kind_info

from ._format import kubectl_table, resource_name
from ._rows_cluster import (
    created_at_row,
    endpoints_cell,
    event_row,
    hpa_row,
    node_row,
    pdb_row,
    quota_row,
    service_row,
)
from ._rows_workloads import (
    age_cell,
    cronjob_row,
    deployment_row,
    job_row,
    pod_row,
    replicaset_row,
)

__all__ = ["Columns", "columns_for", "decode", "render_table"]

Row = Callable[[Any, float, bool], list[str]]


@attrs.frozen
class Columns:
    """One kind's table: its header, the extra ``-o wide`` columns, its row maker."""

    header: tuple[str, ...]
    wide: tuple[str, ...]
    row: Row


def decode(data: Mapping[str, Any], info: KindInfo | None = None) -> Any:
    """The typed object a manifest dict describes (defaults filled in). ``info`` names
    the kind when the dict carries no ``apiVersion``/``kind``."""
    body = dict(data)
    if info is not None:
        body.setdefault("apiVersion", info.api_version)
        body.setdefault("kind", info.kind)
    obj, _issues, _warnings = decode_object(body)
    if obj is None:
        raise ValueError(f"cannot read a {body.get('kind') or 'object'} from the answer")
    return obj


_TEMPLATE_WIDE = ("CONTAINERS", "IMAGES", "SELECTOR")
_TABLES: dict[str, Columns] = {
    "Pod": Columns(
        ("NAME", "READY", "STATUS", "RESTARTS", "AGE"),
        ("IP", "NODE", "NOMINATED NODE", "READINESS GATES"),
        pod_row,
    ),
    "Deployment": Columns(
        ("NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"), _TEMPLATE_WIDE, deployment_row
    ),
    "ReplicaSet": Columns(
        ("NAME", "DESIRED", "CURRENT", "READY", "AGE"), _TEMPLATE_WIDE, replicaset_row
    ),
    "Job": Columns(("NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"), _TEMPLATE_WIDE, job_row),
    "CronJob": Columns(
        ("NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"),
        _TEMPLATE_WIDE,
        cronjob_row,
    ),
    "Service": Columns(
        ("NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"), ("SELECTOR",), service_row
    ),
    "HorizontalPodAutoscaler": Columns(
        ("NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"), (), hpa_row
    ),
    "Node": Columns(
        ("NAME", "STATUS", "ROLES", "AGE", "VERSION"),
        ("INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"),
        node_row,
    ),
    "Event": Columns(("LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"), (), event_row),
    "Namespace": Columns(
        ("NAME", "STATUS", "AGE"),
        (),
        lambda ns, now, wide: [ns.metadata.name, ns.status.phase, age_cell(ns, now)],
    ),
    "ConfigMap": Columns(
        ("NAME", "DATA", "AGE"),
        (),
        lambda cm, now, wide: [
            cm.metadata.name,
            str(len(cm.data) + len(cm.binary_data)),
            age_cell(cm, now),
        ],
    ),
    "Secret": Columns(
        ("NAME", "TYPE", "DATA", "AGE"),
        (),
        lambda s, now, wide: [s.metadata.name, s.type, str(len(s.data)), age_cell(s, now)],
    ),
    "Endpoints": Columns(
        ("NAME", "ENDPOINTS", "AGE"),
        (),
        lambda ep, now, wide: [ep.metadata.name, endpoints_cell(ep), age_cell(ep, now)],
    ),
    "PodDisruptionBudget": Columns(
        ("NAME", "MIN AVAILABLE", "MAX UNAVAILABLE", "ALLOWED DISRUPTIONS", "AGE"), (), pdb_row
    ),
    "ResourceQuota": Columns(("NAME", "REQUEST", "LIMIT", "AGE"), (), quota_row),
    "LimitRange": Columns(("NAME", "CREATED AT"), (), created_at_row),
}
_EVENT_WIDE = ("SUBOBJECT", "SOURCE", "MESSAGE", "FIRST SEEN", "COUNT", "NAME")


def columns_for(info: KindInfo) -> Columns:
    """The table of a kind (``NAME AGE`` for a kind without its own printer)."""
    found = _TABLES.get(info.kind)
    if found is not None:
        return found
    return Columns(("NAME", "AGE"), (), _name_age_row)


def _name_age_row(obj: Any, now: float, wide: bool) -> list[str]:
    return [obj.metadata.name, age_cell(obj, now)]


def _header(info: KindInfo, wide: bool) -> list[str]:
    columns = columns_for(info)
    if wide and info.kind == "Event":  # wide events move MESSAGE after SOURCE
        return [*columns.header[:4], *_EVENT_WIDE]
    return [*columns.header, *(columns.wide if wide else ())]


def render_table(
    objects: Sequence[Mapping[str, Any]],
    info: KindInfo,
    *,
    now: float,
    wide: bool = False,
    all_namespaces: bool = False,
    with_kind: bool = False,
) -> str:
    """``kubectl get`` output for ``objects`` (dicts) of one kind: NAMESPACE first with
    ``all_namespaces`` (namespaced kinds only), NAME as ``kind.group/name`` with
    ``with_kind`` (several kinds in one get), ``-o wide`` columns with ``wide``."""
    columns = columns_for(info)
    namespaced = all_namespaces and info.namespaced
    header = (["NAMESPACE"] if namespaced else []) + _header(info, wide)
    rows = []
    for data in objects:
        obj = decode(data, info)
        cells = columns.row(obj, now, wide)
        if with_kind and header[int(namespaced)] == "NAME":
            cells[0] = resource_name(kind_info(obj), cells[0])
        rows.append(([obj.metadata.namespace] if namespaced else []) + cells)
    return kubectl_table(header, rows)
