"""Network probes (httpGet, tcpSocket) shared by the runtimes that reach a container
through a host port: ProcessRuntime and DockerRuntime.

A probe names a container port (a number, or a port's name); the container is reached
where the node agent allocated its host port (:class:`PortBinding`), on loopback unless
the probe gives a host. The check is a plain HTTP/1.1 GET over anyio TCP streams (TLS
without verification for ``scheme: HTTPS``, as the kubelet does) or a bare TCP connect.
Failure messages copy the kubelet's (which are Go's ``net/http`` errors), so events
read like Kubernetes' own: ``Get "http://127.0.0.1:8080/healthz": dial tcp
127.0.0.1:8080: connect: connection refused``, ``HTTP probe failed with statuscode:
503``. Nothing raises: every outcome is a :class:`ProbeOutcome`.
"""

from __future__ import annotations

import errno
import socket
import ssl

import anyio
import anyio.abc

from orbit.api import HTTPGetAction, Probe

from ._protocol import ContainerLaunch, ProbeOutcome

__all__ = ["network_probe", "resolve_port"]

_USER_AGENT = "kube-probe/1.30"
_MAX_HEADER_BYTES = 64 * 1024

_CONNECT_WORDS = {
    errno.ECONNREFUSED: "connection refused",
    errno.EHOSTUNREACH: "no route to host",
    errno.ENETUNREACH: "network is unreachable",
    errno.ECONNRESET: "connection reset by peer",
    errno.ETIMEDOUT: "connection timed out",
}


async def network_probe(
    probe: Probe, launch: ContainerLaunch, host: str = "127.0.0.1"
) -> ProbeOutcome | None:
    """Run one httpGet or tcpSocket probe against the container of ``launch``.

    Returns ``None`` when the probe has neither handler (exec and grpc are the caller's).
    The whole attempt (connect, request, status line) must finish within the probe's
    ``timeout_seconds`` (at least 1 s, Kubernetes' minimum).
    """
    timeout_s = float(max(1, probe.timeout_seconds))
    if probe.http_get is not None:
        action = probe.http_get
        port = resolve_port(action.port, launch)
        if isinstance(port, ProbeOutcome):
            return port
        return await _http_get(action, action.host or host, port, timeout_s)
    if probe.tcp_socket is not None:
        port = resolve_port(probe.tcp_socket.port, launch)
        if isinstance(port, ProbeOutcome):
            return port
        return await _tcp_connect(probe.tcp_socket.host or host, port, timeout_s)
    return None


def resolve_port(port: int | str, launch: ContainerLaunch) -> int | ProbeOutcome:
    """The host port where a probe's ``port`` can be reached.

    A number is a container port: its binding's host port if the container declares it,
    else the number itself (a process listening on a port it did not declare). A name
    must be a declared port's name; an unknown name is a failed probe, as in the kubelet.
    """
    if isinstance(port, int) or port.isdigit():
        number = int(port)
        for binding in launch.ports:
            if binding.container_port == number:
                return binding.host_port or number
        return number
    for binding in launch.ports:
        if binding.name == port:
            return binding.host_port or binding.container_port
    return ProbeOutcome(success=False, message=f"couldn't find port: {port} in {launch.name}")


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _dial_error(host: str, port: int, exc: OSError) -> str:
    """Go's wording for a failed dial: ``dial tcp 127.0.0.1:1: connect: connection refused``."""
    if isinstance(exc, socket.gaierror):
        return f"dial tcp: lookup {host}: no such host"
    cause: BaseException | None = exc
    while cause is not None:
        code = getattr(cause, "errno", None)
        if isinstance(code, int) and code > 0:
            word = _CONNECT_WORDS.get(code, (cause.strerror or str(cause)).lower())  # type: ignore[attr-defined]
            return f"dial tcp {_hostport(host, port)}: connect: {word}"
        cause = cause.__cause__
    return f"dial tcp {_hostport(host, port)}: {exc}"


async def _connect(host: str, port: int, tls: bool) -> anyio.abc.ByteStream:
    if not tls:
        return await anyio.connect_tcp(host, port)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the kubelet does not verify probe certificates
    return await anyio.connect_tcp(host, port, tls=True, ssl_context=context)


async def _tcp_connect(host: str, port: int, timeout_s: float) -> ProbeOutcome:
    with anyio.move_on_after(timeout_s):
        try:
            stream = await anyio.connect_tcp(host, port)
        except OSError as exc:
            return ProbeOutcome(success=False, message=_dial_error(host, port, exc))
        await stream.aclose()
        return ProbeOutcome(success=True)
    return ProbeOutcome(success=False, message=f"dial tcp {_hostport(host, port)}: i/o timeout")


def _request(action: HTTPGetAction, host: str, port: int, path: str) -> bytes:
    headers = {"Host": _hostport(host, port), "User-Agent": _USER_AGENT, "Accept": "*/*"}
    for header in action.http_headers:
        canonical = next((key for key in headers if key.lower() == header.name.lower()), None)
        headers.pop(canonical or "", None)
        headers[header.name] = header.value
    headers["Connection"] = "close"
    lines = [f"GET {path} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    return "\r\n".join(lines).encode("latin-1", errors="replace")


async def _status_line(stream: anyio.abc.ByteStream) -> bytes:
    """Read up to the end of the response's first line (or EOF)."""
    buffer = b""
    while b"\r\n" not in buffer and len(buffer) < _MAX_HEADER_BYTES:
        try:
            chunk = await stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
            break
        buffer += chunk
    return buffer.split(b"\r\n", 1)[0]


async def _http_get(action: HTTPGetAction, host: str, port: int, timeout_s: float) -> ProbeOutcome:
    path = action.path or "/"
    if not path.startswith("/"):
        path = "/" + path
    url = f"{action.scheme.lower()}://{_hostport(host, port)}{path}"
    with anyio.move_on_after(timeout_s):
        try:
            stream = await _connect(host, port, action.scheme == "HTTPS")
        except OSError as exc:
            return ProbeOutcome(
                success=False, message=f'Get "{url}": {_dial_error(host, port, exc)}'
            )
        try:
            await stream.send(_request(action, host, port, path))
            line = await _status_line(stream)
        except (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
            return ProbeOutcome(success=False, message=f'Get "{url}": {exc}')
        finally:
            with anyio.CancelScope(shield=True):
                await stream.aclose()
        return _judge_status(url, line)
    return ProbeOutcome(
        success=False,
        message=f'Get "{url}": context deadline exceeded '
        "(Client.Timeout exceeded while awaiting headers)",
    )


def _judge_status(url: str, line: bytes) -> ProbeOutcome:
    """Success for 200 to 399, Kubernetes' message otherwise."""
    if not line:
        return ProbeOutcome(success=False, message=f'Get "{url}": EOF')
    parts = line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        shown = line[:64].decode("latin-1")
        return ProbeOutcome(
            success=False, message=f'Get "{url}": malformed HTTP response "{shown}"'
        )
    status = int(parts[1])
    if 200 <= status < 400:
        return ProbeOutcome(success=True)
    return ProbeOutcome(success=False, message=f"HTTP probe failed with statuscode: {status}")
