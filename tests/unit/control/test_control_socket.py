"""The control socket's lifecycle and access: owner-only modes, stale and live
sockets, removal on exit, the default path, and the TCP listener's bearer token."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import anyio
import pytest
from control_builders import serving

import orbit
from orbit.control import ControlClient, ControlError, ControlServer, default_socket_path

pytestmark = pytest.mark.anyio


@pytest.fixture
def path(tmp_path: Path) -> str:
    return str(tmp_path / "ctl" / "orbit.sock")


def mode(path: str) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def exists(path: str) -> bool:
    return os.path.lexists(path)


def read(path: str) -> str:
    with open(path) as file:
        return file.read()


def write(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path))
    with open(path, "w") as file:
        file.write(text)


async def test_socket_is_owner_only_in_a_new_owner_only_directory_and_removed_on_exit(
    path: str,
) -> None:
    async with serving(path) as served:
        assert stat.S_ISSOCK(os.lstat(path).st_mode)
        assert mode(path) == 0o600
        assert mode(os.path.dirname(path)) == 0o700
        info = await served.client.info()
        assert info["socket"] == path
        assert info["cluster_id"] == served.cluster.cluster_id
    assert not exists(path)


async def test_a_stale_socket_file_is_replaced(path: str) -> None:
    os.makedirs(os.path.dirname(path), mode=0o700)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(path)  # bound, never listening, then closed: what a crashed orbit leaves
    dead.close()
    assert exists(path)
    with pytest.raises(ControlError) as refused:
        await ControlClient(path).info()
    assert refused.value.reason == "Unavailable"
    async with serving(path) as served:
        assert (await served.client.info())["nodes"] == ["n1"]


async def test_a_second_server_on_a_live_socket_is_refused_and_the_first_keeps_serving(
    path: str,
) -> None:
    async with serving(path) as served:
        second = ControlServer(served.cluster, path=path)
        async with anyio.create_task_group() as group:
            with pytest.raises(orbit.OrbitError, match="already serving"):
                await group.start(second.run)
        assert exists(path)
        assert (await served.client.info())["socket"] == path


async def test_something_other_than_a_socket_in_the_way_is_left_alone(path: str) -> None:
    write(path, "not a socket")
    async with orbit.Cluster(nodes=[]) as cluster, anyio.create_task_group() as group:
        with pytest.raises(orbit.OrbitError, match="not a socket"):
            await group.start(ControlServer(cluster, path=path).run)
    assert read(path) == "not a socket"


async def test_no_server_means_unavailable_with_a_hint(path: str) -> None:
    with pytest.raises(ControlError) as error:
        await ControlClient(path).get("pods")
    assert error.value.reason == "Unavailable"
    assert error.value.message == f"no orbit is running at {path} (start one with `orbit up`)"


def test_default_path_is_under_xdg_runtime_dir_else_a_per_user_tmp_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1234")
    assert default_socket_path() == "/run/user/1234/orbit/default.sock"
    assert default_socket_path("etl") == "/run/user/1234/orbit/etl.sock"
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert default_socket_path("etl") == f"/tmp/orbit-{os.getuid()}/etl.sock"
    with pytest.raises(ValueError, match="plain file name"):
        default_socket_path("../etc")


async def test_a_too_long_socket_path_is_a_clear_error(tmp_path: Path) -> None:
    path = str(tmp_path / ("x" * 120) / "orbit.sock")
    async with orbit.Cluster(nodes=[]) as cluster, anyio.create_task_group() as group:
        with pytest.raises(orbit.OrbitError, match="too long for a Unix socket"):
            await group.start(ControlServer(cluster, path=path).run)


async def test_tcp_needs_the_bearer_token_and_the_unix_socket_does_not(path: str) -> None:
    async with serving(path, tcp=("127.0.0.1", 0)) as served:
        server = served.server
        assert server.token  # generated
        assert server.url is not None
        assert server.url.startswith("http://127.0.0.1:")
        for token in (None, "wrong", server.token + "x"):
            with pytest.raises(ControlError) as refused:
                await ControlClient(url=server.url, token=token).info()
            assert refused.value.reason == "Unauthorized"
        info = await ControlClient(url=server.url, token=server.token).info()
        assert info["tcp"] == server.url
        assert info["cluster_id"] == served.cluster.cluster_id
        assert (await served.client.info())["cluster_id"] == served.cluster.cluster_id


async def test_tcp_uses_the_token_it_is_given(path: str) -> None:
    async with serving(path, tcp=("127.0.0.1", 0), token="s3cret") as served:
        assert served.server.url is not None
        info = await ControlClient(url=served.server.url, token="s3cret").info()
        assert info["nodes"] == ["n1"]


async def test_no_tcp_listener_unless_asked(path: str) -> None:
    async with serving(path) as served:
        assert served.server.url is None
        assert served.server.token is None
        assert (await served.client.info())["tcp"] is None


async def test_stop_ends_run_and_removes_the_socket(path: str) -> None:
    async with orbit.Cluster(nodes=[]) as cluster:
        server = ControlServer(cluster, path=path)
        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                await group.start(server.run)
                assert exists(path)
                server.stop()
            # The group ended on its own: run returned.
        assert not exists(path)
        with pytest.raises(ControlError) as gone:
            await ControlClient(path).info()
        assert gone.value.reason == "Unavailable"


async def test_the_default_path_directory_is_made_owner_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    directory = tmp_path / "orbit"
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)
    async with orbit.Cluster(nodes=[]) as cluster, anyio.create_task_group() as group:
        server = ControlServer(cluster)  # no path: the default one
        await group.start(server.run)
        assert server.path == str(directory / "default.sock")
        assert mode(str(directory)) == 0o700
        assert mode(server.path) == 0o600
        info = await ControlClient().info()  # the client's default path too
        assert info["socket"] == server.path
        group.cancel_scope.cancel()


async def test_the_cluster_serves_its_control_api_when_asked(path: str) -> None:
    """``Cluster(control_socket=path)``: served while the cluster runs, gone after."""
    nodes = [orbit.Node("n1", runtime=orbit.SimRuntime())]
    async with orbit.Cluster(nodes=nodes, control_socket=path, service_proxy=False) as cluster:
        assert cluster.control_path == path
        client = ControlClient(path)
        names = [n["metadata"]["name"] for n in (await client.get("nodes"))["items"]]
        assert names == ["n1"]
        assert mode(path) == 0o600
    assert not exists(path)
    with pytest.raises(ControlError) as raised:
        await ControlClient(path).info()
    assert raised.value.reason == "Unavailable"
