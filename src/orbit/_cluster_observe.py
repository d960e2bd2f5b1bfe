"""The Cluster's verbs for watching what happens: ``watch``, ``events``, ``logs`` and
``wait_for`` (kubectl's ``get --watch``, ``events``, ``logs`` and ``wait``).

``watch`` and ``wait_for`` are the store's watches (list, then watch from the list's
resource version, so nothing is missed; no polling); ``logs`` reads a container's
output from the runtime of the node it runs on.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Literal, overload

import anyio

from orbit.api import Event, Pod, resolve_kind
from orbit.errors import OrbitError, ResourceExpired
from orbit.store import Watch

from ._cluster_parts import ClusterParts
from ._wait import Condition, compile_condition, describe

__all__ = ["ObserveMixin"]


class ObserveMixin(ClusterParts):
    """The watching verbs of :class:`orbit.Cluster`."""

    def watch(
        self,
        kind: str | type[Any],
        namespace: str | None = None,
        selector: str | Mapping[str, str] | None = None,
        *,
        resource_version: str | None = None,
    ) -> Watch[Any]:
        """An async iterator of ADDED / MODIFIED / DELETED events for a kind. Without a
        ``resource_version`` it starts now; list first, then watch from the list's
        resource version to miss nothing."""
        info = resolve_kind(kind)
        return self.store.watch(
            info,
            namespace=namespace if info.namespaced else None,
            label_selector=selector,
            resource_version=resource_version,
        )

    async def events(
        self,
        namespace: str | None = None,
        *,
        involved: Any | None = None,
    ) -> Sequence[Event]:
        """Events, oldest first; only those about ``involved`` (an object) if given."""
        events: list[Event] = await self.list(Event, namespace)
        if involved is not None:
            uid = involved.metadata.uid
            events = [e for e in events if e.involved_object.uid == uid]
        return sorted(events, key=_event_time)

    # -- logs and waiting ------------------------------------------------------------

    @overload
    async def logs(
        self,
        pod: str | Pod,
        container: str | None = None,
        *,
        namespace: str = "default",
        follow: Literal[False] = False,
        tail: int | None = None,
        previous: bool = False,
    ) -> builtins.list[str]: ...
    @overload
    async def logs(
        self,
        pod: str | Pod,
        container: str | None = None,
        *,
        namespace: str = "default",
        follow: Literal[True],
        tail: int | None = None,
        previous: bool = False,
    ) -> AsyncIterator[str]: ...
    async def logs(
        self,
        pod: str | Pod,
        container: str | None = None,
        *,
        namespace: str = "default",
        follow: bool = False,
        tail: int | None = None,
        previous: bool = False,
    ) -> builtins.list[str] | AsyncIterator[str]:
        """A container's output lines (stdout and stderr interleaved), as
        ``kubectl logs``: a list of lines, the last ``tail`` of them if given; with
        ``follow=True`` an async iterator that keeps yielding until the container ends.
        ``previous`` reads the container's previous instance (before its last restart).

        ``pod`` is a name (in ``namespace``) or a Pod. ``container`` may be left out
        when the pod has one container; otherwise a ``ValueError`` lists them.
        """
        obj = pod if isinstance(pod, Pod) else self.store.get(Pod, pod, namespace)
        name = obj.metadata.name
        container = _pick_container(obj, container)
        agent = self.agents.get(obj.spec.node_name)
        if agent is None:
            where = obj.spec.node_name
            raise OrbitError(
                f'pod "{name}" is not on a node of this cluster'
                if where
                else f'pod "{name}" is not scheduled yet'
            )
        current, before = agent.container_ids(obj.metadata.uid, container)
        container_id = before if previous else current
        if not container_id:
            if previous:
                message = f'previous terminated container "{container}" in pod "{name}" not found'
                raise OrbitError(message)
            reason = _waiting_reason(obj, container)
            raise OrbitError(
                f'container "{container}" in pod "{name}" is waiting to start: {reason}'
            )
        lines = agent.runtime.logs(container_id, tail=tail, follow=follow)
        if follow:
            return lines
        return [line async for line in lines]

    async def wait_for(
        self,
        kind: str | type[Any],
        name: str,
        condition: Condition,
        *,
        timeout_s: float = 60.0,
        namespace: str = "default",
    ) -> Any:
        """Wait until an object meets ``condition``, as ``kubectl wait``; returns the
        object (``None`` for ``"deleted"``).

        ``condition`` is ``"deleted"``, a phase or condition type (``"Ready"``,
        ``"Complete"``, ``"Running"``, ``"Succeeded"``, ``"Failed"``),
        ``"condition=Ready=False"``, a field path and value (``"status.phase=Running"``,
        ``"jsonpath={.status.readyReplicas}=3"``) or a predicate over the object; see
        :mod:`orbit._wait`. Watch-based: no polling. ``TimeoutError`` names what was
        awaited and the last state seen.
        """
        info = resolve_kind(kind)
        namespace = namespace if info.namespaced else ""
        check, wanted = compile_condition(condition)
        last: Any = None
        with anyio.move_on_after(timeout_s):
            while True:
                listed = self.store.list(
                    info, namespace=namespace, field_selector={"metadata.name": name}
                )
                last = listed.items[0] if listed.items else None
                if check(last):
                    return last
                try:
                    async with self.store.watch(
                        info,
                        namespace=namespace,
                        field_selector={"metadata.name": name},
                        resource_version=listed.resource_version,
                    ) as watch:
                        async for event in watch:
                            last = None if event.type == "DELETED" else event.object
                            if check(last):
                                return last
                except ResourceExpired:
                    continue
        subject = f"{info.kind.lower()}/{name}"
        raise TimeoutError(
            f"timed out after {timeout_s:g}s waiting for {subject} to be {wanted}; {describe(last)}"
        )


def _pick_container(pod: Pod, container: str | None) -> str:
    """The container ``logs`` reads: the one named, or the pod's only one."""
    names = [c.name for c in pod.spec.containers]
    init = [c.name for c in pod.spec.init_containers]
    if container is None:
        if len(names) == 1:
            return names[0]
        message = (
            f"a container name must be specified for pod {pod.metadata.name}, "
            f"choose one of: [{' '.join(names)}]"
        )
        if init:
            message += f" or one of the init containers: [{' '.join(init)}]"
        raise ValueError(message)
    if container not in names and container not in init:
        raise ValueError(
            f"container {container} is not valid for pod {pod.metadata.name}; "
            f"its containers: [{' '.join(init + names)}]"
        )
    return container


def _waiting_reason(pod: Pod, container: str) -> str:
    for status in (*pod.status.init_container_statuses, *pod.status.container_statuses):
        if status.name == container and status.state.waiting is not None:
            return status.state.waiting.reason or "ContainerCreating"
    return "ContainerCreating"


def _event_time(event: Event) -> tuple[float, str]:
    stamp = event.last_timestamp or event.first_timestamp or event.metadata.creation_timestamp
    return (stamp.timestamp() if stamp else 0.0, event.metadata.name)
