"""What every workload controller does with pods, as Kubernetes' ``controller``
package does it: stamp one out of a template with an owner reference, find the pods an
owner controls, tell active from finished and ready from available, delete one
gracefully, and create or delete one for its owner with the owner's events
(``PodControl``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from orbit.api import ObjectMeta, OwnerReference, Pod, PodTemplateSpec, kind_info
from orbit.errors import NotFound, OrbitError
from orbit.store import OWNER_UID_FIELD, EventRecorder, Store

__all__ = [
    "FINISHED_PHASES",
    "controlled_by",
    "create_controlled_pod",
    "delete_controlled_pod",
    "delete_pod",
    "is_active",
    "is_available",
    "is_ready",
    "owner_reference",
    "pod_from_template",
    "ready_since",
]

FINISHED_PHASES = ("Succeeded", "Failed")


def owner_reference(owner: Any, *, controller: bool = True) -> OwnerReference:
    """A controller reference to ``owner`` (``blockOwnerDeletion`` set, as Kubernetes'
    controllers set it, so foreground deletion waits for the dependent)."""
    info = kind_info(owner)
    return OwnerReference(
        api_version=info.api_version,
        kind=info.kind,
        name=owner.metadata.name,
        uid=owner.metadata.uid,
        controller=controller,
        block_owner_deletion=True,
    )


def pod_from_template(
    template: PodTemplateSpec,
    owner: Any,
    *,
    generate_name: str = "",
    name: str = "",
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> Pod:
    """A new pod from ``template``, controlled by ``owner``, in the owner's namespace.

    Named ``name`` or generated from ``generate_name`` (Kubernetes uses the owner's
    name and a dash); ``labels`` and ``annotations`` are added to the template's.
    """
    meta = template.metadata
    return Pod(
        metadata=ObjectMeta(
            name=name,
            generate_name="" if name else generate_name,
            namespace=owner.metadata.namespace,
            labels={**meta.labels, **(labels or {})},
            annotations={**meta.annotations, **(annotations or {})},
            owner_references=(owner_reference(owner),),
        ),
        spec=template.spec,
    )


def controlled_by(store: Store, kind: type[Any], owner: Any) -> list[Any]:
    """The objects of ``kind`` in the owner's namespace whose controller is ``owner``."""
    uid = owner.metadata.uid
    listed = store.list(
        kind, namespace=owner.metadata.namespace, field_selector={OWNER_UID_FIELD: uid}
    )
    result = []
    for obj in listed.items:
        ref = obj.metadata.controller_ref()
        if ref is not None and ref.uid == uid:
            result.append(obj)
    return result


def is_active(pod: Pod) -> bool:
    """Neither finished nor being deleted (Kubernetes' ``IsPodActive``)."""
    return pod.status.phase not in FINISHED_PHASES and pod.metadata.deletion_timestamp is None


def is_ready(pod: Pod) -> bool:
    """The pod's Ready condition is True."""
    ready = pod.status.condition("Ready")
    return ready is not None and ready.status == "True"


def ready_since(pod: Pod) -> datetime | None:
    """When the pod last turned Ready (``None`` when it is not ready)."""
    ready = pod.status.condition("Ready")
    if ready is None or ready.status != "True":
        return None
    return ready.last_transition_time or pod.metadata.creation_timestamp


def is_available(pod: Pod, min_ready_seconds: int, now: float) -> bool:
    """Ready for at least ``min_ready_seconds`` at ``now`` (epoch seconds)."""
    since = ready_since(pod)
    if since is None:
        return False
    return min_ready_seconds == 0 or since.timestamp() + min_ready_seconds <= now


def delete_pod(store: Store, pod: Pod) -> Pod:
    """Delete ``pod`` as the API server would for a controller: gracefully (its
    ``terminationGracePeriodSeconds``) when a node runs it, at once when it is unbound
    or already finished."""
    grace = 0
    if pod.spec.node_name and pod.status.phase not in FINISHED_PHASES:
        grace = pod.spec.termination_grace_period_seconds
    deleted: Pod = store.delete(
        Pod, pod.metadata.name, pod.metadata.namespace, grace_period_s=grace
    )
    return deleted


def create_controlled_pod(store: Store, recorder: EventRecorder, owner: Any, pod: Pod) -> Pod:
    """Create ``pod`` for ``owner``, recording ``SuccessfulCreate`` on the owner; a
    refused create records ``FailedCreate`` and raises (Kubernetes'
    ``RealPodControl.CreatePods``)."""
    try:
        created: Pod = store.create(pod)
    except OrbitError as error:
        recorder.record(owner, "Warning", "FailedCreate", f"Error creating: {error}")
        raise
    recorder.record(owner, "Normal", "SuccessfulCreate", f"Created pod: {created.metadata.name}")
    return created


def delete_controlled_pod(store: Store, recorder: EventRecorder, owner: Any, pod: Pod) -> None:
    """:func:`delete_pod`, recording ``SuccessfulDelete`` on ``owner``; a pod already
    gone is neither an error nor an event (Kubernetes' ``RealPodControl.DeletePod``)."""
    try:
        delete_pod(store, pod)
    except NotFound:
        return
    recorder.record(owner, "Normal", "SuccessfulDelete", f"Deleted pod: {pod.metadata.name}")


def with_labels(obj: Any, labels: Mapping[str, str]) -> Any:
    """``obj`` with ``labels`` merged into its own."""
    meta = obj.metadata
    return attrs.evolve(obj, metadata=attrs.evolve(meta, labels={**meta.labels, **labels}))
