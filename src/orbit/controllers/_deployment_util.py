"""The Deployment controller's arithmetic and bookkeeping, as pure functions
(Kubernetes' ``pkg/controller/deployment/util``, v1.30): surge and unavailability
bounds, the pod-template hash, revisions and the annotations a Deployment writes on
its ReplicaSets.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from orbit.api import Deployment, PodTemplateSpec, ReplicaSet, encode

from ._intstr import scaled_value

__all__ = [
    "DESIRED_REPLICAS",
    "MAX_REPLICAS",
    "REVISION",
    "REVISION_HISTORY",
    "TEMPLATE_HASH_LABEL",
    "active_sets",
    "available_count",
    "equal_ignoring_hash",
    "max_revision",
    "max_surge",
    "max_unavailable",
    "replica_count",
    "resolve_fenceposts",
    "revision_of",
    "status_replica_count",
    "template_hash",
]

TEMPLATE_HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"

_HASH_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # rand.SafeEncodeString's alphabet


def resolve_fenceposts(surge: int | str, unavailable: int | str, desired: int) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) as counts of ``desired``: surge rounds up,
    unavailability down; both 0 would deadlock, so unavailability becomes 1."""
    surge_count = scaled_value(surge, desired, round_up=True)
    unavailable_count = scaled_value(unavailable, desired, round_up=False)
    if surge_count == 0 and unavailable_count == 0:
        unavailable_count = 1
    return surge_count, unavailable_count


def _rolling(d: Deployment) -> tuple[int | str, int | str] | None:
    strategy = d.spec.strategy
    if strategy.type != "RollingUpdate" or strategy.rolling_update is None:
        return None
    return strategy.rolling_update.max_surge, strategy.rolling_update.max_unavailable


def max_surge(d: Deployment) -> int:
    """How many pods above ``replicas`` a rolling update may run (0 for Recreate)."""
    rolling = _rolling(d)
    if rolling is None:
        return 0
    return resolve_fenceposts(*rolling, d.spec.replicas)[0]


def max_unavailable(d: Deployment) -> int:
    """How many pods below ``replicas`` may be unavailable (0 for Recreate or no
    replicas; never more than ``replicas``)."""
    rolling = _rolling(d)
    if rolling is None or d.spec.replicas == 0:
        return 0
    unavailable = resolve_fenceposts(*rolling, d.spec.replicas)[1]
    return min(unavailable, d.spec.replicas)


def _template_for_hash(template: PodTemplateSpec) -> Any:
    data = encode(template)
    labels = data.get("metadata", {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(TEMPLATE_HASH_LABEL, None)
    return data


def template_hash(template: PodTemplateSpec, collision_count: int | None = None) -> str:
    """The ``pod-template-hash`` of a template: FNV-1a (32 bit) over its canonical
    JSON and the collision count, spelled in Kubernetes' vowel-free alphabet.

    Kubernetes hashes Go's ``spew`` rendering of the template, which Python cannot
    reproduce, so the values differ from a real cluster's; what matters (the same
    template always gives the same hash, another template almost surely another, a
    collision count moves it) holds.
    """
    text = json.dumps(_template_for_hash(template), sort_keys=True, separators=(",", ":"))
    if collision_count:
        text += str(collision_count)
    value = 0x811C9DC5
    for byte in text.encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return _safe_encode(str(value))


def _safe_encode(text: str) -> str:
    """``rand.SafeEncodeString``: each byte picks a letter of the alphabet."""
    return "".join(_HASH_ALPHABET[b % len(_HASH_ALPHABET)] for b in text.encode())


def equal_ignoring_hash(a: PodTemplateSpec, b: PodTemplateSpec) -> bool:
    """Whether two templates are the same apart from the ``pod-template-hash`` label."""
    return _without_hash(a) == _without_hash(b)


def _without_hash(template: PodTemplateSpec) -> PodTemplateSpec:
    labels = template.metadata.labels
    if TEMPLATE_HASH_LABEL not in labels:
        return template
    kept = {k: v for k, v in labels.items() if k != TEMPLATE_HASH_LABEL}
    return attrs.evolve(template, metadata=attrs.evolve(template.metadata, labels=kept))


def without_hash(template: PodTemplateSpec) -> PodTemplateSpec:
    """The template without its ``pod-template-hash`` label (for a rollback)."""
    return _without_hash(template)


def revision_of(obj: Any) -> int:
    """The ``deployment.kubernetes.io/revision`` annotation as an int (0 if absent)."""
    try:
        return int(obj.metadata.annotations.get(REVISION, "0"))
    except ValueError:
        return 0


def max_revision(sets: Iterable[ReplicaSet]) -> int:
    return max((revision_of(rs) for rs in sets), default=0)


def replica_count(sets: Iterable[ReplicaSet | None]) -> int:
    """Sum of ``spec.replicas``."""
    return sum(rs.spec.replicas for rs in sets if rs is not None)


def status_replica_count(sets: Iterable[ReplicaSet | None]) -> int:
    """Sum of ``status.replicas`` (pods that exist)."""
    return sum(rs.status.replicas for rs in sets if rs is not None)


def available_count(sets: Iterable[ReplicaSet | None]) -> int:
    """Sum of ``status.availableReplicas``."""
    return sum(rs.status.available_replicas for rs in sets if rs is not None)


def ready_count(sets: Iterable[ReplicaSet | None]) -> int:
    """Sum of ``status.readyReplicas``."""
    return sum(rs.status.ready_replicas for rs in sets if rs is not None)


def active_sets(sets: Iterable[ReplicaSet | None]) -> list[ReplicaSet]:
    """The ReplicaSets that want pods (``spec.replicas > 0``)."""
    return [rs for rs in sets if rs is not None and rs.spec.replicas > 0]


def annotation_int(obj: Any, name: str) -> int | None:
    value = obj.metadata.annotations.get(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def by_creation(sets: Sequence[ReplicaSet], *, newest_first: bool = False) -> list[ReplicaSet]:
    """Sorted by creation time, then name (``ReplicaSetsByCreationTimestamp``)."""

    def key(rs: ReplicaSet) -> tuple[float, str]:
        stamp = rs.metadata.creation_timestamp
        return (stamp.timestamp() if stamp else 0.0, rs.metadata.name)

    ordered = sorted(sets, key=key)
    return ordered[::-1] if newest_first else ordered


def copied_annotations(d: Deployment) -> dict[str, str]:
    """The Deployment's annotations a ReplicaSet inherits (not the ones the
    controller or kubectl/orbit apply manage)."""
    skipped = {
        REVISION,
        REVISION_HISTORY,
        DESIRED_REPLICAS,
        MAX_REPLICAS,
        "kubectl.kubernetes.io/last-applied-configuration",
        "orbit.dev/last-applied-configuration",
        "deprecated.deployment.rollback.to",
    }
    return {k: v for k, v in d.metadata.annotations.items() if k not in skipped}


def with_annotations(obj: Any, updates: Mapping[str, str]) -> Any:
    meta = obj.metadata
    return attrs.evolve(
        obj, metadata=attrs.evolve(meta, annotations={**meta.annotations, **updates})
    )
