"""Builders for the simulator's tests: launches and a clock reading."""

from __future__ import annotations

import asyncio
from typing import Any

from orbit.runtimes import CLUSTER_LABEL, ContainerLaunch
from orbit.simulation import SIMULATION_START


def make_launch(
    name: str = "app",
    *,
    pod: str = "p1",
    annotations: dict[str, str] | None = None,
    cluster: str = "c1",
    **fields: Any,
) -> ContainerLaunch:
    """A launch for container ``name`` of pod ``pod`` (uid ``uid-<pod>``), labelled for
    cluster ``cluster``, with the given pod annotations and other launch fields."""
    return ContainerLaunch(
        pod_uid=f"uid-{pod}",
        pod_name=pod,
        namespace="default",
        name=name,
        image="busybox",
        labels={CLUSTER_LABEL: cluster},
        annotations=annotations or {},
        **fields,
    )


def vnow() -> float:
    """Virtual seconds since the running simulation began."""
    return asyncio.get_running_loop().time()


def epoch(seconds: float) -> float:
    """The epoch reading ``seconds`` into a simulation started at the default start."""
    return SIMULATION_START + seconds
