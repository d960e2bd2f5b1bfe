"""The verbs of ``orbit`` that change the cluster: ``apply``, ``delete``, ``scale``,
``set image``, ``rollout status|history|undo|pause|resume``, ``cordon``,
``uncordon``, ``drain``. Each prints kubectl's confirmation (``deployment.apps/web
scaled``) and returns the exit status.

``rollout status`` judges progress here, as kubectl's status viewer does on its
client side: it re-reads the Deployment and prints kubectl's "Waiting for ..." line
whenever it changes (the judgement is orbit's own, :func:`orbit._rollout.rollout_state`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from orbit.api import Decoded, Document, KindInfo, decode_documents, read_documents, resolve_kind
from orbit.control import ControlError
from orbit.errors import RolloutFailed, ValidationError

from ._common import (
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
from ._format import qualified_kind, qualified_resource, resource_name
from ._output import render_history
from ._printers import decode
from ._verbs import requests_of

__all__ = [
    "apply",
    "cordon",
    "delete",
    "drain",
    "read_manifests",
    "rollout_history",
    "rollout_pause",
    "rollout_resume",
    "rollout_status",
    "rollout_undo",
    "scale",
    "set_image",
    "uncordon",
]

POLL_S = 0.5
"""How often ``rollout status`` re-reads the Deployment."""

_NODE = resolve_kind("Node")


# -- manifests ---------------------------------------------------------------------------


def _documents(source: str) -> list[Document]:
    if source == "-":
        return read_documents(sys.stdin.read().encode())
    path = Path(source)
    if not path.exists():
        raise CliError(f'error: the path "{source}" does not exist')
    return read_documents(path)


def read_manifests(sources: Sequence[str]) -> list[Decoded]:
    """Every document of the files, directories or stdin (``-``) named, decoded and
    validated here first, so a mistake is reported with its file before anything
    is sent (one ``error validating`` line per file)."""
    decoded: list[Decoded] = []
    for source in sources:
        try:
            decoded += decode_documents(_documents(source))
        except ValidationError as exc:
            shown = "STDIN" if source == "-" else source
            issues = "; ".join(str(issue) for issue in exc.issues)
            raise CliError(f'error: error parsing "{shown}": {issues}') from exc
    failures: dict[str, list[str]] = {}
    for item in decoded:
        origin = item.document.origin
        failures.setdefault("STDIN" if origin == "<input>" else origin, []).extend(
            str(issue) for issue in item.issues
        )
    lines = [
        f'error: error validating "{origin}": {"; ".join(issues)}'
        for origin, issues in failures.items()
        if issues
    ]
    if lines:
        raise CliError("\n".join(lines))
    return decoded


def _in_namespace(item: Decoded, wanted: str | None) -> dict[str, Any]:
    """The manifest to send: ``-n`` fills in a missing namespace and must agree with
    one that is set (kubectl's rule)."""
    data = dict(item.document.data)
    info = resolve_kind(type(item.object))
    if wanted is None or not info.namespaced:
        return data
    metadata = dict(data.get("metadata") or {})
    given = metadata.get("namespace")
    if given and given != wanted:
        raise CliError(
            f'error: the namespace from the provided object "{given}" does not match the '
            f"namespace \"{wanted}\". You must pass '--namespace={given}' to perform this "
            "operation."
        )
    metadata["namespace"] = wanted
    data["metadata"] = metadata
    return data


async def apply(args: argparse.Namespace) -> int:
    """``orbit apply -f FILE_OR_DIR|-``: all documents or none, then one
    ``deployment.apps/web created|configured|unchanged`` line each."""
    decoded = read_manifests(args.filename)
    if not decoded:
        raise CliError("error: no objects passed to apply")
    documents = [_in_namespace(item, args.namespace) for item in decoded]
    results = await client_for(args).apply(documents)
    for result in results:
        for note in result.get("warnings") or ():
            warn(f"Warning: {note}")
        say(f"{resource_name(resolve(result['kind']), result['name'])} {result['action']}")
    return 0


# -- delete, scale, set image ------------------------------------------------------------


def _delete_targets(args: argparse.Namespace) -> list[tuple[KindInfo, str, str]]:
    if args.filename:
        if args.kind:
            raise UsageError("give objects either by name or with -f, not both")
        found = []
        for item in read_manifests(args.filename):
            assert item.object is not None  # read_manifests raised on any issue
            info = resolve_kind(type(item.object))
            meta = item.object.metadata
            namespace = (meta.namespace or namespace_of(args)) if info.namespaced else ""
            found.append((info, meta.name, namespace))
        return found
    if not args.kind:
        raise UsageError("you must provide one or more resources by argument or filename")
    requests = requests_of(args.kind, args.names)
    if any(r.name is None for r in requests):
        raise CliError("error: resource(s) were provided, but no name was specified")
    return [(r.info, str(r.name), namespace_of(args)) for r in requests]


async def delete(args: argparse.Namespace) -> int:
    """``orbit delete KIND NAME...`` / ``orbit delete -f FILE``: ``deployment.apps
    "web" deleted`` each; a missing one is an error (unless ``--ignore-not-found``)
    and the others are still deleted."""
    client = client_for(args)
    failed = False
    for info, name, namespace in _delete_targets(args):
        try:
            await client.delete(info.kind, name, namespace=namespace or "default")
        except ControlError as exc:
            if exc.reason != "NotFound":
                raise
            if not args.ignore_not_found:
                failed = True
                warn(f'Error from server (NotFound): {qualified_resource(info)} "{name}" not found')
            continue
        say(f'{qualified_kind(info)} "{name}" deleted')
    return 1 if failed else 0


async def scale(args: argparse.Namespace) -> int:
    """``orbit scale KIND/NAME --replicas N``: ``deployment.apps/web scaled``."""
    info, name = split_target(args.target)
    if args.replicas < 0:
        raise CliError("error: The --replicas=COUNT flag is required, and COUNT must be >= 0")
    with about(info, name):
        await client_for(args).scale(
            f"{info.kind}/{name}", args.replicas, namespace=namespace_of(args)
        )
    say(f"{resource_name(info, name)} scaled")
    return 0


def _images(pairs: Sequence[str]) -> dict[str, str]:
    images = {}
    for pair in pairs:
        container, sep, image = pair.partition("=")
        if not sep or not container or not image:
            raise UsageError(f'expected CONTAINER=IMAGE (such as web=web:v2), got "{pair}"')
        images[container] = image
    return images


async def set_image(args: argparse.Namespace) -> int:
    """``orbit set image KIND/NAME CONTAINER=IMAGE...`` (``*=IMAGE``: every
    container): ``deployment.apps/web image updated``."""
    info, name = split_target([args.target])
    images = _images(args.images)
    with about(info, name):
        await client_for(args).set_image(
            f"{info.kind}/{name}", images, namespace=namespace_of(args)
        )
    say(f"{resource_name(info, name)} image updated")
    return 0


# -- rollout -----------------------------------------------------------------------------


def _deployment(args: argparse.Namespace, verb: str) -> tuple[KindInfo, str]:
    info, name = split_target(args.target)
    if info.kind != "Deployment":
        raise CliError(f"error: {verb} is not supported for {info.kind} (only Deployments)")
    return info, name


async def rollout_status(args: argparse.Namespace) -> int:
    """``orbit rollout status deployment/web [--timeout 5m] [--watch=false]``:
    kubectl's "Waiting for deployment ..." lines as they change, then
    ``deployment "web" successfully rolled out``. A rollout that exceeds its progress
    deadline, or that orbit rolls back, is an error."""
    # orbit's own judgement of a rollout; imported here, as it loads the controllers
    from orbit._rollout import ROLLED_BACK_FROM, rollout_state  # noqa: PLC0415

    info, name = _deployment(args, "rollout status")
    client = client_for(args)
    namespace = namespace_of(args)
    deadline = CLOCK.monotonic() + args.timeout if args.timeout > 0 else None
    with about(info, name):
        current = decode(await client.get(info.kind, name, namespace=namespace), info)
    before = current.metadata.annotations.get(ROLLED_BACK_FROM)
    said = ""
    while True:
        try:
            state = rollout_state(current, before)
        except RolloutFailed as exc:
            raise CliError(f"error: {exc}") from exc
        if state.done or state.message != said:
            say(state.message)
            said = state.message
        if state.done or not args.watch:
            return 0
        if deadline is not None and CLOCK.monotonic() >= deadline:
            raise CliError("error: timed out waiting for the condition")
        await CLOCK.sleep(POLL_S)
        with about(info, name):
            current = decode(await client.get(info.kind, name, namespace=namespace), info)


async def rollout_history(args: argparse.Namespace) -> int:
    """``orbit rollout history deployment/web``: REVISION CHANGE-CAUSE."""
    info, name = _deployment(args, "rollout history")
    with about(info, name):
        revisions = await client_for(args).rollout_history(
            f"{info.kind}/{name}", namespace=namespace_of(args)
        )
    if not revisions:
        say("No rollout history found.")
        return 0
    sys.stdout.write(render_history(info, name, revisions))
    return 0


async def rollout_undo(args: argparse.Namespace) -> int:
    """``orbit rollout undo deployment/web [--to-revision N]``."""
    info, name = _deployment(args, "rollout undo")
    with about(info, name):
        await client_for(args).rollout_undo(
            f"{info.kind}/{name}", args.to_revision or None, namespace=namespace_of(args)
        )
    say(f"{resource_name(info, name)} rolled back")
    return 0


async def _set_paused(args: argparse.Namespace, paused: bool) -> int:
    verb = "pause" if paused else "resume"
    info, name = _deployment(args, f"rollout {verb}")
    client = client_for(args)
    namespace = namespace_of(args)
    target = f"{info.kind}/{name}"
    with about(info, name):
        current = decode(await client.get(info.kind, name, namespace=namespace), info)
        if current.spec.paused == paused:
            say(f"{resource_name(info, name)} already {verb}d")
            return 0
        if paused:
            await client.rollout_pause(target, namespace=namespace)
        else:
            await client.rollout_resume(target, namespace=namespace)
    say(f"{resource_name(info, name)} {verb}d")
    return 0


async def rollout_pause(args: argparse.Namespace) -> int:
    """``orbit rollout pause deployment/web``."""
    return await _set_paused(args, True)


async def rollout_resume(args: argparse.Namespace) -> int:
    """``orbit rollout resume deployment/web``."""
    return await _set_paused(args, False)


# -- nodes -------------------------------------------------------------------------------


async def _cordon(args: argparse.Namespace, unschedulable: bool) -> None:
    """Cordon or uncordon, saying ``node/n1 cordoned`` (or ``already cordoned``)."""
    client = client_for(args)
    word = "cordoned" if unschedulable else "uncordoned"
    with about(_NODE, args.node):
        node = decode(await client.get("Node", args.node), _NODE)
        if node.spec.unschedulable == unschedulable:
            say(f"node/{args.node} already {word}")
            return
        if unschedulable:
            await client.cordon(args.node)
        else:
            await client.uncordon(args.node)
    say(f"node/{args.node} {word}")


async def cordon(args: argparse.Namespace) -> int:
    """``orbit cordon NODE``."""
    await _cordon(args, True)
    return 0


async def uncordon(args: argparse.Namespace) -> int:
    """``orbit uncordon NODE``."""
    await _cordon(args, False)
    return 0


async def drain(args: argparse.Namespace) -> int:
    """``orbit drain NODE [--force] [--ignore-daemonsets] [--delete-emptydir-data]
    [--grace-period S] [--timeout D]``: cordon, evict every pod (disruption budgets
    hold), wait until they are gone; kubectl's lines for each step."""
    await _cordon(args, True)
    with about(_NODE, args.node):
        evicted = await client_for(args).drain(
            args.node,
            timeout_s=args.timeout or None,
            grace_s=None if args.grace_period < 0 else args.grace_period,
            force=args.force,
            ignore_daemonsets=args.ignore_daemonsets,
            delete_emptydir_data=args.delete_emptydir_data,
        )
    for pod in evicted:
        meta = pod["metadata"]
        say(f"evicting pod {meta.get('namespace') or 'default'}/{meta['name']}")
        say(f"pod/{meta['name']} evicted")
    say(f"node/{args.node} drained")
    return 0
