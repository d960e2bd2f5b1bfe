"""The control client: a running cluster's verbs from another process.

:class:`ControlClient` is what the ``orbit`` CLI (and any script) uses to drive a
cluster started elsewhere: one async method per verb of the control API, named as the
verb, each one ``POST /v1/<verb>`` on a fresh connection to the cluster's Unix socket
(or its TCP listener, with a token). Answers are plain JSON values (objects as
Kubernetes-shaped dicts); failures raise :class:`~orbit.control.ControlError` with the
server's ``reason``, or ``Unavailable`` when no orbit answers, ``Timeout`` when it
answers too slowly.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Mapping
from typing import Any
from urllib.parse import urlsplit

import anyio
import anyio.abc
from anyio.streams.buffered import BufferedByteReceiveStream

from ._errors import ControlError, error_from_body
from ._http import (
    HttpError,
    ResponseHead,
    iter_chunks,
    parse_response_head,
    read_head,
    read_response_body,
    request_bytes,
)
from ._paths import default_socket_path

__all__ = ["ControlClient"]

_GONE = (anyio.EndOfStream, anyio.IncompleteRead, anyio.BrokenResourceError, ConnectionError)
_MARGIN_S = 10.0  # beyond a server-side wait, for the answer to arrive


def _body(**fields: Any) -> dict[str, Any]:
    """The request body: the fields given, None ones left to the server's defaults."""
    return {name: value for name, value in fields.items() if value is not None}


class ControlClient:
    """Talks to a running orbit's control API.

    Args:
        path: the cluster's Unix socket (default: ``default_socket_path()``).
        url: ``http://host:port`` of a TCP listener instead of the socket.
        token: the bearer token the TCP listener wants.
        timeout_s: how long one call may take (verbs that wait on the server,
            ``rollout_status`` and ``drain``, get their own wait on top).
    """

    def __init__(
        self,
        path: str | None = None,
        *,
        url: str | None = None,
        token: str | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self.url = url
        self.token = token
        self.timeout_s = timeout_s
        self.path = None if url is not None else (path or default_socket_path())
        self._tcp: tuple[str, int] | None = None
        if url is not None:
            parts = urlsplit(url if "://" in url else f"http://{url}")
            if parts.scheme != "http" or not parts.hostname or parts.port is None:
                raise ValueError(f"expected a url such as http://127.0.0.1:8443, got {url!r}")
            self._tcp = (parts.hostname, parts.port)

    @property
    def where(self) -> str:
        """The socket path or url this client talks to."""
        return self.url if self.url is not None else str(self.path)

    # -- transport -----------------------------------------------------------------

    async def _connect(self) -> anyio.abc.ByteStream:
        try:
            if self._tcp is not None:
                return await anyio.connect_tcp(*self._tcp)
            assert self.path is not None
            return await anyio.connect_unix(self.path)
        except (FileNotFoundError, ConnectionRefusedError):
            raise ControlError(
                "Unavailable",
                f"no orbit is running at {self.where} (start one with `orbit up`)",
            ) from None
        except OSError as exc:
            reason = exc.strerror or str(exc)
            message = f"cannot reach orbit at {self.where}: {reason}"
            raise ControlError("Unavailable", message) from None

    async def _open(
        self, verb: str, body: Mapping[str, Any]
    ) -> tuple[anyio.abc.ByteStream, BufferedByteReceiveStream, ResponseHead]:
        """Connect, send the request and read the answer's head."""
        data = json.dumps(body, separators=(",", ":")).encode()
        host = "localhost" if self._tcp is None else f"{self._tcp[0]}:{self._tcp[1]}"
        stream = await self._connect()
        try:
            await stream.send(request_bytes(f"/v1/{verb}", data, host=host, token=self.token))
            buffered = BufferedByteReceiveStream(stream)
            head = parse_response_head(await read_head(buffered))
        except BaseException:
            await anyio.aclose_forcefully(stream)
            raise
        return stream, buffered, head

    def _broken(self, verb: str, exc: BaseException) -> ControlError:
        if isinstance(exc, HttpError):
            return ControlError("Internal", f"orbit at {self.where} answered {verb}: {exc}")
        return ControlError(
            "Unavailable", f"orbit at {self.where} closed the connection during {verb}"
        )

    async def request(
        self, verb: str, body: Mapping[str, Any] | None = None, *, timeout_s: float | None = None
    ) -> Any:
        """Call a verb with a JSON body; returns the answer's ``result``."""
        limit = self.timeout_s if timeout_s is None else timeout_s
        try:
            with anyio.fail_after(limit):
                stream, buffered, head = await self._open(verb, body or {})
                async with stream:
                    raw = await read_response_body(buffered, head)
        except TimeoutError:
            message = f"orbit at {self.where} did not answer {verb} within {limit:g}s"
            raise ControlError("Timeout", message) from None
        except (*_GONE, HttpError) as exc:
            raise self._broken(verb, exc) from None
        try:
            answer = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            answer = None
        if head.status != 200:
            raise error_from_body(head.status, answer)
        if not isinstance(answer, dict) or "result" not in answer:
            raise ControlError("Internal", f"orbit at {self.where} gave no result for {verb}")
        return answer["result"]

    # -- reading -------------------------------------------------------------------

    async def info(self) -> Any:
        """The cluster: ``{cluster_id, nodes, runtimes, socket, tcp, started_at, pid,
        version}``."""
        return await self.request("info")

    async def get(
        self,
        kind: str,
        name: str | None = None,
        *,
        namespace: str = "default",
        all_namespaces: bool = False,
        selector: str | None = None,
    ) -> Any:
        """One object (a dict) when ``name`` is given, else ``{"items": [...]}``."""
        return await self.request(
            "get",
            _body(
                kind=kind,
                name=name,
                namespace=namespace,
                all_namespaces=all_namespaces,
                selector=selector,
            ),
        )

    async def events(
        self,
        *,
        namespace: str = "default",
        all_namespaces: bool = False,
        involved: Mapping[str, str] | tuple[str, str] | None = None,
    ) -> Any:
        """Events, oldest first; only those about ``involved`` (``{"kind", "name"}``
        or a ``(kind, name)`` pair) if given."""
        if isinstance(involved, tuple):
            involved = {"kind": involved[0], "name": involved[1]}
        return await self.request(
            "events",
            _body(
                namespace=namespace,
                all_namespaces=all_namespaces,
                involved=dict(involved) if involved is not None else None,
            ),
        )

    async def logs(
        self,
        pod: str,
        *,
        container: str | None = None,
        namespace: str = "default",
        tail: int | None = None,
        previous: bool = False,
    ) -> list[str]:
        """A container's output lines."""
        answer = await self.request(
            "logs",
            _body(pod=pod, container=container, namespace=namespace, tail=tail, previous=previous),
        )
        return list(answer["lines"])

    async def follow_logs(
        self,
        pod: str,
        *,
        container: str | None = None,
        namespace: str = "default",
        tail: int | None = None,
        previous: bool = False,
    ) -> AsyncGenerator[str, None]:
        """A container's output lines as they are written, until it ends (``logs
        -f``). Leave early with ``break``: closing the iterator closes the stream."""
        body = _body(
            pod=pod,
            container=container,
            namespace=namespace,
            tail=tail,
            previous=previous,
            follow=True,
        )
        async for line in self._lines("logs", body):
            yield line

    async def watch(
        self,
        kind: str,
        *,
        namespace: str = "default",
        all_namespaces: bool = False,
        selector: str | None = None,
    ) -> AsyncGenerator[dict[str, Any], None]:
        """``get -w``: every matching object first (``ADDED``), then each change, as
        ``{"type": "ADDED" | "MODIFIED" | "DELETED", "object": {...}}``, until the
        iterator is closed (``break``) or the cluster stops."""
        body = _body(
            kind=kind, namespace=namespace, all_namespaces=all_namespaces, selector=selector
        )
        async for line in self._lines("watch", body):
            if line:
                yield json.loads(line)

    async def _lines(self, verb: str, body: dict[str, Any]) -> AsyncGenerator[str, None]:
        """A streamed answer's lines as they come (the server sends them chunked)."""
        try:
            with anyio.fail_after(self.timeout_s):
                stream, buffered, head = await self._open(verb, body)
                if head.status != 200:
                    async with stream:
                        raw = await read_response_body(buffered, head)
        except TimeoutError:
            message = f"orbit at {self.where} did not answer {verb} within {self.timeout_s:g}s"
            raise ControlError("Timeout", message) from None
        except (*_GONE, HttpError) as exc:
            raise self._broken(verb, exc) from None
        if head.status != 200:
            try:
                answer = json.loads(raw)
            except (UnicodeDecodeError, json.JSONDecodeError):
                answer = None
            raise error_from_body(head.status, answer)
        async with stream:
            pending = b""
            try:
                async for data in iter_chunks(buffered):
                    *lines, pending = (pending + data).split(b"\n")
                    for line in lines:
                        yield line.decode(errors="replace")
            except (*_GONE, HttpError) as exc:
                raise self._broken(verb, exc) from None
            if pending:
                yield pending.decode(errors="replace")

    async def top_pods(self, *, namespace: str = "default", all_namespaces: bool = False) -> Any:
        """``[{namespace, pod, cpu_millis, memory_bytes}]`` for running pods."""
        return await self.request(
            "top_pods", _body(namespace=namespace, all_namespaces=all_namespaces)
        )

    async def top_nodes(self) -> Any:
        """``[{node, cpu_millis, cpu_percent, memory_bytes, memory_percent}]``."""
        return await self.request("top_nodes")

    async def service_url(
        self,
        name: str,
        port_name: str | None = None,
        *,
        namespace: str = "default",
        timeout_s: float | None = None,
    ) -> str:
        """``http://127.0.0.1:<port>`` where the cluster's service proxy serves it."""
        wait = 10.0 if timeout_s is None else timeout_s
        url = await self.request(
            "service_url",
            _body(name=name, namespace=namespace, port_name=port_name, timeout_s=timeout_s),
            timeout_s=max(self.timeout_s, wait + _MARGIN_S),
        )
        return str(url)

    # -- changing ------------------------------------------------------------------

    async def apply(self, documents: list[Any]) -> Any:
        """Create or update every manifest dict, or none: ``[{apiVersion, kind, name,
        namespace, action, warnings}]`` (action: created, configured, unchanged)."""
        return await self.request("apply", {"documents": list(documents)})

    async def delete(self, kind: str, name: str, *, namespace: str = "default") -> None:
        """Delete an object (dependents go in the background, as kubectl's default)."""
        await self.request("delete", _body(kind=kind, name=name, namespace=namespace))

    async def scale(self, target: str, replicas: int, *, namespace: str = "default") -> Any:
        """Set replicas of ``"deployment/web"`` (or a ReplicaSet); returns it."""
        return await self.request(
            "scale", _body(target=target, replicas=replicas, namespace=namespace)
        )

    async def set_image(
        self, target: str, images: Mapping[str, str], *, namespace: str = "default"
    ) -> Any:
        """Change container images (``{"web": "web:v2"}``, ``"*"`` for all)."""
        return await self.request(
            "set_image", _body(target=target, images=dict(images), namespace=namespace)
        )

    async def rollout_status(
        self, target: str, *, namespace: str = "default", timeout_s: float | None = None
    ) -> Any:
        """Wait for a Deployment's rollout to complete; returns the Deployment."""
        wait = 600.0 if timeout_s is None else timeout_s
        return await self.request(
            "rollout_status",
            _body(target=target, namespace=namespace, timeout_s=timeout_s),
            timeout_s=max(self.timeout_s, wait + _MARGIN_S),
        )

    async def rollout_history(self, target: str, *, namespace: str = "default") -> Any:
        """``[{revision, replica_set, images, change_cause}]``, oldest first."""
        return await self.request("rollout_history", _body(target=target, namespace=namespace))

    async def rollout_undo(
        self, target: str, to_revision: int | None = None, *, namespace: str = "default"
    ) -> Any:
        """Roll back to ``to_revision`` (default: the previous one)."""
        return await self.request(
            "rollout_undo", _body(target=target, to_revision=to_revision, namespace=namespace)
        )

    async def rollout_pause(self, target: str, *, namespace: str = "default") -> Any:
        """Pause a Deployment's rollout."""
        return await self.request("rollout_pause", _body(target=target, namespace=namespace))

    async def rollout_resume(self, target: str, *, namespace: str = "default") -> Any:
        """Resume a paused Deployment's rollout."""
        return await self.request("rollout_resume", _body(target=target, namespace=namespace))

    async def cordon(self, node: str) -> Any:
        """Mark a node unschedulable; returns the Node."""
        return await self.request("cordon", {"node": node})

    async def uncordon(self, node: str) -> Any:
        """Make a node schedulable again; returns the Node."""
        return await self.request("uncordon", {"node": node})

    async def drain(
        self,
        node: str,
        *,
        timeout_s: float | None = None,
        grace_s: int | None = None,
        force: bool = False,
        ignore_daemonsets: bool = False,
        delete_emptydir_data: bool = False,
    ) -> Any:
        """Cordon a node and evict its pods (PodDisruptionBudgets hold); returns the
        evicted pods."""
        wait = 300.0 if timeout_s is None else timeout_s
        return await self.request(
            "drain",
            _body(
                node=node,
                timeout_s=timeout_s,
                grace_s=grace_s,
                force=force,
                ignore_daemonsets=ignore_daemonsets,
                delete_emptydir_data=delete_emptydir_data,
            ),
            timeout_s=max(self.timeout_s, wait + _MARGIN_S),
        )
