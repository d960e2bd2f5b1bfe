"""``Cluster.apply`` with quotas: a batch is admitted as a whole before any of it is
stored, each object counted with the earlier ones, so a quota violation stores
nothing; a batch within quota lands whole and is charged."""

from __future__ import annotations

from typing import Any

import pytest

import orbit
from orbit.admission import LIMIT_RANGER_ANNOTATION, default_admission
from orbit.api import ConfigMap, LimitRange, Pod, ResourceQuota
from orbit.errors import Forbidden
from orbit.store import MemoryStore

pytestmark = pytest.mark.anyio

NS = "team-a"


def namespace() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}


def quota(**hard: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "team-a", "namespace": NS},
        "spec": {"hard": hard},
    }


def pod(name: str, cpu: str | None = "1") -> dict[str, Any]:
    resources = {"requests": {"cpu": cpu}} if cpu else {}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"containers": [{"name": "web", "image": "busybox", "resources": resources}]},
    }


def config_map(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": NS}}


def cluster() -> orbit.Cluster:
    return orbit.Cluster(store=MemoryStore(admission=default_admission()), nodes=[])


async def stored(c: orbit.Cluster) -> dict[str, list[str]]:
    kinds = (Pod, ConfigMap, ResourceQuota, LimitRange)
    return {k.__name__: [o.metadata.name for o in await c.list(k, NS)] for k in kinds}


async def test_a_batch_beyond_quota_stores_nothing() -> None:
    async with cluster() as c:
        await c.apply([namespace(), quota(**{"requests.cpu": "2", "count/configmaps": "5"})])
        before = await stored(c)
        quota_before = await c.get("resourcequota", "team-a", NS)
        with pytest.raises(Forbidden) as refused:
            await c.apply([config_map("settings"), pod("a"), pod("b"), pod("c")])
        assert str(refused.value) == (
            'pods "c" is forbidden: exceeded quota: team-a, requested: requests.cpu=1, '
            "used: requests.cpu=2, limited: requests.cpu=2"
        )
        assert await stored(c) == before
        assert await c.get("resourcequota", "team-a", NS) == quota_before


async def test_a_quota_in_the_same_batch_applies_to_the_objects_after_it() -> None:
    async with cluster() as c:
        with pytest.raises(Forbidden, match=r'^pods "b" is forbidden: exceeded quota: team-a'):
            await c.apply([namespace(), quota(pods="1"), pod("a"), pod("b")])
        assert [n.metadata.name for n in await c.list("namespaces")].count(NS) == 0


async def test_a_batch_within_quota_lands_whole_and_is_charged() -> None:
    async with cluster() as c:
        results = await c.apply([namespace(), quota(**{"requests.cpu": "2"}), pod("a"), pod("b")])
        assert [str(r) for r in results] == [
            "namespace/team-a created",
            "resourcequota/team-a created",
            "pod/a created",
            "pod/b created",
        ]
        team = await c.get("resourcequota", "team-a", NS)
        assert {k: str(v) for k, v in team.status.used.items()} == {"requests.cpu": "2"}
        assert {k: str(v) for k, v in team.status.hard.items()} == {"requests.cpu": "2"}


async def test_must_specify_is_reported_and_nothing_stored() -> None:
    async with cluster() as c:
        await c.apply([namespace(), quota(**{"requests.cpu": "4"})])
        with pytest.raises(Forbidden) as refused:
            await c.apply([config_map("settings"), pod("bare", cpu=None)])
        assert refused.value.reason == "failed quota: team-a: must specify requests.cpu for: web"
        assert await c.list(ConfigMap, NS) == []


async def test_limit_range_defaults_from_the_same_batch_reach_the_pods() -> None:
    limits = {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": {"name": "limits", "namespace": NS},
        "spec": {"limits": [{"type": "Container", "default": {"cpu": "500m"}}]},
    }
    async with cluster() as c:
        await c.apply([namespace(), limits, quota(**{"limits.cpu": "1"}), pod("a", cpu=None)])
        a = await c.get("pod", "a", NS)
        assert str(a.spec.containers[0].resources.limits["cpu"]) == "500m"
        assert LIMIT_RANGER_ANNOTATION in a.metadata.annotations
        with pytest.raises(Forbidden, match=r'^pods "c" .* used: limits\.cpu=1, limited: limits'):
            await c.apply([pod("b", cpu=None), pod("c", cpu=None)])  # a + b fill the quota
        assert [p.metadata.name for p in await c.list(Pod, NS)] == ["a"]


async def test_reapplying_unchanged_objects_charges_nothing() -> None:
    async with cluster() as c:
        batch = [namespace(), quota(pods="1"), pod("a")]
        await c.apply(batch)
        results = await c.apply(batch)
        assert [r.action for r in results] == ["unchanged", "unchanged", "unchanged"]
