"""Fixtures for the ProcessRuntime tests: real processes on this machine.

Each test gets its own state directory; the ``runtime`` fixture removes (and so kills)
every container recorded there afterwards, whatever the test did, so no process and
no cgroup outlives a test.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from orbit.runtimes import CLUSTER_LABEL, ContainerLaunch
from orbit.runtimes._process import ProcessRuntime
from orbit.runtimes._process_records import scan_records


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def cluster_id() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def runtime(state_dir: Path) -> AsyncIterator[ProcessRuntime]:
    """A ProcessRuntime over the test's state directory (cgroups where available)."""
    process_runtime = ProcessRuntime(state_dir)
    try:
        yield process_runtime
    finally:
        for record in list(scan_records(state_dir)):
            await process_runtime.remove(record.id)
        await process_runtime.close()


@pytest.fixture
def make_launch(cluster_id: str, state_dir: Path) -> Callable[..., ContainerLaunch]:
    """``make_launch("sh", "-c", "...", name="c", memory_limit_bytes=...)``."""

    def build(*argv: str, **fields: Any) -> ContainerLaunch:
        fields.setdefault("pod_uid", "pod-" + uuid.uuid4().hex[:8])
        fields.setdefault("pod_name", "demo")
        fields.setdefault("namespace", "default")
        fields.setdefault("name", "main")
        fields.setdefault("labels", {CLUSTER_LABEL: cluster_id})
        fields.setdefault("state_dir", str(state_dir.parent / "pods" / fields["pod_uid"]))
        return ContainerLaunch(argv=argv, **fields)

    return build
