"""The ResourceQuota controller: the status it computes (syncResourceQuota), which
events concern which quota (Kubernetes' replenishment), single reconciles on a
MemoryStore with orbit's admission chain, and the loop in virtual time releasing a
deleted pod, a finished pod and a pod stuck terminating at the exact moment."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import anyio
import attrs

from orbit.admission import default_admission
from orbit.api import (
    ConfigMap,
    Container,
    Deployment,
    Namespace,
    ObjectMeta,
    Pod,
    PodSpec,
    PodStatus,
    Quantity,
    ResourceQuota,
    ResourceQuotaSpec,
    ResourceQuotaStatus,
    ResourceRequirements,
    Service,
    kind_info,
)
from orbit.clock import ManualClock, current_clock
from orbit.controllers import ControllerLoop
from orbit.controllers._resourcequota import (
    RELEASE_MARGIN_S,
    ResourceQuotaController,
    quota_status,
    release_delay,
)
from orbit.simulation import SIMULATION_START, simulate
from orbit.store import MemoryStore

NS = "team-a"
START = 1_767_225_600.0


def q(**values: str) -> dict[str, Quantity]:
    """Quantities by resource name; ``_`` stands for ``.`` and ``__`` for ``/``."""
    return {k.replace("__", "/").replace("_", "."): Quantity(v) for k, v in values.items()}


def make_quota(name: str = "team-a", **hard: str) -> ResourceQuota:
    return ResourceQuota(
        metadata=ObjectMeta(name=name, namespace=NS), spec=ResourceQuotaSpec(hard=q(**hard))
    )


def make_pod(name: str, cpu: str = "1", phase: str = "Pending") -> Pod:
    requests = {"cpu": Quantity(cpu)}
    web = Container(name="web", image="x", resources=ResourceRequirements(requests=requests))
    return Pod(
        metadata=ObjectMeta(name=name, namespace=NS),
        spec=PodSpec(containers=(web,)),
        status=PodStatus(phase=phase),  # type: ignore[arg-type]
    )


def make_store(clock: Any = None) -> MemoryStore:
    store = MemoryStore(clock=clock or ManualClock(START), seed=1, admission=default_admission())
    store.create(Namespace(metadata=ObjectMeta(name=NS)))
    return store


def used(store: MemoryStore, name: str = "team-a") -> dict[str, str]:
    return {k: str(v) for k, v in store.get(ResourceQuota, name, NS).status.used.items()}


def lister(*objects: Any) -> Any:
    return lambda info: [o for o in objects if kind_info(o) == info]


# --- the status ---------------------------------------------------------------------------


def test_status_takes_hard_from_the_spec_and_recomputes_used() -> None:
    quota = make_quota(requests_cpu="4", pods="10")
    stale = attrs.evolve(quota, status=ResourceQuotaStatus(used=q(requests_cpu="3", pods="7")))
    status = quota_status(
        stale, lister(make_pod("a", "1500m"), make_pod("b", "1", "Failed")), START
    )
    assert status.hard == q(requests_cpu="4", pods="10")
    assert {k: str(v) for k, v in status.used.items()} == {"requests.cpu": "1500m", "pods": "1"}


def test_untracked_resources_keep_their_last_usage_and_dropped_ones_go() -> None:
    hard = {"count/widgets.example.com": Quantity("3"), "pods": Quantity("2")}
    quota = ResourceQuota(
        metadata=ObjectMeta(name="q", namespace=NS),
        spec=ResourceQuotaSpec(hard=hard),
        status=ResourceQuotaStatus(
            used={"count/widgets.example.com": Quantity("1"), "secrets": Quantity("4")}
        ),
    )
    status = quota_status(quota, lister(), START)
    assert status.used == {"count/widgets.example.com": Quantity("1"), "pods": Quantity("0")}


def test_release_delay_points_just_past_the_first_overdue_deadline() -> None:
    quota = make_quota(pods="5")

    def deleting(name: str, at: float, grace: int) -> Pod:
        meta = ObjectMeta(
            name=name,
            namespace=NS,
            deletion_timestamp=datetime.fromtimestamp(at, tz=UTC),
            deletion_grace_period_seconds=grace,
        )
        return attrs.evolve(make_pod(name), metadata=meta)

    pods = [make_pod("live"), deleting("a", START + 30, 30), deleting("b", START + 10, 10)]
    assert release_delay(quota, pods, START) == 20 + RELEASE_MARGIN_S
    assert release_delay(quota, pods, START + 25) == 35 + RELEASE_MARGIN_S  # b is released
    assert release_delay(quota, pods[:1], START) is None
    assert release_delay(make_quota(configmaps="3"), pods, START) is None


# --- what concerns which quota --------------------------------------------------------------


def test_keys_follow_kubernetes_replenishment() -> None:
    store = make_store()
    store.create(make_quota("a", pods="5"))
    store.create(make_quota("b", configmaps="5"))
    controller = ResourceQuotaController(store, ManualClock(START))
    both = (("team-a", "a"), ("team-a", "b"))
    pod = make_pod("p")
    finished = make_pod("p", phase="Succeeded")
    deleting = attrs.evolve(
        pod,
        metadata=attrs.evolve(
            pod.metadata, deletion_timestamp=datetime.fromtimestamp(START, tz=UTC)
        ),
    )
    watched = {w.kind: w.keys for w in controller.watches}
    assert next(iter(watched)) is ResourceQuota  # the primary kind first
    assert tuple(watched[Pod]("ADDED", pod)) == ()  # admission charged it
    assert tuple(watched[Pod]("MODIFIED", pod)) == ()
    assert tuple(watched[Pod]("MODIFIED", finished)) == both
    assert tuple(watched[Pod]("MODIFIED", deleting)) == both
    assert tuple(watched[Pod]("DELETED", pod)) == both
    cm = ConfigMap(metadata=ObjectMeta(name="cm", namespace=NS))
    assert tuple(watched[ConfigMap]("ADDED", cm)) == ()
    assert tuple(watched[ConfigMap]("DELETED", cm)) == both
    assert (
        tuple(watched[Service]("MODIFIED", Service(metadata=ObjectMeta(name="s", namespace=NS))))
        == both
    )
    assert Deployment in watched
    current = store.get(ResourceQuota, "a", NS)
    assert tuple(watched[ResourceQuota]("ADDED", current)) == (("team-a", "a"),)
    assert tuple(watched[ResourceQuota]("MODIFIED", current)) == (("team-a", "a"),)  # no status yet
    charged = attrs.evolve(
        current, status=ResourceQuotaStatus(hard=current.spec.hard, used=q(pods="1"))
    )
    assert tuple(watched[ResourceQuota]("MODIFIED", charged)) == ()  # a status write only
    assert tuple(watched[ResourceQuota]("DELETED", charged)) == both


# --- reconciles -----------------------------------------------------------------------------


def test_a_new_quota_gets_its_status_and_a_deleted_pod_is_released() -> None:
    clock = ManualClock(START)
    store = make_store(clock)
    store.create(make_pod("a", "1"))
    store.create(make_pod("b", "500m"))
    store.create(make_quota(requests_cpu="4", pods="10"))
    controller = ResourceQuotaController(store, clock)
    assert controller.reconcile((NS, "team-a")) is None
    assert used(store) == {"requests.cpu": "1500m", "pods": "2"}
    store.delete(Pod, "a", NS)
    controller.reconcile((NS, "team-a"))
    assert used(store) == {"requests.cpu": "500m", "pods": "1"}
    version = store.resource_version
    controller.reconcile((NS, "team-a"))
    assert store.resource_version == version  # nothing changed: nothing written
    assert controller.reconcile((NS, "gone")) is None


def test_a_finished_pod_releases_compute_but_keeps_its_object_count() -> None:
    clock = ManualClock(START)
    store = make_store(clock)
    store.create(make_quota(requests_cpu="4", pods="10", count__pods="10"))
    pod = store.create(make_pod("job-1", "2"))
    controller = ResourceQuotaController(store, clock)
    controller.reconcile((NS, "team-a"))
    assert used(store) == {"requests.cpu": "2", "pods": "1", "count/pods": "1"}
    store.update_status(attrs.evolve(pod, status=PodStatus(phase="Succeeded")))
    controller.reconcile((NS, "team-a"))
    assert used(store) == {"requests.cpu": "0", "pods": "0", "count/pods": "1"}


# --- the loop in virtual time ------------------------------------------------------------


async def _loop_scenario() -> list[tuple[float, dict[str, str]]]:
    clock = current_clock()
    store = make_store(clock)
    store.create(make_quota(requests_cpu="2", pods="10"))
    seen: list[tuple[float, dict[str, str]]] = []

    async def settle(label_s: float) -> None:
        await clock.sleep(label_s)
        seen.append((clock.now() - SIMULATION_START, used(store)))

    async with anyio.create_task_group() as group:
        loop = ControllerLoop(store, clock, ResourceQuotaController(store, clock))
        await group.start(loop.run)
        await settle(1)  # the quota's first status
        store.create(make_pod("a", "1"))
        stuck = store.create(
            attrs.evolve(
                make_pod("stuck", "1"),
                metadata=ObjectMeta(name="stuck", namespace=NS, finalizers=("example.com/hold",)),
            )
        )
        await settle(1)  # charged by admission
        store.delete(Pod, "a", NS)
        await settle(1)  # released by the controller
        store.delete(Pod, stuck.metadata.name, NS, grace_period_s=30)
        await settle(1)  # marked for deletion: still counted
        await settle(59)  # deletionTimestamp (t=33) + 30 s grace = t=63: still counted
        await settle(1)  # past it: released without any event
        group.cancel_scope.cancel()
    return seen


def test_the_loop_releases_deleted_and_overdue_pods_in_virtual_time() -> None:
    assert simulate(_loop_scenario) == [
        (1.0, {"requests.cpu": "0", "pods": "0"}),
        (2.0, {"requests.cpu": "2", "pods": "2"}),
        (3.0, {"requests.cpu": "1", "pods": "1"}),
        (4.0, {"requests.cpu": "1", "pods": "1"}),
        (63.0, {"requests.cpu": "1", "pods": "1"}),
        (64.0, {"requests.cpu": "0", "pods": "0"}),
    ]
