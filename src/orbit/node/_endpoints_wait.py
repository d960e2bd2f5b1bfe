"""Before a deleted pod's containers get SIGTERM, the pod leaves every Endpoints.

In Kubernetes the kubelet and the endpoints controller both react to a pod's
``deletionTimestamp`` independently, so a proxy may still route new connections to a
pod that has already begun to shut down (the reason for the usual ``preStop: sleep``).
orbit has one store in one process, so it can keep the order: the pod worker calls
:func:`wait_unlisted` before it stops the containers of a pod being deleted. The
endpoints controller drops a terminating pod within a turn of its loop; the wait only
makes the order certain. It is bounded (:data:`ENDPOINTS_WAIT_S`, or the pod's grace
when shorter): an Endpoints nobody updates (a manual one naming the pod, or a cluster
run without the endpoints controller) delays the stop by that much, never more.

The wait lists the namespace's Endpoints, returns at once when none names the pod
(so it costs no time, virtual or real, when they are already clean), else watches
from the list's resourceVersion until the last one naming the pod changes.
"""

from __future__ import annotations

import anyio

from orbit.api import Endpoints, Pod
from orbit.errors import ResourceExpired
from orbit.store import Store

__all__ = ["ENDPOINTS_WAIT_S", "lists_pod", "wait_unlisted"]

ENDPOINTS_WAIT_S = 2.0
"""The longest a stop waits for the pod to leave the endpoints."""


def lists_pod(endpoints: Endpoints, uid: str) -> bool:
    """Whether any address of ``endpoints`` (ready or not) points at pod ``uid``."""
    for subset in endpoints.subsets:
        for address in (*subset.addresses, *subset.not_ready_addresses):
            ref = address.target_ref
            if ref is not None and ref.uid == uid:
                return True
    return False


async def wait_unlisted(store: Store, pod: Pod, limit_s: float) -> bool:
    """Wait until no Endpoints in the pod's namespace lists it (by uid), at most
    ``limit_s`` seconds; True when it is unlisted, False when the time ran out."""
    namespace, uid = pod.metadata.namespace, pod.metadata.uid
    with anyio.move_on_after(max(0.0, limit_s)):
        while True:
            listed = store.list(Endpoints, namespace=namespace)
            holding = {e.metadata.name for e in listed.items if lists_pod(e, uid)}
            if not holding:
                return True
            try:
                async with store.watch(
                    Endpoints, namespace=namespace, resource_version=listed.resource_version
                ) as watch:
                    async for event in watch:
                        endpoints = event.object
                        if event.type != "DELETED" and lists_pod(endpoints, uid):
                            holding.add(endpoints.metadata.name)
                        else:
                            holding.discard(endpoints.metadata.name)
                        if not holding:
                            return True
                return False  # the store closed its watches: nothing will change
            except ResourceExpired:
                continue  # fell behind: list again
    return False
