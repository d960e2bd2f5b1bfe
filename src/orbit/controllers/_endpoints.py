"""The endpoints controller: each Service with a selector gets an Endpoints object of
the same name listing where its pods are reached.

Kubernetes' endpoints controller (``pkg/controller/endpoint``), keyed by Service:

- **Service** events concern the Service itself. When a Service goes, its Endpoints
  are deleted here, as Kubernetes does (no owner reference, no garbage collector).
- **Pod** events concern the Services in the pod's namespace whose selector matches
  the pod's labels, before or after the change: a pod that stopped matching (its
  labels changed) or was deleted still has to leave its old Services, so the
  controller remembers which Services each selected pod matched. Of the Services it
  still matches, only those to which the pod's part changed are woken: each pod's
  part of each Service's Endpoints (:func:`._endpoints_plan.pod_part`) is memoised
  by resourceVersion, so the event's part is compared with the last one. That is
  Kubernetes' ``podEndpointsChanged`` made exact: a status write that moves no
  address or port (a probe's timestamp, a restart count) wakes no Service, and a
  reconcile recomputes only the pods that changed.
- **Endpoints** events concern their own Service, so a manual edit of an Endpoints
  the controller writes is put right (Kubernetes only re-creates a deleted one); the
  echo of the controller's own write is skipped.

The reconcile lists the selected pods, gathers their parts into subsets
(:func:`._endpoints_plan.endpoint_subsets`) and writes only when they or the labels
changed. A Service without a selector (or an ExternalName) is left alone: its
Endpoints are the user's. Each write is in the store before the loop's next turn, and
the node agent waits until a terminating pod is gone from every Endpoints before it
stops its containers (``orbit.node``), so no new connection is routed to a pod that
is shutting down.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from orbit.api import Endpoints, EndpointSubset, Pod, Service
from orbit.clock import Clock
from orbit.errors import NotFound
from orbit.store import EventRecorder, EventType, Store

from ._base import BaseController
from ._endpoints_plan import desired_endpoints, endpoint_subsets, manages, pod_part
from ._loop import Key, Watched

__all__ = ["EndpointsController"]

_Part = tuple[EndpointSubset, ...]


def _selects(service: Service, pod: Pod) -> bool:
    """A Service's selector is a plain label map (Kubernetes' ``labels.Set``)."""
    selector, labels = service.spec.selector, pod.metadata.labels
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


class EndpointsController(BaseController):
    """Writes the Endpoints of Services with a selector (module docstring); takes the
    store, the clock and an optional ``recorder`` (:class:`BaseController`)."""

    name = "endpoints-controller"

    def __init__(
        self, store: Store, clock: Clock, *, recorder: EventRecorder | None = None
    ) -> None:
        super().__init__(store, clock, recorder=recorder)
        self._matched: dict[str, tuple[Key, ...]] = {}  # pod uid -> Services it matches
        # pod uid -> Service uid -> (Service version, pod version, the pod's part)
        self._parts: dict[str, dict[str, tuple[str, str, _Part]]] = {}
        self._gone: set[Key] = set()  # Services deleted, their Endpoints not yet
        self._written: dict[Key, str] = {}  # resourceVersion of the controller's last write

    @property
    def watches(self) -> Sequence[Watched]:
        return (
            Watched(Service, self._service_keys),
            Watched(Pod, self._pod_keys),
            Watched(Endpoints, self._endpoints_keys),
        )

    # -- event -> keys -------------------------------------------------------------------

    def _service_keys(self, event: EventType, service: Service) -> Sequence[Key]:
        key = (service.metadata.namespace, service.metadata.name)
        if event == "DELETED":
            self._gone.add(key)
        else:
            self._gone.discard(key)
        return (key,)

    def _pod_keys(self, event: EventType, pod: Pod) -> Sequence[Key]:
        uid = pod.metadata.uid
        before = self._matched.pop(uid, ())
        if event == "DELETED":
            self._parts.pop(uid, None)
            return before
        namespace = pod.metadata.namespace
        services = [
            s for s in self.store.list(Service, namespace=namespace).items if _selects(s, pod)
        ]
        now = tuple((namespace, s.metadata.name) for s in services)
        if now:
            self._matched[uid] = now
        woken = [key for key in before if key not in now]  # left: its address must go
        known = self._parts.get(uid, {})
        for service, key in zip(services, now, strict=True):
            last = known.get(service.metadata.uid)
            part = self._pod_part(service, pod)
            if key not in before or last is None or last[2] != part:
                woken.append(key)
        return woken

    def _endpoints_keys(self, event: EventType, endpoints: Endpoints) -> Sequence[Key]:
        meta = endpoints.metadata
        key = (meta.namespace, meta.name)
        if event == "DELETED":
            self._written.pop(key, None)
        elif self._written.get(key) == meta.resource_version:
            return ()  # the echo of this controller's own write
        return (key,)

    # -- reconcile ---------------------------------------------------------------------

    def reconcile(self, key: Key) -> float | None:
        namespace, name = key
        try:
            service = self.store.get(Service, name, namespace)
        except NotFound:
            if key in self._gone:
                self._gone.discard(key)
                self._written.pop(key, None)
                with contextlib.suppress(NotFound):
                    self.store.delete(Endpoints, name, namespace)
            return None
        if not manages(service):
            return None
        pods = self.store.list(Pod, namespace=namespace, label_selector=service.spec.selector)
        subsets = endpoint_subsets(service, pods.items, per_pod=self._pod_part)
        if subsets is None:
            return None
        try:
            current: Endpoints | None = self.store.get(Endpoints, name, namespace)
        except NotFound:
            current = None
        wanted = desired_endpoints(service, subsets, current)
        if wanted is None:
            return None
        stored = self.store.create(wanted) if current is None else self.store.update(wanted)
        self._written[key] = stored.metadata.resource_version
        return None

    def _pod_part(self, service: Service, pod: Pod) -> _Part:
        """:func:`pod_part`, computed again only when the pod or the Service changed:
        a reconcile after one pod's change costs that pod's work and a sort."""
        parts = self._parts.setdefault(pod.metadata.uid, {})
        versions = (service.metadata.resource_version, pod.metadata.resource_version)
        last = parts.get(service.metadata.uid)
        if last is not None and last[:2] == versions:
            return last[2]
        part = pod_part(service, pod)
        parts[service.metadata.uid] = (*versions, part)
        return part
