"""The event recorder folds repeats and Cluster.events reads them back."""

from __future__ import annotations

import pytest

import orbit
from orbit.api import Namespace, ObjectMeta, Pod
from orbit.clock import ManualClock
from orbit.store import EventRecorder, MemoryStore

pytestmark = pytest.mark.anyio


def test_repeats_are_folded_into_one_event_with_a_count() -> None:
    clock = ManualClock()
    store = MemoryStore(clock=clock)
    store.create(Namespace(metadata=ObjectMeta(name="default")))
    pod = store.create(Pod(metadata=ObjectMeta(name="web", namespace="default")))
    recorder = EventRecorder(store, clock, component="kubelet", host="node-1")
    first = recorder.record(pod, "Warning", "BackOff", "Back-off restarting failed container")
    clock.advance(10)
    again = recorder.record(pod, "Warning", "BackOff", "Back-off restarting failed container")
    other = recorder.record(pod, "Normal", "Pulled", "Container image already present")
    assert again.metadata.name == first.metadata.name
    assert again.count == 2
    assert again.last_timestamp is not None
    assert first.first_timestamp is not None
    assert (again.last_timestamp - first.first_timestamp).total_seconds() == 10
    assert other.metadata.name != first.metadata.name
    assert again.involved_object.uid == pod.metadata.uid
    assert again.source.component == "kubelet"
    events = store.list("events").items
    assert sorted((e.reason, e.count) for e in events) == [("BackOff", 2), ("Pulled", 1)]


async def test_cluster_events_shows_recorded_events_for_an_object() -> None:
    async with orbit.Cluster() as cluster:
        (result,) = await cluster.apply(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
        )
        recorder = EventRecorder(cluster.store, cluster.clock, component="test")
        recorder.record(result.object, "Normal", "Touched", "first")
        recorder.record(result.object, "Normal", "Touched", "second")
        messages = [e.message for e in await cluster.events(involved=result.object)]
        assert messages == ["first", "second"]
