"""Every verb of the control API, through ControlClient, against a real Cluster on a
simulated node, served on a real Unix socket; and how failures come back."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from control_builders import Served, deployment, raw_exchange, raw_post, service, serving

import orbit
from orbit.api import decode_object
from orbit.control import ControlError

pytestmark = pytest.mark.anyio

MI = 1024 * 1024


@pytest.fixture
def path(tmp_path: Path) -> str:
    return str(tmp_path / "orbit.sock")


async def rolled_out(served: Served, name: str = "web", **sim: str) -> list[Any]:
    """Apply a Deployment (``sim``: its pods' sim.orbit.dev/ annotations), wait for
    its rollout; its pods."""
    await served.client.apply([deployment(name, sim=sim)])
    await served.client.rollout_status(f"deployment/{name}", timeout_s=20)
    pods = await served.client.get("pods", selector=f"app={name}")
    return list(pods["items"])


async def test_apply_then_get_one_and_lists(path: str) -> None:
    async with serving(path) as served:
        client = served.client
        extra = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}
        cm = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "team"},
        }
        applied = await client.apply([deployment(), extra, cm])
        assert [(r["kind"], r["name"], r["namespace"], r["action"]) for r in applied] == [
            ("Deployment", "web", "default", "created"),
            ("Namespace", "team", "", "created"),
            ("ConfigMap", "c", "team", "created"),
        ]
        assert applied[0]["apiVersion"] == "apps/v1"
        again = await client.apply([deployment(replicas=3)])
        assert again[0]["action"] == "configured"
        same = await client.apply([deployment(replicas=3)])
        assert same[0]["action"] == "unchanged"

        web = await client.get("deploy", "web")
        assert (web["apiVersion"], web["kind"], web["metadata"]["name"]) == (
            "apps/v1",
            "Deployment",
            "web",
        )
        typed, issues, _ = decode_object(web)
        assert not issues
        assert typed is not None
        assert typed.spec.replicas == 3
        assert typed == await served.cluster.get("deployment", "web")

        in_default = await client.get("configmaps")
        assert in_default["kind"] == "List"
        assert all(o["metadata"]["namespace"] == "default" for o in in_default["items"])
        assert "c" not in [o["metadata"]["name"] for o in in_default["items"]]
        everywhere = await client.get("cm", all_namespaces=True)
        assert ("team", "c") in [
            (o["metadata"]["namespace"], o["metadata"]["name"]) for o in everywhere["items"]
        ]
        assert (await client.get("cm", "c", namespace="team"))["metadata"]["name"] == "c"
        namespaces = await client.get("ns")  # cluster-scoped: the namespace is ignored
        assert "team" in [o["metadata"]["name"] for o in namespaces["items"]]


async def test_get_with_a_selector_lists_only_matching_pods(path: str) -> None:
    async with serving(path) as served:
        web = await rolled_out(served, "web")
        await rolled_out(served, "api")
        assert len(web) == 2
        assert {p["metadata"]["labels"]["app"] for p in web} == {"web"}
        assert all(p["spec"]["nodeName"] == "n1" for p in web)


async def test_not_found_unsupported_kind_and_bad_arguments(path: str) -> None:
    async with serving(path) as served:
        client = served.client
        with pytest.raises(ControlError) as missing:
            await client.get("pod", "nope")
        assert missing.value.reason == "NotFound"
        assert missing.value.message == "Pod \"nope\" not found in namespace 'default'"
        with pytest.raises(ControlError) as kind:
            await client.get("widgets")
        assert kind.value.reason == "UnsupportedKind"
        assert 'no kind "widgets"' in kind.value.message
        with pytest.raises(ControlError) as across:
            await client.get("pod", "x", all_namespaces=True)
        assert across.value.reason == "BadRequest"
        with pytest.raises(ControlError) as gone:
            await client.delete("deployment", "nope")
        assert gone.value.reason == "NotFound"


async def test_invalid_manifests_come_back_with_every_issue_and_nothing_is_stored(
    path: str,
) -> None:
    async with serving(path) as served:
        bad = deployment("bad")
        bad["spec"]["replicas"] = -1
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {
                "containers": [
                    {"name": "a", "image": "i", "resources": {"limits": {"memory": "12XB"}}}
                ]
            },
        }
        with pytest.raises(ControlError) as invalid:
            await served.client.apply([deployment("fine"), bad, pod])
        error = invalid.value
        assert error.reason == "ValidationError"
        paths = [issue.path for issue in error.issues]
        assert "[1].spec.replicas" in paths
        assert "[2].spec.containers[0].resources.limits.memory" in paths
        memory = next(i for i in error.issues if i.path.endswith("limits.memory"))
        assert memory.message == 'invalid quantity "12XB"'
        assert "[2].spec.containers[0].resources.limits.memory" in error.message
        assert await served.cluster.list("deployments") == []  # all or nothing
        with pytest.raises(ControlError) as empty:
            await served.client.apply([])
        assert empty.value.reason == "BadRequest"


async def test_scale_set_image_and_the_rollout_verbs(path: str) -> None:
    async with serving(path) as served:
        client = served.client
        await rolled_out(served)
        scaled = await client.scale("deployment/web", 3)
        assert scaled["spec"]["replicas"] == 3
        changed = await client.set_image("deployment/web", {"web": "web:2"})
        assert changed["spec"]["template"]["spec"]["containers"][0]["image"] == "web:2"
        done = await client.rollout_status("deployment/web", timeout_s=20)
        assert done["status"]["updatedReplicas"] == 3
        history = await client.rollout_history("deployment/web")
        assert [(h["revision"], h["images"]) for h in history] == [(1, ["web:1"]), (2, ["web:2"])]
        assert set(history[0]) == {"revision", "replica_set", "images", "change_cause"}

        paused = await client.rollout_pause("deployment/web")
        assert paused["spec"]["paused"] is True
        with pytest.raises(ControlError) as refused:
            await client.rollout_undo("deployment/web")
        assert refused.value.reason == "BadRequest"
        assert "cannot rollback a paused deployment" in refused.value.message
        resumed = await client.rollout_resume("deployment/web")
        assert "paused" not in resumed["spec"]  # false is the default: not rendered

        undone = await client.rollout_undo("deployment/web")
        assert undone["spec"]["template"]["spec"]["containers"][0]["image"] == "web:1"
        await client.rollout_status("deployment/web", timeout_s=20)
        assert [h["revision"] for h in await client.rollout_history("deployment/web")] == [2, 3]

        with pytest.raises(ControlError) as unknown:
            await client.set_image("deployment/web", {"nope": "x:1"})
        assert unknown.value.reason == "BadRequest"
        assert 'unable to find container named "nope"' in unknown.value.message
        with pytest.raises(ControlError) as not_scalable:
            await client.scale("configmap/x", 1)
        assert not_scalable.value.reason == "UnsupportedKind"


async def test_rollout_status_timeout_is_a_timeout(path: str) -> None:
    async with serving(path) as served:
        await served.client.apply([deployment("slow", sim={"startup-seconds": "3600"})])
        with pytest.raises(ControlError) as waited:
            await served.client.rollout_status("deployment/slow", timeout_s=0.2)
        assert waited.value.reason == "Timeout"
        assert "deployment/slow" in waited.value.message


async def test_delete(path: str) -> None:
    async with serving(path) as served:
        await served.client.apply([deployment()])
        assert await served.client.request("delete", {"kind": "deploy", "name": "web"}) is None
        with pytest.raises(orbit.NotFound):
            await served.cluster.get("deployment", "web")


async def test_logs_of_a_pod_and_their_tail(path: str) -> None:
    async with serving(path) as served:
        (pod, _) = await rolled_out(served, logs="one\ntwo\nthree")
        name = pod["metadata"]["name"]
        assert await served.client.logs(name) == ["one", "two", "three"]
        assert await served.client.logs(name, tail=2) == ["two", "three"]
        assert await served.client.logs(name, container="web", tail=1) == ["three"]
        with pytest.raises(ControlError) as wrong:
            await served.client.logs(name, container="sidecar")
        assert wrong.value.reason == "BadRequest"
        assert "container sidecar is not valid" in wrong.value.message
        with pytest.raises(ControlError) as before:
            await served.client.logs(name, previous=True)
        assert "previous terminated container" in before.value.message


async def test_events_all_and_about_one_object(path: str) -> None:
    async with serving(path) as served:
        await rolled_out(served)
        everything = await served.client.events()
        assert {e["kind"] for e in everything} == {"Event"}
        about = await served.client.events(involved={"kind": "deploy", "name": "web"})
        assert about
        assert all(
            (e["involvedObject"]["kind"], e["involvedObject"]["name"]) == ("Deployment", "web")
            for e in about
        )
        assert "ScalingReplicaSet" in [e["reason"] for e in about]
        assert len(about) < len(everything)
        same = await served.client.events(involved=("Deployment", "web"))
        assert same == about
        elsewhere = await served.client.events(namespace="kube-system")
        assert elsewhere == []


async def test_top_pods_and_nodes(path: str) -> None:
    async with serving(path) as served:
        await rolled_out(served, cpu="250m", memory="64Mi")
        pods = await served.client.top_pods()
        assert len(pods) == 2
        assert [(p["namespace"], p["cpu_millis"], p["memory_bytes"]) for p in pods] == [
            ("default", 250, 64 * MI),
            ("default", 250, 64 * MI),
        ]
        assert await served.client.top_pods(namespace="kube-system") == []
        assert len(await served.client.top_pods(all_namespaces=True)) == 2
        (node,) = await served.client.top_nodes()
        # 500m of 4 cores is 12.5% and 128Mi of 8Gi 1.56%: kubectl truncates.
        assert node == {
            "node": "n1",
            "cpu_millis": 500,
            "cpu_percent": 12,
            "memory_bytes": 128 * MI,
            "memory_percent": 1,
        }


async def test_cordon_uncordon_and_drain(path: str) -> None:
    async with serving(path) as served:
        client = served.client
        pods = await rolled_out(served)
        cordoned = await client.cordon("n1")
        assert cordoned["spec"]["unschedulable"] is True
        uncordoned = await client.uncordon("n1")
        assert "unschedulable" not in uncordoned["spec"]
        evicted = await client.drain("n1", timeout_s=20, ignore_daemonsets=True)
        assert sorted(p["metadata"]["name"] for p in evicted) == sorted(
            p["metadata"]["name"] for p in pods
        )
        node = await client.get("node", "n1")
        assert node["spec"]["unschedulable"] is True
        with pytest.raises(ControlError) as missing:
            await client.cordon("nope")
        assert missing.value.reason == "NotFound"


async def test_service_url(path: str) -> None:
    async with serving(path) as served:
        await served.client.apply([deployment(), service()])
        url = await served.client.service_url("web")
        assert url == await served.cluster.service_url("web")
        assert url.startswith("http://127.0.0.1:")
        with pytest.raises(ControlError) as missing:
            await served.client.service_url("nope", timeout_s=0.1)
        assert missing.value.reason == "Timeout"  # it may still be applied: the proxy waits


async def test_info(path: str) -> None:
    async with serving(path) as served:
        info = await served.client.info()
        assert info["cluster_id"] == served.cluster.cluster_id
        assert info["nodes"] == ["n1"]
        assert info["runtimes"] == ["sim"]
        assert info["socket"] == path
        assert info["version"] == orbit.__version__
        assert info["started_at"].endswith("Z")


# -- the wire ------------------------------------------------------------------------


async def test_bad_json_unknown_fields_wrong_types_and_unknown_verbs(path: str) -> None:
    async with serving(path) as served:
        status, answer = await raw_post(path, "get", b"{not json")
        assert status == 400
        assert answer["error"]["reason"] == "BadRequest"
        assert "not valid JSON" in answer["error"]["message"]
        status, answer = await raw_post(path, "get", b'["pods"]')
        assert (status, answer["error"]["reason"]) == (400, "BadRequest")
        status, answer = await raw_post(path, "get", b'{"kind": "pods", "namspace": "x"}')
        assert status == 400
        assert "unknown field 'namspace'" in answer["error"]["message"]
        status, answer = await raw_post(path, "scale", b'{"target": "deploy/web", "replicas": "3"}')
        assert status == 400
        assert "'replicas' must be a JSON integer" in answer["error"]["message"]
        status, answer = await raw_post(path, "get", b"{}")
        assert "'kind' is required" in answer["error"]["message"]
        status, answer = await raw_post(path, "explode", b"{}")
        assert status == 404
        assert "unknown verb 'explode'" in answer["error"]["message"]
        status, answer = await raw_post(path, "info", b"")  # an empty body is {}
        assert status == 200
        assert answer["result"]["nodes"] == ["n1"]
        assert (await served.client.info())["nodes"] == ["n1"]  # still serving


async def test_malformed_http_is_answered_not_fatal(path: str) -> None:
    async with serving(path) as served:
        status, _, _ = await raw_exchange(path, b"HELLO\r\n\r\n")
        assert status == 400
        status, headers, _ = await raw_exchange(path, b"GET /v1/info HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status == 405
        assert headers["connection"] == "close"
        status, _, _ = await raw_exchange(
            path, b"POST /v1/info HTTP/1.1\r\nX: " + b"y" * 20000 + b"\r\n\r\n"
        )
        assert status == 431
        assert (await served.client.info())["nodes"] == ["n1"]


async def test_an_unexpected_failure_is_internal_and_logged_and_the_server_goes_on(
    path: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(node: str) -> Any:
        raise RuntimeError(f"disk on fire near {node}")

    async with serving(path) as served:
        monkeypatch.setattr(served.cluster, "cordon", broken)
        with (
            caplog.at_level(logging.ERROR, logger="orbit.control"),
            pytest.raises(ControlError) as failed,
        ):
            await served.client.cordon("n1")
        assert failed.value.reason == "Internal"
        assert failed.value.message == "disk on fire near n1"
        assert "control verb cordon failed" in caplog.text
        assert "RuntimeError: disk on fire near n1" in caplog.text
        assert (await served.client.uncordon("n1"))["metadata"]["name"] == "n1"


async def test_watch_sends_what_exists_then_each_change(path: str) -> None:
    """``get -w``'s verb: the matching objects first (ADDED), then changes as they
    happen, filtered by namespace and selector; closing the iterator ends the stream."""
    async with serving(path) as served:
        client = served.client

        def config_map(name: str, tier: str, data: str = "1") -> dict[str, Any]:
            meta = {"name": name, "labels": {"tier": tier}}
            return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"v": data}}

        await client.apply([config_map("a", "web"), config_map("skip", "db")])
        seen: list[tuple[str, str, str]] = []
        async for event in client.watch("cm", selector="tier=web"):
            obj = event["object"]
            seen.append((event["type"], obj["metadata"]["name"], obj["data"]["v"]))
            if len(seen) == 1:
                await client.apply([config_map("a", "web", "2"), config_map("b", "web")])
            if len(seen) == 3:
                await client.delete("cm", "b")
            if len(seen) == 4:
                break
        assert seen == [
            ("ADDED", "a", "1"),
            ("MODIFIED", "a", "2"),
            ("ADDED", "b", "1"),
            ("DELETED", "b", "1"),
        ]
        # the server is free again after the client left the stream
        assert (await client.get("cm", "a"))["data"] == {"v": "2"}
