"""What the control server needs of a cluster: :class:`ControlTarget`, the Cluster's
verbs it calls, as a Protocol.

:class:`orbit.Cluster` starts the control server, so this package cannot import
it; the server is handed the cluster and sees it only through this Protocol (which
``Cluster`` satisfies structurally; a type check keeps it so). Signatures are the
Cluster's, narrowed to the arguments the control API passes.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Literal, Protocol, overload

from orbit.clock import Clock
from orbit.store import Store

__all__ = ["AgentLike", "ControlTarget", "RevisionLike", "RuntimeLike", "UsageLike"]


class UsageLike(Protocol):
    """A container's resource use (``orbit.runtimes.Usage``)."""

    @property
    def cpu_cores(self) -> float: ...
    @property
    def memory_bytes(self) -> int: ...


class RuntimeLike(Protocol):
    """What ``info`` reads of a runtime."""

    @property
    def kind(self) -> str: ...


class AgentLike(Protocol):
    """What ``info`` reads of a node agent."""

    @property
    def runtime(self) -> RuntimeLike: ...


class RevisionLike(Protocol):
    """One entry of ``rollout_history`` (``orbit._rollout.Revision``)."""

    @property
    def revision(self) -> int: ...
    @property
    def replica_set(self) -> str: ...
    @property
    def images(self) -> tuple[str, ...]: ...
    @property
    def change_cause(self) -> str: ...


class ControlTarget(Protocol):
    """The cluster a :class:`~orbit.control.ControlServer` serves (an
    :class:`orbit.Cluster`)."""

    @property
    def store(self) -> Store: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def cluster_id(self) -> str: ...
    @property
    def agents(self) -> Mapping[str, AgentLike]: ...

    async def get(self, kind: str, name: str, namespace: str = "default") -> Any: ...
    async def list(
        self,
        kind: str,
        namespace: str | None = None,
        selector: str | None = None,
    ) -> builtins.list[Any]: ...
    async def apply(self, source: Any) -> Sequence[Any]: ...
    async def delete(self, kind: str, name: str, namespace: str = "default") -> Any: ...
    async def scale(self, target: str, replicas: int, *, namespace: str = "default") -> Any: ...
    async def set_image(
        self,
        target: str,
        images: Mapping[str, str] | None = None,
        *,
        namespace: str = "default",
    ) -> Any: ...
    async def rollout_status(
        self, target: str, *, namespace: str = "default", timeout_s: float = 600.0
    ) -> Any: ...
    async def rollout_history(
        self, target: str, *, namespace: str = "default"
    ) -> Sequence[RevisionLike]: ...
    async def rollout_undo(
        self, target: str, to_revision: int | None = None, *, namespace: str = "default"
    ) -> Any: ...
    async def rollout_pause(self, target: str, *, namespace: str = "default") -> Any: ...
    async def rollout_resume(self, target: str, *, namespace: str = "default") -> Any: ...
    @overload
    async def logs(
        self,
        pod: str,
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
        pod: str,
        container: str | None = None,
        *,
        namespace: str = "default",
        follow: Literal[True],
        tail: int | None = None,
        previous: bool = False,
    ) -> AsyncIterator[str]: ...
    async def events(
        self, namespace: str | None = None, *, involved: Any | None = None
    ) -> Sequence[Any]: ...
    def watch(
        self,
        kind: str | type[Any],
        namespace: str | None = None,
        selector: str | Mapping[str, str] | None = None,
        *,
        resource_version: str | None = None,
    ) -> Any: ...
    async def cordon(self, node: str) -> Any: ...
    async def uncordon(self, node: str) -> Any: ...
    async def drain(
        self,
        node: str,
        *,
        timeout_s: float = 300.0,
        grace_s: int | None = None,
        force: bool = False,
        delete_emptydir_data: bool = False,
    ) -> Sequence[Any]: ...
    async def service_url(
        self,
        name: str,
        port_name: str | None = None,
        *,
        namespace: str = "default",
        timeout_s: float = 10.0,
    ) -> str: ...
    async def pod_usage(self) -> Mapping[tuple[str, str], Mapping[str, UsageLike]]: ...
