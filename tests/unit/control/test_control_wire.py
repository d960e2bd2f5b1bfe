"""The control API's pure parts: HTTP heads and chunks, body checking, the error
mapping and ``top``'s arithmetic (kubectl's rounding)."""

from __future__ import annotations

from typing import Any

import anyio
import attrs
import pytest
from anyio.streams.buffered import BufferedByteReceiveStream

from orbit.api import Node, NodeStatus, ObjectMeta, Quantity
from orbit.control import ControlError
from orbit.control._errors import error_body, error_from_body
from orbit.control._http import (
    HttpError,
    chunk,
    iter_chunks,
    parse_request_head,
    parse_response_head,
)
from orbit.control._top import node_rows, pod_rows
from orbit.control._verbs import VERBS, check_body
from orbit.errors import Conflict, NotFound, OrbitError, TooManyRequests, ValidationError


@attrs.frozen
class Use:
    cpu_cores: float
    memory_bytes: int


def test_request_head_parses_method_path_and_headers() -> None:
    head = parse_request_head(
        b"POST /v1/get?x=1 HTTP/1.1\r\nHost: localhost\r\nContent-LENGTH:  12 "
    )
    assert (head.method, head.path) == ("POST", "/v1/get")
    assert head.headers == {"host": "localhost", "content-length": "12"}
    for bad in (b"POST /v1/get", b"POST /v1/get SPDY/3", b"POST /v1/get HTTP/1.1\r\nNoColon"):
        with pytest.raises(HttpError) as error:
            parse_request_head(bad)
        assert error.value.status == 400


def test_response_head_parses_status() -> None:
    head = parse_response_head(b"HTTP/1.1 404 Not Found\r\nContent-Length: 3")
    assert (head.status, head.headers["content-length"]) == (404, "3")


@pytest.mark.anyio
async def test_chunks_round_trip() -> None:
    send, receive = anyio.create_memory_object_stream[bytes](10)
    pieces = [b"a\n", b"x" * 300, "ü\n".encode()]
    async with send:
        for piece in pieces:
            await send.send(chunk(piece))
        await send.send(b"0\r\n\r\n")
    async with receive:
        buffered = BufferedByteReceiveStream(receive)
        assert [data async for data in iter_chunks(buffered)] == pieces


def test_body_checking_fills_defaults_and_names_what_is_wrong() -> None:
    fields = VERBS["get"].fields
    assert check_body("get", fields, {"kind": "pods"}) == {
        "kind": "pods",
        "name": None,
        "namespace": "default",
        "all_namespaces": False,
        "selector": None,
    }
    assert check_body("get", fields, {"kind": "pods", "name": None})["name"] is None
    cases: list[tuple[Any, str]] = [
        ([], "must be a JSON object"),
        ({}, "field 'kind' is required"),
        ({"kind": "pods", "nmae": "x"}, "unknown field 'nmae'"),
        ({"kind": 3}, "'kind' must be a JSON string"),
        ({"kind": "pods", "all_namespaces": 1}, "'all_namespaces' must be a JSON boolean"),
        ({"kind": None}, "'kind' must be a JSON string"),
    ]
    for body, message in cases:
        with pytest.raises(ControlError, match=message) as error:
            check_body("get", fields, body)
        assert error.value.reason == "BadRequest"
    scale = VERBS["scale"].fields
    with pytest.raises(ControlError, match="must be a JSON integer"):
        check_body("scale", scale, {"target": "deploy/x", "replicas": True})


def test_errors_map_to_reasons_and_statuses_and_back() -> None:
    invalid = ValidationError([("spec.replicas", "must be >= 0")])
    status, body = error_body(invalid)
    assert status == 422
    assert body["error"]["reason"] == "ValidationError"
    assert body["error"]["issues"] == [{"path": "spec.replicas", "message": "must be >= 0"}]
    back = error_from_body(status, body)
    assert (back.reason, back.message) == ("ValidationError", str(invalid))
    assert back.issues == invalid.issues
    expected = {
        NotFound("Pod", "x", "default"): (404, "NotFound"),
        Conflict("Pod", "x", expected="1", actual="2"): (409, "Conflict"),
        TooManyRequests("budget"): (429, "TooManyRequests"),
        OrbitError("pod is not scheduled yet"): (400, "BadRequest"),
        ValueError("replicas must be 0 or more"): (400, "BadRequest"),
        TimeoutError("timed out"): (504, "Timeout"),
        RuntimeError("bug"): (500, "Internal"),
    }
    for exc, (code, reason) in expected.items():
        status, body = error_body(exc)
        assert (status, body["error"]["reason"]) == (code, reason)
        assert body["error"]["message"] == str(exc)
        assert "issues" not in body["error"]
    garbled = error_from_body(502, "<html>")
    assert garbled.reason == "Internal"
    assert "HTTP 502" in garbled.message


def test_top_pods_sum_containers_and_round_cpu_up_to_millicores() -> None:
    usage = {
        ("default", "b"): {"x": Use(0.0001, 10), "y": Use(0.25, 20)},
        ("default", "a"): {"x": Use(0.5, 5)},
        ("other", "c"): {"x": Use(0.0, 0)},
    }
    assert pod_rows(usage, "default") == [
        {"namespace": "default", "pod": "a", "cpu_millis": 500, "memory_bytes": 5},
        {"namespace": "default", "pod": "b", "cpu_millis": 251, "memory_bytes": 30},
    ]
    assert [r["pod"] for r in pod_rows(usage, None)] == ["a", "b", "c"]


def test_top_nodes_percent_of_allocatable_truncated() -> None:
    def node(name: str, **allocatable: str) -> Node:
        return Node(
            metadata=ObjectMeta(name=name),
            status=NodeStatus(allocatable={k: Quantity(v) for k, v in allocatable.items()}),
        )

    usage = {
        ("default", "a"): {"x": Use(1.999, 1024)},
        ("default", "b"): {"x": Use(0.001, 1024)},
        ("default", "gone"): {"x": Use(5.0, 1)},  # not in the store any more
    }
    where = {("default", "a"): "n2", ("default", "b"): "n2"}
    rows = node_rows([node("n2", cpu="3", memory="4Ki"), node("n1")], where, usage)
    assert rows == [
        {
            "node": "n1",
            "cpu_millis": 0,
            "cpu_percent": None,
            "memory_bytes": 0,
            "memory_percent": None,
        },
        {
            "node": "n2",
            "cpu_millis": 2000,
            "cpu_percent": 66,
            "memory_bytes": 2048,
            "memory_percent": 50,
        },
    ]
