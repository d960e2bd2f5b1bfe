"""The network probe's pure parts: which host port a probe port means, the request it
sends, and how a status line and dial errors read (the kubelet's words)."""

from __future__ import annotations

import errno
import socket

import pytest

from orbit.api import ExecAction, GRPCAction, HTTPGetAction, HTTPHeader, Probe
from orbit.runtimes import ContainerLaunch, PortBinding, ProbeOutcome
from orbit.runtimes._probing import (
    _dial_error,
    _judge_status,
    _request,
    network_probe,
    resolve_port,
)

LAUNCH = ContainerLaunch(
    pod_uid="u",
    pod_name="web",
    namespace="default",
    name="app",
    ports=(
        PortBinding(name="http", container_port=8080, host_port=31080),
        PortBinding(name="admin", container_port=9000, host_port=0),
    ),
)


@pytest.mark.parametrize(
    ("port", "expected"),
    [
        (8080, 31080),  # a declared container port: its host port
        ("8080", 31080),
        (7000, 7000),  # not declared: the number itself
        ("http", 31080),  # a name
        ("admin", 9000),  # declared but not allocated
    ],
)
def test_resolve_port(port: int | str, expected: int) -> None:
    assert resolve_port(port, LAUNCH) == expected


def test_unknown_port_name_is_a_failed_probe() -> None:
    assert resolve_port("metrics", LAUNCH) == ProbeOutcome(
        success=False, message="couldn't find port: metrics in app"
    )


def test_request_has_kubelet_headers_and_overrides() -> None:
    action = HTTPGetAction(
        path="/healthz",
        port=8080,
        http_headers=(
            HTTPHeader(name="host", value="example.test"),
            HTTPHeader(name="X-A", value="1"),
        ),
    )
    text = _request(action, "127.0.0.1", 31080, "/healthz").decode()
    assert text.startswith("GET /healthz HTTP/1.1\r\n")
    assert "User-Agent: kube-probe/" in text
    assert "host: example.test\r\n" in text
    assert "Host: 127.0.0.1" not in text
    assert "X-A: 1\r\n" in text
    assert text.endswith("Connection: close\r\n\r\n")


@pytest.mark.parametrize(
    ("line", "success", "message"),
    [
        (b"HTTP/1.1 200 OK", True, ""),
        (b"HTTP/1.0 302 Found", True, ""),
        (b"HTTP/1.1 399 Odd", True, ""),
        (b"HTTP/1.1 400 Bad Request", False, "HTTP probe failed with statuscode: 400"),
        (b"HTTP/1.1 503 Service Unavailable", False, "HTTP probe failed with statuscode: 503"),
        (b"HTTP/1.1 199 Early", False, "HTTP probe failed with statuscode: 199"),
        (b"", False, 'Get "http://h/": EOF'),
        (b"SSH-2.0-OpenSSH", False, 'Get "http://h/": malformed HTTP response "SSH-2.0-OpenSSH"'),
    ],
)
def test_judge_status(line: bytes, success: bool, message: str) -> None:
    assert _judge_status("http://h/", line) == ProbeOutcome(success=success, message=message)


def test_dial_errors_read_like_go() -> None:
    refused = OSError("All connection attempts failed")
    refused.__cause__ = ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed")
    assert _dial_error("127.0.0.1", 8080, refused) == (
        "dial tcp 127.0.0.1:8080: connect: connection refused"
    )
    assert _dial_error("::1", 80, OSError(errno.EHOSTUNREACH, "No route to host")) == (
        "dial tcp [::1]:80: connect: no route to host"
    )
    assert _dial_error("nowhere.invalid", 80, socket.gaierror(-2, "Name or service not known")) == (
        "dial tcp: lookup nowhere.invalid: no such host"
    )


@pytest.mark.anyio
async def test_exec_and_grpc_probes_are_not_network_probes() -> None:
    assert await network_probe(Probe(exec=ExecAction(command=("true",))), LAUNCH) is None
    assert await network_probe(Probe(grpc=GRPCAction(port=8080)), LAUNCH) is None
