"""The reading verbs of ``orbit``: ``get``, ``describe``, ``logs``, ``events``, ``top``.

Each takes the parsed command line, calls the cluster through its control socket
(:class:`orbit.control.ControlClient`) and prints what kubectl would; it returns the
exit status, or raises :class:`~orbit.cli._common.CliError` /
:class:`~orbit.control.ControlError` for ``main`` to print as one line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import attrs

from orbit.api import KindInfo, Pod, resolve_kind
from orbit.control import ControlClient, ControlError

from ._common import (
    ALL_KINDS,
    CLOCK,
    CliError,
    UsageError,
    about,
    client_for,
    namespace_of,
    resolve,
    say,
    split_target,
    warn,
)
from ._describe import describe_object
from ._output import (
    as_list,
    no_resources,
    render_json,
    render_names,
    render_top_nodes,
    render_top_pods,
    render_yaml,
)
from ._printers import decode, render_table
from ._rows_workloads import pod_status

__all__ = ["Request", "describe", "events", "get", "logs", "requests_of", "top"]

_EVENT = resolve_kind("Event")
_POD = resolve_kind(Pod)


@attrs.frozen
class Request:
    """One thing a verb asked for: every object of a kind, or one by name."""

    info: KindInfo
    name: str | None = None


def requests_of(kind: str, names: Sequence[str]) -> list[Request]:
    """What ``get KIND [NAME...]`` asks for, in kubectl's forms: ``pods``,
    ``pods,svc``, ``all``, ``pod web-1 web-2``, ``pod/web-1 svc/web``."""
    if "/" in kind:
        found = []
        for word in (kind, *names):
            if "/" not in word:
                raise UsageError(
                    "there is no need to specify a resource type as a separate argument "
                    "when passing arguments in resource/name form"
                )
            kind_name, _, name = word.partition("/")
            found.append(Request(resolve(kind_name), name))
        return found
    kinds: list[KindInfo] = []
    for word in kind.split(","):
        if word == "all":
            kinds += [resolve(name) for name in ALL_KINDS]
        elif word:
            kinds.append(resolve(word))
    if not kinds:
        raise UsageError("name a kind (pods, deployments, services...)")
    if names:
        return [Request(info, name) for info in kinds for name in names]
    return [Request(info) for info in kinds]


async def _fetch(
    client: ControlClient, request: Request, args: argparse.Namespace
) -> list[dict[str, Any]]:
    """The objects one request names (a NotFound reads as kubectl's)."""
    namespace = namespace_of(args)
    if request.name is None:
        answer = await client.get(
            request.info.kind,
            namespace=namespace,
            all_namespaces=bool(getattr(args, "all_namespaces", False)),
            selector=getattr(args, "selector", None),
        )
        return list(answer["items"])
    with about(request.info, request.name):
        return [await client.get(request.info.kind, request.name, namespace=namespace)]


async def _collect(
    args: argparse.Namespace, requests: Sequence[Request]
) -> tuple[list[tuple[KindInfo, list[dict[str, Any]]]], list[str]]:
    """Every request's objects, grouped by kind in request order, and the lines of
    those that failed (kubectl prints what it found, then the errors)."""
    if getattr(args, "all_namespaces", False) and any(r.name for r in requests):
        raise CliError("error: a resource cannot be retrieved by name across all namespaces")
    if getattr(args, "selector", None) and any(r.name for r in requests):
        raise CliError("error: name cannot be provided when a selector is specified")
    client = client_for(args)
    groups: list[tuple[KindInfo, list[dict[str, Any]]]] = []
    failed: list[str] = []
    for request in requests:
        try:
            found = await _fetch(client, request, args)
        except CliError as exc:
            failed.append(str(exc))
            continue
        if groups and groups[-1][0] == request.info:
            groups[-1][1].extend(found)
        else:
            groups.append((request.info, found))
    return groups, failed


def _empty_where(args: argparse.Namespace, kinds: Sequence[KindInfo]) -> str | None:
    """The namespace kubectl names when nothing was found (None: none to name)."""
    if getattr(args, "all_namespaces", False) or not any(info.namespaced for info in kinds):
        return None
    return namespace_of(args)


async def get(args: argparse.Namespace) -> int:
    """``orbit get KIND [NAME...] [-o wide|yaml|json|name] [-l SEL] [-n NS | -A]``."""
    requests = requests_of(args.kind, args.names)
    groups, failed = await _collect(args, requests)
    objects = [obj for _, found in groups for obj in found]
    output = args.output
    if output in ("json", "yaml"):
        single = len(requests) == 1 and requests[0].name is not None and len(objects) == 1
        if objects or not failed:
            value = objects[0] if single else as_list(objects)
            sys.stdout.write(render_json(value) if output == "json" else render_yaml(value))
    elif output == "name":
        sys.stdout.write(render_names(objects))
    elif objects:
        several_kinds = len({r.info.kind for r in requests}) > 1
        tables = [
            render_table(
                found,
                info,
                now=CLOCK.now(),
                wide=output == "wide",
                all_namespaces=bool(args.all_namespaces),
                with_kind=several_kinds,
            )
            for info, found in groups
            if found
        ]
        sys.stdout.write("\n".join(tables))
    elif not failed:
        warn(no_resources(_empty_where(args, [r.info for r in requests])))
    for line in failed:
        warn(line)
    if failed:
        return 1
    if getattr(args, "watch", False):
        await _watch(args, requests, objects)
    return 0


async def _watch(
    args: argparse.Namespace, requests: Sequence[Request], listed: Sequence[dict[str, Any]]
) -> None:
    """``get -w``: after the list, a row (no header) for every change, until Ctrl-C or
    the cluster stops. The watch starts from everything that exists, so nothing between
    the list and the watch is lost; what the list already showed is not shown again."""
    kinds = {r.info.kind for r in requests}
    if len(kinds) != 1:
        raise UsageError("you may only watch one kind at a time")
    info = requests[0].info
    names = {r.name for r in requests if r.name is not None}
    shown = {(o["metadata"].get("uid"), o["metadata"].get("resourceVersion")) for o in listed}
    output = args.output
    header_shown = bool(listed)
    events = client_for(args).watch(
        info.kind,
        namespace=namespace_of(args),
        all_namespaces=bool(args.all_namespaces),
        selector=args.selector,
    )
    async for event in events:
        obj = event["object"]
        meta = obj.get("metadata", {})
        if names and meta.get("name") not in names:
            continue
        key = (meta.get("uid"), meta.get("resourceVersion"))
        if event["type"] == "ADDED" and key in shown:
            continue
        shown.add(key)
        if output in ("json", "yaml"):
            sys.stdout.write(render_json(obj) if output == "json" else render_yaml(obj))
        elif output == "name":
            sys.stdout.write(render_names([obj]))
        else:
            table = render_table(
                [obj],
                info,
                now=CLOCK.now(),
                wide=output == "wide",
                all_namespaces=bool(args.all_namespaces),
                with_kind=False,
            )
            rows = table.splitlines()[1 if header_shown else 0 :]  # one header in all
            header_shown = True
            sys.stdout.write("".join(row + "\n" for row in rows))
        sys.stdout.flush()


# -- describe ----------------------------------------------------------------------------


async def _related(client: ControlClient, info: KindInfo, obj: dict[str, Any]) -> dict[str, Any]:
    """What a describer needs beyond the object: a Deployment's ReplicaSets, a
    Service's Endpoints, a ReplicaSet's or a Node's pods."""
    meta = obj.get("metadata", {})
    namespace = meta.get("namespace") or "default"
    if info.kind == "Deployment":
        listed = await client.get("ReplicaSet", namespace=namespace)
        return {"replicasets": listed["items"]}
    if info.kind == "Service":
        try:
            endpoints = await client.get("Endpoints", meta.get("name", ""), namespace=namespace)
        except ControlError as exc:
            if exc.reason != "NotFound":
                raise
            endpoints = None
        return {"endpoints": endpoints}
    if info.kind == "ReplicaSet":
        selector = decode(obj, info).spec.selector
        if selector is None:
            return {"pods": []}
        listed = await client.get("Pod", namespace=namespace, selector=str(selector.to_selector()))
        return {"pods": listed["items"]}
    if info.kind == "Node":
        listed = await client.get("Pod", all_namespaces=True)
        name = meta.get("name")
        return {"pods": [p for p in listed["items"] if p.get("spec", {}).get("nodeName") == name]}
    return {}


async def describe(args: argparse.Namespace) -> int:
    """``orbit describe KIND [NAME...]``: each object in detail, with its events."""
    requests = requests_of(args.kind, args.names)
    groups, failed = await _collect(args, requests)
    client = client_for(args)
    texts = []
    for info, found in groups:
        for obj in found:
            meta = obj.get("metadata", {})
            involved = {"kind": info.kind, "name": meta.get("name", "")}
            events = await client.events(
                namespace=meta.get("namespace") or "default",
                all_namespaces=not info.namespaced,
                involved=involved,
            )
            related = await _related(client, info, obj)
            texts.append(describe_object(obj, info, events=events, now=CLOCK.now(), **related))
    if texts:
        sys.stdout.write("\n\n".join(texts))
    elif not failed:
        warn(no_resources(_empty_where(args, [r.info for r in requests])))
    for line in failed:
        warn(line)
    return 1 if failed else 0


# -- logs, events, top -------------------------------------------------------------------


def _pod_rank(data: dict[str, Any]) -> tuple[int, int, str]:
    """kubectl's choice among a workload's pods: running and ready first."""
    pod = decode(data, _POD)
    status, ready, _, _ = pod_status(pod)
    return (0 if status == "Running" else 1, -ready, pod.metadata.name)


async def _pick_pod(client: ControlClient, word: str, namespace: str) -> str:
    """The pod ``logs`` reads: ``web-1``, ``pod/web-1``, or one pod of
    ``deployment/web`` (``job/...``, ``replicaset/...``) as kubectl picks it."""
    if "/" not in word:
        return word
    info, name = split_target([word])
    if info.kind == "Pod":
        return name
    with about(info, name):
        owner = decode(await client.get(info.kind, name, namespace=namespace), info)
    selector = getattr(owner.spec, "selector", None)
    if selector is None:
        raise CliError(f"error: cannot find the pods of {info.kind.lower()}/{name}")
    listed = await client.get("Pod", namespace=namespace, selector=str(selector.to_selector()))
    pods = sorted(listed["items"], key=_pod_rank)
    if not pods:
        raise CliError(f"error: no pods of {info.kind.lower()}/{name} found")
    chosen = str(pods[0]["metadata"]["name"])
    if len(pods) > 1:
        warn(f"Found {len(pods)} pods, using pod/{chosen}")
    return chosen


async def logs(args: argparse.Namespace) -> int:
    """``orbit logs POD [-c C] [-f] [--tail N] [-p]``."""
    client = client_for(args)
    namespace = namespace_of(args)
    pod = await _pick_pod(client, args.pod, namespace)
    tail = None if args.tail < 0 else args.tail
    options: dict[str, Any] = {
        "container": args.container,
        "namespace": namespace,
        "tail": tail,
        "previous": args.previous,
    }
    with about(_POD, pod):
        if args.follow:
            async for line in client.follow_logs(pod, **options):
                say(line)
        else:
            for line in await client.logs(pod, **options):
                say(line)
    return 0


async def events(args: argparse.Namespace) -> int:
    """``orbit events [-n NS | -A] [--for KIND/NAME]``: oldest first."""
    involved = None
    if args.involved:
        info, name = split_target([args.involved])
        involved = {"kind": info.kind, "name": name}
    found = await client_for(args).events(
        namespace=namespace_of(args),
        all_namespaces=bool(args.all_namespaces),
        involved=involved,
    )
    if not found:
        where = "." if args.all_namespaces else f" in {namespace_of(args)} namespace."
        warn(f"No events found{where}")
        return 0
    table = render_table(found, _EVENT, now=CLOCK.now(), all_namespaces=bool(args.all_namespaces))
    sys.stdout.write(table)
    return 0


async def top(args: argparse.Namespace) -> int:
    """``orbit top pods [-n NS | -A]`` / ``orbit top nodes``."""
    client = client_for(args)
    if args.what in ("nodes", "node", "no"):
        rows = await client.top_nodes()
        if not rows:
            warn(no_resources(None))
            return 0
        sys.stdout.write(render_top_nodes(rows))
        return 0
    all_namespaces = bool(args.all_namespaces)
    rows = await client.top_pods(namespace=namespace_of(args), all_namespaces=all_namespaces)
    if not rows:
        warn(no_resources(None if all_namespaces else namespace_of(args)))
        return 0
    sys.stdout.write(render_top_pods(rows, all_namespaces=all_namespaces))
    return 0
