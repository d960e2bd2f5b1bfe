"""The garbage collector's decisions, as plain functions over metadata.

Kubernetes splits cascading deletion between the API server, which turns a delete
request's ``propagationPolicy`` into finalizers (``deletionFinalizersForGarbageCollection``
in apiserver's ``registry/generic/registry/store.go``), and the garbage collector, which
classifies each dependent's owner references and acts on them (``attemptToDeleteItem``,
``classifyReferences``, ``processDeletingDependentsItem`` and ``orphanDependents`` in
``pkg/controller/garbagecollector/garbagecollector.go``). Both halves live here, free of
the store, so the rules are unit-testable one by one; :mod:`._gc` reads the store and
carries the decisions out.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any, Literal

import attrs

from orbit.api import KindInfo, ObjectMeta, OwnerReference, lookup_kind
from orbit.errors import ValidationError

__all__ = [
    "FOREGROUND_FINALIZER",
    "ORPHAN_FINALIZER",
    "PROPAGATION_POLICIES",
    "Decision",
    "OwnerState",
    "PropagationPolicy",
    "blocks",
    "check_policy",
    "decide",
    "default_propagation_policy",
    "deleting_dependents",
    "deletion_finalizers",
    "needs_dependents",
    "owner_kind",
    "owner_state",
    "unblocked",
    "without_owners",
]

FOREGROUND_FINALIZER = "foregroundDeletion"
"""metav1.FinalizerDeleteDependents: the owner waits for its blocking dependents."""
ORPHAN_FINALIZER = "orphan"
"""metav1.FinalizerOrphanDependents: the owner's references are removed from its
dependents before it goes."""

PropagationPolicy = Literal["Background", "Foreground", "Orphan"]
PROPAGATION_POLICIES: tuple[PropagationPolicy, ...] = ("Background", "Foreground", "Orphan")

OwnerState = Literal["solid", "dangling", "waiting"]
"""How a dependent sees one owner reference: the owner exists (``solid``), is absent
or has another uid (``dangling``), or exists and is being deleted in the foreground,
waiting for its dependents (``waiting``)."""

# batch/v1 Job keeps OrphanDependents as its API default for backward compatibility
# (pkg/registry/batch/job/strategy.go DefaultGarbageCollectionPolicy); every other kind
# orbit runs defaults to DeleteDependents, i.e. background deletion.
_ORPHAN_BY_DEFAULT = frozenset({("batch", "Job")})


def check_policy(policy: str | None) -> PropagationPolicy | None:
    """``policy`` if it is a propagation policy (or ``None``); else ``ValidationError``
    with the API server's message."""
    if policy is None or policy in PROPAGATION_POLICIES:
        return policy
    supported = ", ".join(f'"{p}"' for p in ("Foreground", "Background", "Orphan"))
    message = f'Unsupported value: "{policy}": supported values: {supported}'
    raise ValidationError([("propagationPolicy", message)])


def default_propagation_policy(info: KindInfo) -> PropagationPolicy:
    """What a delete without a policy does to dependents, per kind, as the API server
    decides it: ``Orphan`` for batch/v1 Jobs, ``Background`` for everything else.
    (kubectl always sends ``Background`` unless told otherwise.)"""
    return "Orphan" if (info.group, info.kind) in _ORPHAN_BY_DEFAULT else "Background"


def deletion_finalizers(
    finalizers: tuple[str, ...],
    policy: PropagationPolicy | None,
    default: PropagationPolicy,
) -> tuple[str, ...]:
    """The finalizers an object gets when it is deleted with ``policy``.

    Kubernetes' ``shouldOrphanDependents`` / ``shouldDeleteDependents``: an explicit
    policy wins; without one an ``orphan`` or ``foregroundDeletion`` finalizer already
    on the object decides; else the kind's ``default``. The two GC finalizers are
    dropped and added back as needed; ``finalizers`` itself is returned when the set
    does not change.
    """
    if policy is not None:
        orphan, foreground = policy == "Orphan", policy == "Foreground"
    else:
        first = next((f for f in finalizers if f in (ORPHAN_FINALIZER, FOREGROUND_FINALIZER)), "")
        orphan = first == ORPHAN_FINALIZER if first else default == "Orphan"
        foreground = FOREGROUND_FINALIZER in finalizers
    kept = [f for f in finalizers if f not in (ORPHAN_FINALIZER, FOREGROUND_FINALIZER)]
    if orphan:
        kept.append(ORPHAN_FINALIZER)
    if foreground:
        kept.append(FOREGROUND_FINALIZER)
    return finalizers if set(kept) == set(finalizers) else tuple(kept)


def owner_kind(ref: OwnerReference) -> KindInfo | None:
    """The kind an owner reference names, or ``None`` when orbit has no such kind (or
    the reference's API group is not that kind's): Kubernetes' REST mapping of
    ``apiVersion`` and ``kind``. An empty ``apiVersion`` matches on the kind alone."""
    info = lookup_kind(ref.kind) if ref.kind else None
    if info is None or info.kind != ref.kind:
        return None
    if ref.api_version:
        group = ref.api_version.rpartition("/")[0]
        groups = {info.group, *(alias.rpartition("/")[0] for alias in info.aliases)}
        if group not in groups:
            return None
    return info


def deleting_dependents(meta: ObjectMeta) -> bool:
    """Being deleted in the foreground: marked, with the ``foregroundDeletion``
    finalizer (the GC graph's ``isDeletingDependents``)."""
    return meta.deletion_timestamp is not None and FOREGROUND_FINALIZER in meta.finalizers


def owner_state(ref: OwnerReference, owner: Any | None) -> OwnerState:
    """How ``ref`` stands, given the object found under its kind, namespace and name
    (``None`` if there is none): ``isDangling`` plus ``classifyReferences``. An owner
    with another uid is absent (the name was reused); an owner being deleted without
    the foreground finalizer (gracefully, or held by other finalizers) is still solid."""
    if owner is None or owner.metadata.uid != ref.uid:
        return "dangling"
    return "waiting" if deleting_dependents(owner.metadata) else "solid"


@attrs.frozen
class Decision:
    """What the garbage collector does with one dependent.

    ``keep``: nothing. ``remove_refs``: drop the references to the owners in
    ``owner_uids`` (it has another, solid owner). ``delete``: delete it with
    ``policy``, after clearing ``blockOwnerDeletion`` on its references if ``unblock``.
    """

    action: Literal["keep", "remove_refs", "delete"]
    owner_uids: tuple[str, ...] = ()
    policy: PropagationPolicy | None = None
    unblock: bool = False


KEEP = Decision("keep")


def decide(
    refs: Sequence[OwnerReference],
    states: Sequence[OwnerState],
    finalizers: Collection[str],
    *,
    has_dependents: bool = False,
    dependent_deleting_dependents: bool = False,
) -> Decision:
    """``attemptToDeleteItem`` for a dependent not being deleted itself.

    - Some owner is solid: keep it, dropping references to dangling owners and to
      owners waiting for their dependents (or those owners would wait forever).
    - No solid owner, one waiting, and it has dependents of its own: delete it in the
      foreground, so the wait covers the whole subtree; if one of those dependents is
      itself deleting dependents, first unblock its references (Kubernetes' cycle
      guard).
    - Otherwise (every owner gone or waiting): delete it, honouring an ``orphan`` or
      ``foregroundDeletion`` finalizer it already carries, else in the background.

    ``has_dependents`` and ``dependent_deleting_dependents`` matter only in the second
    case; callers may skip computing them otherwise.
    """
    if not refs:
        return KEEP
    solid = [r for r, s in zip(refs, states, strict=True) if s == "solid"]
    dangling = [r.uid for r, s in zip(refs, states, strict=True) if s == "dangling"]
    waiting = [r.uid for r, s in zip(refs, states, strict=True) if s == "waiting"]
    if solid:
        if not dangling and not waiting:
            return KEEP
        return Decision("remove_refs", owner_uids=(*dangling, *waiting))
    if waiting and has_dependents:
        return Decision("delete", policy="Foreground", unblock=dependent_deleting_dependents)
    policy: PropagationPolicy = "Background"
    if ORPHAN_FINALIZER in finalizers:
        policy = "Orphan"
    elif FOREGROUND_FINALIZER in finalizers:
        policy = "Foreground"
    return Decision("delete", policy=policy)


def needs_dependents(states: Iterable[OwnerState]) -> bool:
    """Whether :func:`decide` will look at ``has_dependents``: no solid owner and at
    least one waiting."""
    seen = set(states)
    return "waiting" in seen and "solid" not in seen


def blocks(meta: ObjectMeta, owner_uid: str) -> bool:
    """Whether this dependent blocks a foreground deletion of ``owner_uid``: its
    reference to that owner has ``blockOwnerDeletion: true`` (``blockingDependents``)."""
    return any(ref.uid == owner_uid and ref.block_owner_deletion for ref in meta.owner_references)


def without_owners(
    refs: tuple[OwnerReference, ...], owner_uids: Collection[str]
) -> tuple[OwnerReference, ...]:
    """``refs`` minus every reference to one of ``owner_uids``."""
    return tuple(ref for ref in refs if ref.uid not in owner_uids)


def unblocked(refs: tuple[OwnerReference, ...]) -> tuple[OwnerReference, ...]:
    """``refs`` with ``blockOwnerDeletion`` cleared where it was set
    (``unblockOwnerReferences``)."""
    return tuple(
        attrs.evolve(ref, block_owner_deletion=False) if ref.block_owner_deletion else ref
        for ref in refs
    )
