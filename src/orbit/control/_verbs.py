"""The control API's verbs: for each, the body fields it takes and what it does.

A verb is a table entry (:data:`VERBS`): its fields with their JSON types and defaults
(``REQUIRED`` for none), and a handler that calls the cluster through
:class:`~orbit.control.ControlTarget` and returns a JSON value. Bodies are checked
strictly (an unknown field or a wrong type is a ``BadRequest`` naming it), so a CLI
typo fails loudly rather than being ignored. Objects go out as ``orbit.dump`` renders
them: Kubernetes-shaped camelCase dicts with ``apiVersion`` and ``kind``, without
defaulted fields (``orbit.api.decode_object`` turns one back into the typed object).
``logs`` with ``follow`` returns a :class:`LineStream` the server sends chunked.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Final

import attrs

from orbit.api import Node, Pod, dump, kind_info, resolve_kind

from ._errors import ControlError
from ._target import ControlTarget
from ._top import node_rows, pod_rows

__all__ = ["REQUIRED", "Env", "LineStream", "Verb", "VERBS", "check_body"]


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Final = _Required()
"""The default of a field the body must carry."""


@attrs.frozen
class Env:
    """What a verb runs against: the cluster, and the server's own facts for ``info``."""

    target: ControlTarget
    server: Mapping[str, Any]


@attrs.frozen
class LineStream:
    """A streamed answer (follow-logs, watch): lines to send as they come."""

    lines: AsyncIterator[str]


Args = dict[str, Any]
Handler = Callable[[Env, Args], Awaitable[Any]]


@attrs.frozen
class Verb:
    """One verb: ``fields`` maps a body field to (JSON type, default or REQUIRED)."""

    fields: Mapping[str, tuple[str, Any]]
    run: Handler


_TYPES: Final[Mapping[str, Callable[[Any], bool]]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}


def check_body(verb: str, fields: Mapping[str, tuple[str, Any]], body: Any) -> Args:
    """The verb's arguments from a request body: every field, defaults filled in;
    ``BadRequest`` for a body that is not an object, an unknown or missing field, or
    a value of the wrong JSON type (``null`` is allowed where the default is null)."""
    if not isinstance(body, dict):
        raise ControlError("BadRequest", f"the body of {verb} must be a JSON object")
    unknown = sorted(set(body) - set(fields))
    if unknown:
        known = ", ".join(fields) or "none"
        raise ControlError("BadRequest", f"{verb}: unknown field {unknown[0]!r} (fields: {known})")
    args: Args = {}
    for name, (kind, default) in fields.items():
        if name not in body:
            if default is REQUIRED:
                raise ControlError("BadRequest", f"{verb}: field {name!r} is required")
            args[name] = default
            continue
        value = body[name]
        if not (value is None and default is None) and not _TYPES[kind](value):
            raise ControlError("BadRequest", f"{verb}: field {name!r} must be a JSON {kind}")
        args[name] = value
    return args


def _namespace(args: Args) -> str | None:
    return None if args.get("all_namespaces") else args["namespace"]


# -- reading -------------------------------------------------------------------------


async def _get(env: Env, a: Args) -> Any:
    info = resolve_kind(a["kind"])
    if a["name"] is not None:
        if a["all_namespaces"]:
            message = "a resource cannot be retrieved by name across all namespaces"
            raise ControlError("BadRequest", message)
        if a["selector"] is not None:
            raise ControlError("BadRequest", "name cannot be provided when a selector is given")
        return dump(await env.target.get(info.kind, a["name"], a["namespace"]))
    items = await env.target.list(info.kind, _namespace(a), a["selector"])
    return {"apiVersion": "v1", "kind": "List", "items": [dump(obj) for obj in items]}


async def _watch(env: Env, a: Args) -> Any:
    """``kubectl get -w``: every matching object first (ADDED, as a watch from
    resourceVersion 0 sends them), then each change, as JSON lines
    ``{"type": "MODIFIED", "object": {...}}`` until the client goes away."""
    info = resolve_kind(a["kind"])
    namespace = _namespace(a) if info.namespaced else None
    watch = env.target.watch(info.kind, namespace, a["selector"], resource_version="0")

    async def lines() -> AsyncIterator[str]:
        async with watch as events:
            async for event in events:
                yield json.dumps({"type": event.type, "object": dump(event.object)})

    return LineStream(lines())


async def _events(env: Env, a: Args) -> Any:
    events = await env.target.events(_namespace(a))
    involved = a["involved"]
    if involved is not None:
        # ``kubectl events --for kind/name``: by the involved object's kind and name.
        kind, name = involved.get("kind"), involved.get("name")
        if not isinstance(kind, str) or not isinstance(name, str):
            raise ControlError("BadRequest", "events: involved needs a kind and a name")
        wanted = resolve_kind(kind).kind
        events = [
            e for e in events if e.involved_object.kind == wanted and e.involved_object.name == name
        ]
    return [dump(e) for e in events]


async def _logs(env: Env, a: Args) -> Any:
    pod, container, namespace = a["pod"], a["container"], a["namespace"]
    if a["follow"]:
        lines = await env.target.logs(
            pod,
            container,
            namespace=namespace,
            follow=True,
            tail=a["tail"],
            previous=a["previous"],
        )
        return LineStream(lines)
    found = await env.target.logs(
        pod, container, namespace=namespace, tail=a["tail"], previous=a["previous"]
    )
    return {"lines": found}


async def _top_pods(env: Env, a: Args) -> Any:
    return pod_rows(await env.target.pod_usage(), _namespace(a))


async def _top_nodes(env: Env, a: Args) -> Any:
    store = env.target.store
    usage = await env.target.pod_usage()
    pods = store.list(Pod).items
    where = {(p.metadata.namespace, p.metadata.name): p.spec.node_name for p in pods}
    return node_rows(store.list(Node).items, where, usage)


async def _info(env: Env, a: Args) -> Any:
    agents = env.target.agents
    nodes = sorted(n.metadata.name for n in env.target.store.list(Node).items)
    return {
        "cluster_id": env.target.cluster_id,
        "nodes": nodes,
        "runtimes": sorted({agent.runtime.kind for agent in agents.values()}),
        **env.server,
        "pid": os.getpid(),
        "version": _version(),
    }


def _version() -> str:
    try:
        return importlib.metadata.version("orbit")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


async def _service_url(env: Env, a: Args) -> Any:
    return await env.target.service_url(
        a["name"], a["port_name"], namespace=a["namespace"], timeout_s=a["timeout_s"]
    )


# -- changing ------------------------------------------------------------------------


async def _apply(env: Env, a: Args) -> Any:
    documents = a["documents"]
    if not documents:
        raise ControlError("BadRequest", "no objects passed to apply")
    if not all(isinstance(d, dict) for d in documents):
        raise ControlError("BadRequest", "apply: every document must be a JSON object")
    results = await env.target.apply(documents)
    return [
        {
            "apiVersion": kind_info(r.object).api_version,
            "kind": r.kind,
            "name": r.name,
            "namespace": r.namespace,
            "action": r.action,
            "warnings": list(r.warnings),
        }
        for r in results
    ]


async def _delete(env: Env, a: Args) -> Any:
    await env.target.delete(resolve_kind(a["kind"]).kind, a["name"], a["namespace"])


async def _scale(env: Env, a: Args) -> Any:
    return dump(await env.target.scale(a["target"], a["replicas"], namespace=a["namespace"]))


async def _set_image(env: Env, a: Args) -> Any:
    images = a["images"]
    if not images or not all(isinstance(v, str) for v in images.values()):
        raise ControlError("BadRequest", "set_image: images maps container names to images")
    return dump(await env.target.set_image(a["target"], images, namespace=a["namespace"]))


async def _rollout_status(env: Env, a: Args) -> Any:
    found = await env.target.rollout_status(
        a["target"], namespace=a["namespace"], timeout_s=a["timeout_s"]
    )
    return dump(found)


async def _rollout_history(env: Env, a: Args) -> Any:
    revisions = await env.target.rollout_history(a["target"], namespace=a["namespace"])
    return [
        {
            "revision": r.revision,
            "replica_set": r.replica_set,
            "images": list(r.images),
            "change_cause": r.change_cause,
        }
        for r in revisions
    ]


async def _rollout_undo(env: Env, a: Args) -> Any:
    found = await env.target.rollout_undo(a["target"], a["to_revision"], namespace=a["namespace"])
    return dump(found)


async def _rollout_pause(env: Env, a: Args) -> Any:
    return dump(await env.target.rollout_pause(a["target"], namespace=a["namespace"]))


async def _rollout_resume(env: Env, a: Args) -> Any:
    return dump(await env.target.rollout_resume(a["target"], namespace=a["namespace"]))


async def _cordon(env: Env, a: Args) -> Any:
    return dump(await env.target.cordon(a["node"]))


async def _uncordon(env: Env, a: Args) -> Any:
    return dump(await env.target.uncordon(a["node"]))


async def _drain(env: Env, a: Args) -> Any:
    # ignore_daemonsets is accepted and always holds: orbit runs no DaemonSets.
    evicted = await env.target.drain(
        a["node"],
        timeout_s=a["timeout_s"],
        grace_s=a["grace_s"],
        force=a["force"],
        delete_emptydir_data=a["delete_emptydir_data"],
    )
    return [dump(pod) for pod in evicted]


_NS: Final = ("string", "default")
_ALL: Final = ("boolean", False)
_TARGET: Final = ("string", REQUIRED)

VERBS: Final[Mapping[str, Verb]] = {
    "get": Verb(
        {
            "kind": ("string", REQUIRED),
            "name": ("string", None),
            "namespace": _NS,
            "all_namespaces": _ALL,
            "selector": ("string", None),
        },
        _get,
    ),
    "apply": Verb({"documents": ("array", REQUIRED)}, _apply),
    "delete": Verb(
        {"kind": ("string", REQUIRED), "name": ("string", REQUIRED), "namespace": _NS}, _delete
    ),
    "scale": Verb({"target": _TARGET, "replicas": ("integer", REQUIRED), "namespace": _NS}, _scale),
    "set_image": Verb(
        {"target": _TARGET, "images": ("object", REQUIRED), "namespace": _NS}, _set_image
    ),
    "rollout_status": Verb(
        {"target": _TARGET, "namespace": _NS, "timeout_s": ("number", 600.0)}, _rollout_status
    ),
    "rollout_history": Verb({"target": _TARGET, "namespace": _NS}, _rollout_history),
    "rollout_undo": Verb(
        {"target": _TARGET, "namespace": _NS, "to_revision": ("integer", None)}, _rollout_undo
    ),
    "rollout_pause": Verb({"target": _TARGET, "namespace": _NS}, _rollout_pause),
    "rollout_resume": Verb({"target": _TARGET, "namespace": _NS}, _rollout_resume),
    "logs": Verb(
        {
            "pod": ("string", REQUIRED),
            "container": ("string", None),
            "namespace": _NS,
            "tail": ("integer", None),
            "previous": ("boolean", False),
            "follow": ("boolean", False),
        },
        _logs,
    ),
    "events": Verb(
        {"namespace": _NS, "all_namespaces": _ALL, "involved": ("object", None)}, _events
    ),
    "watch": Verb(
        {
            "kind": ("string", REQUIRED),
            "namespace": _NS,
            "all_namespaces": _ALL,
            "selector": ("string", None),
        },
        _watch,
    ),
    "top_pods": Verb({"namespace": _NS, "all_namespaces": _ALL}, _top_pods),
    "top_nodes": Verb({}, _top_nodes),
    "cordon": Verb({"node": ("string", REQUIRED)}, _cordon),
    "uncordon": Verb({"node": ("string", REQUIRED)}, _uncordon),
    "drain": Verb(
        {
            "node": ("string", REQUIRED),
            "timeout_s": ("number", 300.0),
            "grace_s": ("integer", None),
            "force": ("boolean", False),
            "ignore_daemonsets": ("boolean", False),
            "delete_emptydir_data": ("boolean", False),
        },
        _drain,
    ),
    "service_url": Verb(
        {
            "name": ("string", REQUIRED),
            "namespace": _NS,
            "port_name": ("string", None),
            "timeout_s": ("number", 10.0),
        },
        _service_url,
    ),
    "info": Verb({}, _info),
}
"""Every verb of the control API, by the name in its path (``POST /v1/<verb>``)."""
