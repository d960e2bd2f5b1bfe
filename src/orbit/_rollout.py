"""kubectl's workload verbs over a store: ``scale``, ``set image``, ``rollout undo``,
``rollout pause`` / ``resume``, ``rollout history`` and the judgement behind
``rollout status``. The Cluster's methods of the same names call these.

Targets are named as kubectl names them: ``"deployment/web"``, ``"deploy/web"``,
``"deployment.apps/web"``, ``"replicaset/web-5d8f"``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from orbit.api import Deployment, KindInfo, ReplicaSet, lookup_kind, resolve_kind
from orbit.controllers._deployment_plan import ROLLBACK_REASON, ROLLED_BACK_FROM
from orbit.controllers._deployment_util import (
    equal_ignoring_hash,
    revision_of,
    without_hash,
)
from orbit.errors import Conflict, OrbitError, RolloutFailed, UnsupportedKind
from orbit.store import Store

__all__ = [
    "ROLLED_BACK_FROM",
    "Revision",
    "RolloutState",
    "parse_target",
    "rollout_history",
    "rollout_state",
    "rollout_undo",
    "set_image",
    "set_paused",
    "set_replicas",
]

_SCALABLE = ("Deployment", "ReplicaSet")
_UPDATE_ATTEMPTS = 16


def parse_target(target: str) -> tuple[KindInfo, str]:
    """(kind, name) of ``"kind/name"``; the kind as kubectl accepts it."""
    kind, sep, name = target.partition("/")
    if not sep or not kind or not name:
        raise ValueError(f'expected "kind/name" such as "deployment/web", got "{target}"')
    info = lookup_kind(kind.split(".", 1)[0]) if "." in kind else lookup_kind(kind)
    if info is None:
        raise UnsupportedKind(f'orbit has no kind "{kind}"')
    return info, name


def _update(
    store: Store, info: KindInfo, name: str, namespace: str, change: Callable[[Any], Any]
) -> Any:
    """Read, change, write; again on a conflict (another writer came first)."""
    for _ in range(_UPDATE_ATTEMPTS):
        obj = store.get(info, name, namespace)
        changed = change(obj)
        if changed == obj:
            return obj
        try:
            return store.update(changed)
        except Conflict:
            continue
    raise OrbitError(
        f"{info.kind.lower()}/{name} kept changing; gave up after {_UPDATE_ATTEMPTS} tries"
    )


def set_replicas(store: Store, target: str, replicas: int, namespace: str) -> Any:
    """``kubectl scale``: set ``spec.replicas`` of a Deployment or ReplicaSet."""
    info, name = parse_target(target)
    if info.kind not in _SCALABLE:
        raise UnsupportedKind(f"{info.kind} cannot be scaled (scalable: {', '.join(_SCALABLE)})")
    if replicas < 0:
        raise ValueError("replicas must be 0 or more")
    return _update(
        store,
        info,
        name,
        namespace,
        lambda obj: attrs.evolve(obj, spec=attrs.evolve(obj.spec, replicas=replicas)),
    )


def _deployment(target: str) -> str:
    info, name = parse_target(target)
    if info.kind != "Deployment":
        raise UnsupportedKind(f"{info.kind} has no rollout (only Deployments do)")
    return name


def set_image(store: Store, target: str, images: Mapping[str, str], namespace: str) -> Deployment:
    """``kubectl set image``: container name -> image (``"*"`` for every container);
    init containers too. A name the template lacks is an error naming those it has."""
    name = _deployment(target)

    def change(d: Deployment) -> Deployment:
        spec = d.spec.template.spec
        known = [c.name for c in (*spec.init_containers, *spec.containers)]
        unknown = sorted(set(images) - set(known) - {"*"})
        if unknown:
            raise OrbitError(
                f'unable to find container named "{unknown[0]}" in deployment/{name} '
                f"(its containers: {', '.join(known)})"
            )

        def swap(container: Any) -> Any:
            image = images.get(container.name, images.get("*"))
            return container if image is None else attrs.evolve(container, image=image)

        pod_spec = attrs.evolve(
            spec,
            containers=tuple(map(swap, spec.containers)),
            init_containers=tuple(map(swap, spec.init_containers)),
        )
        template = attrs.evolve(d.spec.template, spec=pod_spec)
        return attrs.evolve(d, spec=attrs.evolve(d.spec, template=template))

    result: Deployment = _update(store, resolve_kind(Deployment), name, namespace, change)
    return result


def set_paused(store: Store, target: str, paused: bool, namespace: str) -> Deployment:
    """``kubectl rollout pause`` / ``resume``."""
    name = _deployment(target)
    return _update(  # type: ignore[no-any-return]
        store,
        resolve_kind(Deployment),
        name,
        namespace,
        lambda d: attrs.evolve(d, spec=attrs.evolve(d.spec, paused=paused)),
    )


@attrs.frozen
class Revision:
    """One entry of ``rollout history``."""

    revision: int
    replica_set: str
    images: tuple[str, ...]
    change_cause: str


def _history_sets(store: Store, d: Deployment) -> list[ReplicaSet]:
    uid = d.metadata.uid
    sets = store.list(ReplicaSet, namespace=d.metadata.namespace).items
    owned = [
        rs for rs in sets if (ref := rs.metadata.controller_ref()) is not None and ref.uid == uid
    ]
    return sorted(owned, key=revision_of)


def rollout_history(store: Store, target: str, namespace: str) -> list[Revision]:
    """``kubectl rollout history``: the revisions kept, oldest first."""
    d = store.get(Deployment, _deployment(target), namespace)
    return [
        Revision(
            revision=revision_of(rs),
            replica_set=rs.metadata.name,
            images=tuple(c.image for c in rs.spec.template.spec.containers),
            change_cause=rs.metadata.annotations.get("kubernetes.io/change-cause", ""),
        )
        for rs in _history_sets(store, d)
        if revision_of(rs) > 0
    ]


def rollout_undo(
    store: Store, target: str, namespace: str, to_revision: int | None = None
) -> Deployment:
    """``kubectl rollout undo``: put the template of ``to_revision`` (default: the
    revision before the current one) back into the Deployment; the controller then
    rolls out to it (reusing its ReplicaSet, which gets the next revision number)."""
    name = _deployment(target)
    d = store.get(Deployment, name, namespace)
    if d.spec.paused:
        raise OrbitError(
            f"you cannot rollback a paused deployment; resume it first with "
            f'rollout_resume("deployment/{name}") and try again'
        )
    sets = _history_sets(store, d)
    if to_revision is None or to_revision == 0:
        earlier = [rs for rs in sets if not equal_ignoring_hash(rs.spec.template, d.spec.template)]
        current = max((revision_of(rs) for rs in sets), default=0)
        earlier = [rs for rs in earlier if revision_of(rs) < current] or earlier
        if not earlier:
            raise OrbitError(f'no rollout history found for deployment "{name}"')
        chosen = max(earlier, key=revision_of)
    else:
        found = [rs for rs in sets if revision_of(rs) == to_revision]
        if not found:
            raise OrbitError(f"unable to find specified revision {to_revision} in history")
        chosen = found[0]
    if equal_ignoring_hash(chosen.spec.template, d.spec.template):
        return d  # kubectl: "skipped rollback (current template already matches revision N)"
    template = without_hash(chosen.spec.template)
    return _update(  # type: ignore[no-any-return]
        store,
        resolve_kind(Deployment),
        name,
        namespace,
        lambda live: attrs.evolve(live, spec=attrs.evolve(live.spec, template=template)),
    )


@attrs.frozen
class RolloutState:
    """Where a rollout stands: ``done``, or a kubectl-style ``message`` of what it
    waits for."""

    done: bool
    message: str


def rollout_state(d: Deployment, rolled_back_before: str | None) -> RolloutState:
    """kubectl's ``DeploymentStatusViewer``, plus orbit's automatic rollback:
    raises :class:`RolloutFailed` when the rollout exceeded its progress deadline or
    was rolled back since the wait began (``rolled_back_before`` is the
    rolled-back-from annotation seen then)."""
    name = d.metadata.name
    rolled = d.metadata.annotations.get(ROLLED_BACK_FROM)
    if rolled is not None and rolled != rolled_back_before:
        reason = d.metadata.annotations.get(ROLLBACK_REASON, "")
        raise RolloutFailed(
            f'deployment "{name}" rollout failed and was rolled back from revision '
            f"{rolled}: {reason}",
            reason=reason,
            revision=int(rolled) if rolled.isdigit() else None,
        )
    status = d.status
    if d.metadata.generation > status.observed_generation:
        return RolloutState(False, "Waiting for deployment spec update to be observed...")
    progressing = next((c for c in status.conditions if c.type == "Progressing"), None)
    if progressing is not None and progressing.reason == "ProgressDeadlineExceeded":
        raise RolloutFailed(
            f'deployment "{name}" exceeded its progress deadline',
            reason="ProgressDeadlineExceeded",
        )
    replicas = d.spec.replicas
    if status.updated_replicas < replicas:
        return RolloutState(
            False,
            f'Waiting for deployment "{name}" rollout to finish: {status.updated_replicas} '
            f"out of {replicas} new replicas have been updated...",
        )
    if status.replicas > status.updated_replicas:
        return RolloutState(
            False,
            f'Waiting for deployment "{name}" rollout to finish: '
            f"{status.replicas - status.updated_replicas} old replicas are pending termination...",
        )
    if status.available_replicas < status.updated_replicas:
        return RolloutState(
            False,
            f'Waiting for deployment "{name}" rollout to finish: {status.available_replicas} '
            f"of {status.updated_replicas} updated replicas are available...",
        )
    return RolloutState(True, f'deployment "{name}" successfully rolled out')
