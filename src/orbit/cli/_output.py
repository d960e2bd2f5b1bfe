"""The other things ``orbit`` prints, as pure functions: ``-o json|yaml|name``,
``top pods|nodes``, ``rollout history`` and the kubectl words for "nothing here".
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from orbit.api import KindInfo, resolve_kind

from ._format import kubectl_table, resource_name, tabwrite

__all__ = [
    "as_list",
    "no_resources",
    "render_history",
    "render_json",
    "render_names",
    "render_top_nodes",
    "render_top_pods",
    "render_yaml",
]

_MI = 1024 * 1024


def as_list(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Several objects as ``kubectl get -o json`` wraps them: a ``v1`` ``List``."""
    return {
        "apiVersion": "v1",
        "items": list(items),
        "kind": "List",
        "metadata": {"resourceVersion": ""},
    }


def render_json(value: Any) -> str:
    """``-o json``: 4-space indented, in the object's own field order (kubectl prints
    Go structs in declaration order: apiVersion, kind, metadata, spec, status)."""
    return json.dumps(value, indent=4, ensure_ascii=False) + "\n"


class _Dumper(yaml.SafeDumper):
    """YAML as kubectl writes it: strings that need quoting get double quotes
    (``revision: "1"``), where PyYAML would use single ones."""

    def choose_scalar_style(self) -> str:
        """Double quotes where PyYAML picks single ones."""
        style = str(super().choose_scalar_style())
        return '"' if style == "'" else style


def render_yaml(value: Any) -> str:
    """``-o yaml``: block style, keys sorted (kubectl's YAML goes through a map)."""
    return yaml.dump(
        value, Dumper=_Dumper, default_flow_style=False, sort_keys=True, allow_unicode=True
    )


def render_names(objects: Sequence[Mapping[str, Any]], info: KindInfo | None = None) -> str:
    """``-o name``: ``deployment.apps/web``, one a line."""
    lines = []
    for obj in objects:
        kind = resolve_kind(obj["kind"]) if "kind" in obj else info
        if kind is None:
            raise ValueError("an object without a kind")
        lines.append(resource_name(kind, obj["metadata"]["name"]) + "\n")
    return "".join(lines)


def no_resources(namespace: str | None) -> str:
    """kubectl's line when a list is empty (stderr): ``No resources found in default
    namespace.``, or ``No resources found`` across namespaces and for cluster-scoped
    kinds."""
    return f"No resources found in {namespace} namespace." if namespace else "No resources found"


def render_top_pods(rows: Sequence[Mapping[str, Any]], *, all_namespaces: bool) -> str:
    """``kubectl top pods``: NAME CPU(cores) MEMORY(bytes) (``12m``, ``45Mi``),
    NAMESPACE first with ``-A``."""
    header = ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    table = []
    for row in rows:
        cells = [str(row["pod"]), f"{row['cpu_millis']}m", f"{row['memory_bytes'] // _MI}Mi"]
        table.append([str(row["namespace"]), *cells] if all_namespaces else cells)
    return kubectl_table(["NAMESPACE", *header] if all_namespaces else header, table)


def _percent(value: Any) -> str:
    return "<unknown>" if value is None else f"{int(value)}%"


def render_top_nodes(rows: Sequence[Mapping[str, Any]]) -> str:
    """``kubectl top nodes``: NAME CPU(cores) CPU% MEMORY(bytes) MEMORY%; a
    percentage is ``<unknown>`` for a node that declares no allocatable amount."""
    header = ["NAME", "CPU(cores)", "CPU%", "MEMORY(bytes)", "MEMORY%"]
    table = [
        [
            str(row["node"]),
            f"{row['cpu_millis']}m",
            _percent(row.get("cpu_percent")),
            f"{row['memory_bytes'] // _MI}Mi",
            _percent(row.get("memory_percent")),
        ]
        for row in rows
    ]
    return kubectl_table(header, table)


def render_history(info: KindInfo, name: str, revisions: Sequence[Mapping[str, Any]]) -> str:
    """``kubectl rollout history``: the object, then REVISION CHANGE-CAUSE (its own
    tab writer: padding 2), then a blank line."""
    lines = ["REVISION\tCHANGE-CAUSE\n"]
    for revision in revisions:
        cause = revision.get("change_cause") or revision.get("changeCause") or "<none>"
        lines.append(f"{revision['revision']}\t{cause}\n")
    return f"{resource_name(info, name)}\n{tabwrite(''.join(lines), padding=2)}\n"
