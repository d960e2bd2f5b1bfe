"""``logs`` with follow over the control socket: lines of a real local process arrive
as it writes them, the stream ends when the container does, and a client that leaves
early frees the server at once."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from control_builders import Served, process_pod, raw_exchange, serving

import orbit
from orbit.control import ControlError

pytestmark = pytest.mark.anyio


@pytest.fixture
def path(tmp_path: Path) -> str:
    return str(tmp_path / "orbit.sock")


def process_node() -> list[orbit.Node]:
    return [orbit.Node("p1")]  # the default runtime: local processes


async def started(served: Served, name: str, script: str) -> None:
    await served.client.apply([process_pod(name, script)])
    await served.cluster.wait_for(
        "pod",
        name,
        lambda p: p is not None and p.status.phase in ("Running", "Succeeded"),
        timeout_s=20,
    )


async def test_follow_streams_lines_until_the_container_ends(path: str) -> None:
    async with serving(path, nodes=process_node()) as served:
        await started(served, "talk", "echo a; sleep 0.2; echo b")
        lines = [line async for line in served.client.follow_logs("talk")]
        assert lines == ["a", "b"]
        # The stream ended because the container did.
        pod = await served.cluster.wait_for("pod", "talk", "Succeeded", timeout_s=10)
        assert pod.status.phase == "Succeeded"
        assert await served.client.logs("talk") == ["a", "b"]


async def test_lines_arrive_while_the_container_runs_and_leaving_frees_the_server(
    path: str,
) -> None:
    async with serving(path, nodes=process_node()) as served:
        await started(served, "long", "echo first; exec sleep 60")
        stream = served.client.follow_logs("long")
        with anyio.fail_after(10):
            assert await anext(stream) == "first"  # the container still runs
            pod = await served.cluster.get("pod", "long")
            assert pod.status.phase == "Running"
            assert served.server.active_requests == 1
            await stream.aclose()
            while served.server.active_requests:  # noqa: ASYNC110 - a counter, no event
                await anyio.sleep(0.01)
        assert (await served.client.info())["nodes"] == ["p1"]


async def test_follow_of_a_missing_pod_is_an_error_not_a_stream(path: str) -> None:
    async with serving(path, nodes=process_node()) as served:
        with pytest.raises(ControlError) as missing:
            async for _ in served.client.follow_logs("nope"):
                pass
        assert missing.value.reason == "NotFound"


async def test_the_stream_is_chunked_one_line_per_chunk(path: str) -> None:
    async with serving(path, nodes=process_node()) as served:
        await started(served, "two", "echo one; echo two")
        await served.cluster.wait_for("pod", "two", "Succeeded", timeout_s=10)
        body = b'{"pod": "two", "follow": true}'
        request = b"POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (
            len(body),
            body,
        )
        status, headers, raw = await raw_exchange(path, request)
        assert status == 200
        assert headers["transfer-encoding"] == "chunked"
        assert headers["content-type"].startswith("text/plain")
        assert raw == b"4\r\none\n\r\n4\r\ntwo\n\r\n0\r\n\r\n"
