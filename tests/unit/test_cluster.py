"""Cluster verbs: apply (created / configured / unchanged, all-or-nothing), get, list,
delete, watch and events, with kinds named the way kubectl names them."""

from __future__ import annotations

import copy
from typing import Any

import anyio
import attrs
import pytest

import orbit
from orbit.api import Deployment, Event, ObjectMeta, ObjectReference, all_kinds

pytestmark = pytest.mark.anyio


def deployment(name: str = "web", replicas: int | None = 2, **labels: str) -> dict[str, Any]:
    labels = labels or {"app": name}
    spec: dict[str, Any] = {
        "selector": {"matchLabels": labels},
        "template": {
            "metadata": {"labels": labels},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
        },
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": spec,
    }


def configmap(name: str, namespace: str | None = None, **data: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


async def snapshot(cluster: orbit.Cluster) -> dict[str, list[Any]]:
    return {info.kind: await cluster.list(info.kind) for info in all_kinds()}


async def test_default_namespaces_exist() -> None:
    async with orbit.Cluster() as cluster:
        names = [ns.metadata.name for ns in await cluster.list("namespaces")]
        assert "default" in names
        assert "kube-system" in names


async def test_apply_creates_then_reports_unchanged_then_configured() -> None:
    async with orbit.Cluster() as cluster:
        (first,) = await cluster.apply(deployment())
        assert (first.action, str(first)) == ("created", "deployment.apps/web created")
        live = first.object
        assert live.metadata.namespace == "default"
        assert live.metadata.uid
        assert live.metadata.generation == 1
        (again,) = await cluster.apply(deployment())
        assert again.action == "unchanged"
        assert again.object.metadata.resource_version == live.metadata.resource_version
        (changed,) = await cluster.apply(deployment(replicas=5))
        assert changed.action == "configured"
        assert changed.object.spec.replicas == 5
        assert changed.object.metadata.generation == 2
        assert changed.object.metadata.uid == live.metadata.uid


async def test_apply_keeps_fields_set_by_others_unless_the_manifest_names_them() -> None:
    """An autoscaler's replicas survive re-applying a manifest without replicas;
    a label the user removed from the manifest is removed."""
    async with orbit.Cluster() as cluster:
        manifest = deployment(replicas=None)
        manifest["metadata"]["labels"] = {"team": "a", "tier": "web"}
        assert manifest["spec"]["selector"]["matchLabels"] == {"app": "web"}
        await cluster.apply(manifest)
        live = await cluster.get("deploy", "web")
        scaled = cluster.store.update(
            live.__class__(
                metadata=live.metadata,
                spec=live.spec.__class__(**{**_fields(live.spec), "replicas": 7}),
                status=live.status,
            )
        )
        assert scaled.spec.replicas == 7
        again = copy.deepcopy(manifest)
        del again["metadata"]["labels"]["tier"]
        (result,) = await cluster.apply(again)
        assert result.action == "configured"
        assert result.object.spec.replicas == 7
        assert dict(result.object.metadata.labels) == {"team": "a"}


def _fields(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in attrs.fields(type(obj))}


async def test_apply_with_one_bad_document_stores_nothing() -> None:
    async with orbit.Cluster() as cluster:
        before = await snapshot(cluster)
        bad = deployment("bad")
        bad["spec"]["template"]["spec"]["containers"][0]["resources"] = {
            "limits": {"memory": "12XB"}
        }
        with pytest.raises(orbit.ValidationError) as caught:
            await cluster.apply([configmap("settings", a="1"), bad, deployment("good")])
        assert [i.path for i in caught.value.issues] == [
            "[1].spec.template.spec.containers[0].resources.limits.memory"
        ]
        assert await snapshot(cluster) == before


async def test_objects_in_a_missing_namespace_are_refused() -> None:
    async with orbit.Cluster() as cluster:
        with pytest.raises(orbit.ValidationError) as caught:
            await cluster.apply([configmap("a", "team-a"), configmap("b", "default")])
        assert caught.value.issues == [
            orbit.Issue("[0].metadata.namespace", 'Not found: namespace "team-a" does not exist')
        ]
        assert await cluster.list("cm") == []


async def test_a_namespace_created_in_the_same_apply_may_be_used() -> None:
    async with orbit.Cluster() as cluster:
        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}
        results = await cluster.apply([configmap("a", "team-a"), ns])
        assert [r.action for r in results] == ["created", "created"]
        assert (await cluster.get("configmap", "a", "team-a")).data == {}


async def test_apply_refuses_duplicates_and_namespaced_cluster_kinds() -> None:
    async with orbit.Cluster() as cluster:
        ns = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "x", "namespace": "default"},
        }
        with pytest.raises(orbit.ValidationError) as caught:
            await cluster.apply([configmap("a"), configmap("a"), ns])
        assert [i.path for i in caught.value.issues] == [
            "[1].metadata.name",
            "[2].metadata.namespace",
        ]


@pytest.mark.parametrize(
    "name", ["Deployment", "deployment", "deployments", "deploy", "deployments.apps"]
)
async def test_kinds_are_named_as_kubectl_names_them(name: str) -> None:
    async with orbit.Cluster() as cluster:
        await cluster.apply(deployment())
        assert isinstance(await cluster.get(name, "web"), Deployment)
        assert len(await cluster.list(name)) == 1


async def test_unknown_kind_names_are_a_clear_error() -> None:
    async with orbit.Cluster() as cluster:
        with pytest.raises(orbit.UnsupportedKind, match="ingress"):
            await cluster.get("ingress", "x")


async def test_list_by_namespace_and_selector_and_get_not_found() -> None:
    async with orbit.Cluster() as cluster:
        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}}
        await cluster.apply(
            [ns, deployment("a", app="a", tier="fe"), deployment("b", app="b", tier="be")]
        )
        other = deployment("c", app="c", tier="fe")
        other["metadata"]["namespace"] = "other"
        await cluster.apply(other)
        names = lambda objs: sorted(o.metadata.name for o in objs)  # noqa: E731
        assert names(await cluster.list("deploy")) == ["a", "b", "c"]
        assert names(await cluster.list("deploy", "default")) == ["a", "b"]
        assert names(await cluster.list("deploy", selector="tier=fe")) == ["a", "c"]
        assert names(await cluster.list("deploy", selector={"tier": "be"})) == ["b"]
        assert names(await cluster.list("deploy", selector="tier in (fe),app!=a")) == ["c"]
        with pytest.raises(orbit.NotFound, match='"zzz" not found'):
            await cluster.get("deploy", "zzz")


async def test_delete_removes_and_watch_sees_it() -> None:
    async with orbit.Cluster() as cluster:
        await cluster.apply(deployment())
        listed = cluster.store.list("deployments")
        events = []
        with anyio.fail_after(5):
            async with cluster.watch("deploy", resource_version=listed.resource_version) as watch:
                await cluster.apply(deployment(replicas=3))
                await cluster.delete("deployment", "web")
                async for event in watch:
                    events.append((event.type, event.object.spec.replicas))
                    if event.type == "DELETED":
                        break
        # The Deployment controller writes status between (MODIFIED events of its
        # own); the apply's change and the delete arrive in order.
        assert events[-1] == ("DELETED", 3)
        assert ("MODIFIED", 3) in events[:-1]
        assert ("MODIFIED", 1) not in events
        with pytest.raises(orbit.NotFound):
            await cluster.get("deploy", "web")


async def test_events_are_listed_oldest_first_and_filtered_by_object() -> None:
    async with orbit.Cluster() as cluster:
        (result,) = await cluster.apply(deployment())
        target = result.object
        ref = ObjectReference(
            kind="Deployment", name="web", namespace="default", uid=target.metadata.uid
        )
        for index, reason in enumerate(["ScalingReplicaSet", "Other"]):
            cluster.store.create(
                Event(
                    metadata=ObjectMeta(name=f"web.{index}", namespace="default"),
                    involved_object=ref if index == 0 else ObjectReference(kind="Pod", name="p"),
                    reason=reason,
                    message="m",
                    type="Normal",
                )
            )
        assert [e.reason for e in await cluster.events()] == ["ScalingReplicaSet", "Other"]
        assert [e.reason for e in await cluster.events(involved=target)] == ["ScalingReplicaSet"]


async def test_leaving_the_context_stops_the_task_group() -> None:
    cluster = orbit.Cluster()
    async with cluster:
        assert cluster._task_group is not None
    assert cluster._task_group is None


async def test_an_error_in_the_body_propagates_unwrapped() -> None:
    with pytest.raises(orbit.NotFound):
        async with orbit.Cluster() as cluster:
            await cluster.get("pod", "absent")


async def test_warnings_belong_to_the_document_that_caused_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with orbit.Cluster() as cluster:
        odd = configmap("odd", a="1")
        odd["surprise"] = True
        plain, flagged = await cluster.apply([configmap("plain"), odd])
        assert plain.warnings == ()
        assert flagged.warnings == ('[1] unknown field "surprise"',)
        assert '[1] unknown field "surprise"' in caplog.text


async def test_apply_accepts_yaml_text_and_paths(tmp_path: Any) -> None:
    async with orbit.Cluster() as cluster:
        text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-text}\ndata: {k: v}\n"
        (created,) = await cluster.apply(text)
        assert str(created) == "configmap/from-text created"
        path = tmp_path / "cm.yaml"
        path.write_text(text.replace("from-text", "from-file"))
        (from_file,) = await cluster.apply(path)
        assert from_file.object.data == {"k": "v"}


async def test_controllers_are_chosen_as_kube_controller_manager_does() -> None:
    async with orbit.Cluster(nodes=[]) as cluster:
        assert {
            "replicaset-controller",
            "deployment-controller",
            "job-controller",
            "cronjob-controller",
            "garbage-collector",
            "namespace-controller",
            "resourcequota-controller",
        } <= set(cluster.controller_loops)
    async with orbit.Cluster(nodes=[], controllers=["*", "-job", "-garbagecollector"]) as cluster:
        assert "job-controller" not in cluster.controller_loops
        assert "garbage-collector" not in cluster.controller_loops
        assert "deployment-controller" in cluster.controller_loops
    async with orbit.Cluster(
        nodes=[], controllers=["deployment", "replicaset-controller"]
    ) as cluster:
        assert set(cluster.controller_loops) == {"deployment-controller", "replicaset-controller"}
    with pytest.raises(ValueError, match='no controller named "statefulset"'):
        orbit.Cluster(nodes=[], controllers=["*", "-statefulset"])
