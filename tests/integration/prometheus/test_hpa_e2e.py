"""The HorizontalPodAutoscaler end to end: a Deployment of real HTTP workers, on
ProcessRuntime and on Docker, scaled up and back down by orbit's HPA

(a) from a ``Pods`` metric each worker serves on its own ``/metrics`` page (orbit
    scrapes every pod at the address it published for ``prometheus.io/port``);
(b) from PromQL queries against a real Prometheus server that scrapes the workers and a
    queue exporter: up, down, to zero and back from zero with an activation threshold.

The workers' gauge follows a load the test sets (see :mod:`hpa_workloads`): ``total``
requests in flight spread over the ready workers, so the expected counts are
``ceil(total / target)`` and the HPA must settle there, neither short nor past it.
Every wait is a poll on a condition with a deadline; the sync period is 1 s.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from hpa_workloads import (
    METRIC,
    QueueExporter,
    SharedLoad,
    ensure_docker,
    runtime_node,
    sync_targets,
    worker_deployment,
)
from prometheus_harness import JOB, PrometheusServer

import orbit
from orbit.api import Deployment, HorizontalPodAutoscaler

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

RUNTIMES = ["process", "docker"]
SELECTOR = "app=worker"
TARGET = ("Deployment", "worker")


def hpa(
    metrics: list[dict[str, Any]],
    *,
    min_replicas: int,
    scale_down_window_s: int,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "worker", "annotations": annotations or {}},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": TARGET[0], "name": TARGET[1]},
            "minReplicas": min_replicas,
            "maxReplicas": 6,
            "metrics": metrics,
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": scale_down_window_s}},
        },
    }


async def replicas_become(cluster: orbit.Cluster, count: int, *, timeout_s: float) -> Deployment:
    """The Deployment asks for ``count`` replicas and has exactly that many, all ready
    (and, at zero, no pod left at all)."""

    def settled(d: Deployment) -> bool:
        status = d.status
        return (
            d.spec.replicas == count
            and status.replicas == count
            and (status.ready_replicas or 0) == count
            and status.observed_generation == d.metadata.generation
        )

    deployment: Deployment = await cluster.wait_for(
        "deployment", "worker", settled, timeout_s=timeout_s
    )
    if count == 0:
        with anyio.fail_after(timeout_s):
            while await cluster.list("pods", selector=SELECTOR):  # noqa: ASYNC110 - processes end
                await anyio.sleep(0.1)
    return deployment


async def rescales(cluster: orbit.Cluster) -> list[str]:
    autoscaler = await cluster.get("hpa", "worker")
    return [
        e.message
        for e in await cluster.events(involved=autoscaler)
        if e.reason == "SuccessfulRescale"
    ]


def conditions(autoscaler: HorizontalPodAutoscaler) -> dict[str, tuple[str, str]]:
    return {c.type: (c.status, c.reason) for c in autoscaler.status.conditions}


@pytest.fixture
async def runtime(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    if kind == "docker":
        await ensure_docker()
    return kind


@pytest.fixture
async def load() -> AsyncIterator[SharedLoad]:
    """The shared load, served; its ``store`` is set once the cluster exists."""
    shared = SharedLoad(SELECTOR)
    async with anyio.create_task_group() as group:
        await group.start(shared.serve)
        yield shared
        group.cancel_scope.cancel()


# -- (a) a Pods metric, scraped from each worker ---------------------------------------


def pods_hpa() -> dict[str, Any]:
    metric = {
        "type": "Pods",
        "pods": {
            "metric": {"name": METRIC},
            "target": {"type": "AverageValue", "averageValue": "10"},
        },
    }
    return hpa([metric], min_replicas=1, scale_down_window_s=0)


@pytest.mark.parametrize("runtime", RUNTIMES, indirect=True)
async def test_a_pods_metric_scales_workers_up_and_back_down(
    runtime: str, load: SharedLoad, tmp_path: Path
) -> None:
    async with orbit.Cluster(
        nodes=[runtime_node(runtime, tmp_path)], state_dir=tmp_path / "state", hpa_sync_period_s=1
    ) as cluster:
        load.store = cluster.store
        load.total = 30  # 30 in flight on one worker: 3x the 10 per pod targeted
        await cluster.apply([worker_deployment(runtime, load.url), pods_hpa()])

        await replicas_become(cluster, 3, timeout_s=30)

        # Settled at 3, not past it: each of the 3 pods reports 10, exactly the target.
        def settled(h: HorizontalPodAutoscaler) -> bool:
            (metric,) = h.status.current_metrics or (None,)
            return (
                h.status.current_replicas == h.status.desired_replicas == 3
                and metric is not None
                and metric.pods is not None
                and metric.pods.current.average_value is not None
                and metric.pods.current.average_value.milli_value() == 10_000
            )

        autoscaler = await cluster.wait_for("hpa", "worker", settled, timeout_s=20)
        assert conditions(autoscaler)["ScalingActive"] == ("True", "ValidMetricFound")
        assert await rescales(cluster) == [
            f"New size: 3; reason: pods metric {METRIC} above target"
        ]

        load.total = 0  # idle: 0 per pod, so the minimum of 1 at once (no window)
        await replicas_become(cluster, 1, timeout_s=20)
        autoscaler = await cluster.wait_for(
            "hpa", "worker", lambda h: h.status.desired_replicas == 1, timeout_s=10
        )
        assert conditions(autoscaler)["ScalingLimited"] == ("True", "TooFewReplicas")
        assert await rescales(cluster) == [
            f"New size: 3; reason: pods metric {METRIC} above target",
            "New size: 1; reason: All metrics below target",
        ]


# -- (b) PromQL against a real Prometheus ----------------------------------------------

INFLIGHT_QUERY = f'sum({METRIC}{{job="{JOB}"}})'
ACTIVATION = "2"
SCALE_DOWN_WINDOW_S = 10
"""Longer than Prometheus 2.42 takes to start scraping a new worker (about 5 s): until
it does, the sum over the workers misses the new ones' share and reads low, and the
window keeps that from scaling back down (what Kubernetes' window is for)."""


def promql_hpa() -> dict[str, Any]:
    inflight = {
        "type": "External",
        "external": {
            "metric": {"name": "inflight"},
            "target": {"type": "AverageValue", "averageValue": "10"},
        },
    }
    queue = {
        "type": "External",
        "external": {
            # no annotation: the query is the name with the selector as matchers
            "metric": {"name": "queue_depth", "selector": {"matchLabels": {"role": "queue"}}},
            "target": {"type": "AverageValue", "averageValue": "5"},
        },
    }
    annotations = {
        "autoscaling.orbit.dev/promql.inflight": INFLIGHT_QUERY,
        "autoscaling.orbit.dev/activation-threshold.queue_depth": ACTIVATION,
    }
    return hpa(
        [inflight, queue],
        min_replicas=0,
        scale_down_window_s=SCALE_DOWN_WINDOW_S,
        annotations=annotations,
    )


def external_value(h: HorizontalPodAutoscaler, name: str) -> int | None:
    """The current average value (milli) of external metric ``name`` in the status."""
    for metric in h.status.current_metrics:
        if metric.external is not None and metric.external.metric.name == name:
            current = metric.external.current.average_value
            return current.milli_value() if current is not None else None
    return None


@pytest.fixture
def queue() -> Iterator[QueueExporter]:
    exporter = QueueExporter()
    try:
        yield exporter
    finally:
        exporter.close()


@pytest.mark.parametrize("runtime", RUNTIMES, indirect=True)
async def test_b_promql_scales_up_down_to_zero_and_back(
    runtime: str,
    load: SharedLoad,
    queue: QueueExporter,
    prometheus: PrometheusServer,
    tmp_path: Path,
) -> None:
    async with (
        orbit.Cluster(
            nodes=[runtime_node(runtime, tmp_path)],
            state_dir=tmp_path / "state",
            hpa_sync_period_s=1,
            prometheus_url=prometheus.url,
        ) as cluster,
        anyio.create_task_group() as group,
    ):
        load.store = cluster.store
        group.start_soon(sync_targets, prometheus, cluster.store, SELECTOR, [queue.group()])
        queue.gauge.set(3)  # 3 jobs queued: above the activation threshold of 2
        load.total = 30  # 30 in flight: 3 workers at the 10 per worker targeted
        await cluster.apply([worker_deployment(runtime, load.url), promql_hpa()])

        # Up: Prometheus sums 30 over the one worker, ceil(30 / 10) = 3.
        await replicas_become(cluster, 3, timeout_s=30)

        # Prometheus scrapes the new workers too: the sum stays 30, 10 per worker.
        def settled(h: HorizontalPodAutoscaler) -> bool:
            return (
                h.status.current_replicas == h.status.desired_replicas == 3
                and external_value(h, "inflight") == 10_000
            )

        autoscaler = await cluster.wait_for("hpa", "worker", settled, timeout_s=20)
        assert conditions(autoscaler)["ScalingActive"] == ("True", "ValidMetricFound")
        assert await prometheus.query_until(INFLIGHT_QUERY, lambda v: v == 30_000) == 30_000
        assert await rescales(cluster) == [
            "New size: 3; reason: external metric inflight(nil) above target"
        ]

        # Down to zero: nothing in flight and 1 job queued, not above the threshold.
        load.total = 0
        queue.gauge.set(1)
        await replicas_become(cluster, 0, timeout_s=SCALE_DOWN_WINDOW_S + 20)

        # At zero, 2 queued is still not above the threshold: the HPA reads it (the
        # status shows it) and stays at zero, although ceil(2 / 5) would be 1.
        queue.gauge.set(2)
        autoscaler = await cluster.wait_for(
            "hpa",
            "worker",
            lambda h: external_value(h, "queue_depth") == 2_000,
            timeout_s=20,
        )
        deployment: Deployment = await cluster.get(*TARGET)
        events = await rescales(cluster)
        assert autoscaler.status.desired_replicas == 0, events
        assert deployment.spec.replicas == 0, events

        # Back from zero: 20 queued wakes the workers, ceil(20 / 5) = 4 of them.
        queue.gauge.set(20)
        await replicas_become(cluster, 4, timeout_s=30)
        assert await rescales(cluster) == [
            "New size: 3; reason: external metric inflight(nil) above target",
            "New size: 0; reason: all metrics at or below their activation thresholds",
            "New size: 4; reason: external metric queue_depth(role=queue) above target",
        ]
        group.cancel_scope.cancel()
