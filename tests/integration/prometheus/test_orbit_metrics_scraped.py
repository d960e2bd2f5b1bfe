"""orbit's own metrics, scraped by a real Prometheus and read back with PromQL.

A cluster serves its metrics (``metrics_port=0``) and runs a Deployment of two real
processes with an HPA that takes it to three (its External metric's PromQL is
``vector(3)``, run on the same Prometheus). Prometheus scrapes ``cluster.metrics_url``;
the queries must return what happened: three pods Running and none pending, three
scheduling attempts that all succeeded, reconciles of the controllers involved (the
HPA's counted every sync), no container restart, and the HPA's replicas and limits.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from hpa_workloads import by_label, query_vector, vector_until
from prometheus_harness import JOB, PrometheusServer

import orbit
from orbit.api import Deployment

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

SLEEPERS: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "sleep"},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "sleep"}},
        "template": {
            "metadata": {"labels": {"app": "sleep"}},
            "spec": {
                "terminationGracePeriodSeconds": 2,
                "containers": [
                    {
                        "name": "sleep",
                        "image": "python",
                        "command": [sys.executable, "-c", "import signal; signal.pause()"],
                    }
                ],
            },
        },
    },
}

HPA: dict[str, Any] = {
    "apiVersion": "autoscaling/v2",
    "kind": "HorizontalPodAutoscaler",
    "metadata": {
        "name": "sleep",
        "annotations": {"autoscaling.orbit.dev/promql.wanted_workers": "vector(3)"},
    },
    "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "sleep"},
        "minReplicas": 2,
        "maxReplicas": 4,
        "metrics": [
            {
                "type": "External",
                "external": {
                    "metric": {"name": "wanted_workers"},
                    "target": {"type": "AverageValue", "averageValue": "1"},
                },
            }
        ],
    },
}

CONTROLLERS = (
    "deployment-controller",
    "replicaset-controller",
    "horizontal-pod-autoscaling-controller",
)


async def test_orbit_metrics_are_scraped_and_queryable(
    prometheus: PrometheusServer, tmp_path: Path
) -> None:
    node = orbit.Node("process-0", runtime=orbit.ProcessRuntime(tmp_path / "process"))
    async with orbit.Cluster(
        nodes=[node],
        state_dir=tmp_path / "state",
        metrics_port=0,
        prometheus_url=prometheus.url,
        hpa_sync_period_s=1,
    ) as cluster:
        endpoint = urlsplit(cluster.metrics_url)
        assert endpoint.hostname == "127.0.0.1"
        assert endpoint.path == "/metrics"
        prometheus.set_targets([endpoint.netloc], {"cluster": "e2e"})
        await cluster.apply([SLEEPERS, HPA])

        def three_running(d: Deployment) -> bool:
            return d.spec.replicas == 3 and (d.status.ready_replicas or 0) == 3

        await cluster.wait_for("deployment", "sleep", three_running, timeout_s=30)

        # The target is up, and every family carries the target's labels.
        up = await vector_until(
            prometheus, f'up{{job="{JOB}"}}', lambda s: [v for _, v in s] == [1.0]
        )
        assert up[0][0]["cluster"] == "e2e"

        # Pods by phase (every phase of the namespace, zeros included); none pending.
        every_phase = {"Pending": 0, "Running": 3, "Succeeded": 0, "Failed": 0, "Unknown": 0}
        await vector_until(
            prometheus,
            'orbit_pods{namespace="default"}',
            lambda s: by_label(s, "phase") == every_phase,
        )
        assert await prometheus.query_until_present("orbit_scheduler_pending_pods") == 0

        # Three pods, three scheduling attempts, all successful; Prometheus holds what
        # the cluster's own registry counted.
        attempts = await vector_until(
            prometheus,
            'orbit_scheduler_schedule_attempts_total{profile="default-scheduler"}',
            lambda s: by_label(s, "result").get("scheduled") == 3,
        )
        assert by_label(attempts, "result") == {"scheduled": 3, "unschedulable": 0, "error": 0}
        registry = cluster.metrics.registry
        assert (
            registry.get_sample_value(
                "orbit_scheduler_schedule_attempts_total",
                {"result": "scheduled", "profile": "default-scheduler"},
            )
            == 3
        )
        # The latency histogram's buckets make a quantile (seconds, well under one).
        ((_, p99),) = await vector_until(
            prometheus,
            "histogram_quantile(0.99, sum by (le) "
            "(orbit_scheduler_scheduling_attempt_duration_seconds_bucket))",
            lambda s: len(s) == 1,
        )
        assert 0 < p99 < math.inf

        # Reconciles of the controllers that ran the Deployment and the HPA; the HPA's
        # count keeps growing (one per sync) and none of them failed.
        wanted = set(CONTROLLERS)
        counts = await vector_until(
            prometheus,
            "orbit_controller_reconcile_duration_seconds_count",
            lambda s: wanted <= {c for c, v in by_label(s, "controller").items() if v > 0},
        )
        hpa_count = by_label(counts, "controller")["horizontal-pod-autoscaling-controller"]
        await vector_until(
            prometheus,
            'orbit_controller_reconcile_duration_seconds_count{controller="horizontal-pod-autoscaling-controller"}',
            lambda s: bool(s) and s[0][1] >= hpa_count + 2,
        )
        errors = by_label(
            await query_vector(prometheus.base, "orbit_controller_reconcile_errors_total"),
            "controller",
        )
        assert errors["horizontal-pod-autoscaling-controller"] == 0

        # No container restarted: one series per container, all 0.
        restarts = await query_vector(
            prometheus.base, 'orbit_pod_container_restarts_total{namespace="default"}'
        )
        assert len(restarts) == 3
        assert {labels["container"] for labels, _ in restarts} == {"sleep"}
        assert [v for _, v in restarts] == [0, 0, 0]

        # The HPA's replicas and limits.
        for name, value in (("desired", 3), ("current", 3), ("min", 2), ("max", 4)):
            query = f'orbit_hpa_{name}_replicas{{namespace="default",hpa="sleep"}}'
            assert await prometheus.query_until(query, lambda v, x=value: v == x * 1000) == (
                value * 1000
            )
