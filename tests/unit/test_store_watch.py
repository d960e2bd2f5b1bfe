"""MemoryStore watch: live events, list-then-watch, replay, expiry, filtered watches,
slow watchers, closing."""

from __future__ import annotations

from typing import Any

import anyio
import attrs
import pytest
from store_builders import make_config_map, make_pod, make_store

from orbit.api import ConfigMap, Pod, PodStatus
from orbit.clock import ManualClock
from orbit.errors import ResourceExpired, ValidationError
from orbit.store import MemoryStore, Watch, WatchEvent

pytestmark = pytest.mark.anyio


async def take(watch: Watch[Any], count: int) -> list[WatchEvent[Any]]:
    """The next ``count`` events; fails the test instead of hanging."""
    with anyio.fail_after(1):
        return [await anext(watch) for _ in range(count)]


async def assert_nothing_pending(watch: Watch[Any]) -> None:
    """The watch has no event ready (its next read would block)."""
    got: list[Any] = []
    async with anyio.create_task_group() as tg:

        async def read() -> None:
            got.append(await anext(watch))

        tg.start_soon(read)
        await anyio.wait_all_tasks_blocked()
        tg.cancel_scope.cancel()
    assert got == []


def summary(events: list[WatchEvent[Any]]) -> list[tuple[str, str, str]]:
    return [(e.type, e.object.metadata.name, e.object.metadata.resource_version) for e in events]


def relabel(obj: Any, **labels: str) -> Any:
    return attrs.evolve(obj, metadata=attrs.evolve(obj.metadata, labels=labels))


@pytest.fixture
def store() -> MemoryStore:
    return make_store()[0]


async def test_watch_sees_every_change_in_order(store: MemoryStore) -> None:
    async with store.watch(Pod) as watch:
        created = store.create(make_pod("web"))
        updated = store.update(relabel(created, app="web"))
        deleted = store.delete(Pod, "web", "default")

        events = await take(watch, 3)

    assert summary(events) == [
        ("ADDED", "web", "1"),
        ("MODIFIED", "web", "2"),
        ("DELETED", "web", "3"),
    ]
    assert events[0].object is created
    assert events[1].object is updated
    assert events[2].object == deleted
    assert watch.resource_version == "3"


async def test_watch_only_sees_its_kind(store: MemoryStore) -> None:
    watch = store.watch(ConfigMap)
    store.create(make_pod("web"))
    store.create(make_config_map("settings"))
    assert summary(await take(watch, 1)) == [("ADDED", "settings", "2")]
    await assert_nothing_pending(watch)


async def test_watch_without_resource_version_starts_from_now(store: MemoryStore) -> None:
    store.create(make_pod("old"))
    watch = store.watch(Pod)
    assert watch.resource_version == "1"
    store.create(make_pod("new"))
    assert summary(await take(watch, 1)) == [("ADDED", "new", "2")]


async def test_a_waiting_watcher_is_woken_by_a_write(store: MemoryStore) -> None:
    watch = store.watch(Pod)
    received: list[WatchEvent[Any]] = []
    async with anyio.create_task_group() as tg:

        async def consume() -> None:
            received.extend(await take(watch, 2))

        tg.start_soon(consume)
        await anyio.wait_all_tasks_blocked()
        store.create(make_pod("a"))
        await anyio.wait_all_tasks_blocked()
        store.create(make_pod("b"))
    assert summary(received) == [("ADDED", "a", "1"), ("ADDED", "b", "2")]


async def test_list_then_watch_sees_each_change_once(store: MemoryStore) -> None:
    store.create(make_pod("a"))
    listed = store.list(Pod)
    store.create(make_pod("b"))  # between the list and the watch call
    watch = store.watch(Pod, resource_version=listed.resource_version)
    store.create(make_pod("c"))
    events = await take(watch, 2)
    assert summary(events) == [("ADDED", "b", "2"), ("ADDED", "c", "3")]
    await assert_nothing_pending(watch)


async def test_replay_from_a_resource_version(store: MemoryStore) -> None:
    pod = store.create(make_pod("web"))
    store.create(make_config_map())
    pod = store.update(relabel(pod, app="web"))
    store.delete(Pod, "web", "default")

    events = await take(store.watch(Pod, resource_version="1"), 2)

    assert summary(events) == [("MODIFIED", "web", "3"), ("DELETED", "web", "4")]


async def test_resume_from_the_watch_resource_version(store: MemoryStore) -> None:
    watch = store.watch(Pod)
    store.create(make_pod("a"))
    await take(watch, 1)
    store.create(make_pod("b"))
    watch.close()
    store.create(make_pod("c"))

    resumed = store.watch(Pod, resource_version=watch.resource_version)
    assert summary(await take(resumed, 2)) == [("ADDED", "b", "2"), ("ADDED", "c", "3")]


async def test_resource_version_zero_sends_the_current_state_first(store: MemoryStore) -> None:
    store.create(make_pod("b"))
    store.create(make_pod("a"))
    watch = store.watch(Pod, resource_version="0")
    store.create(make_pod("c"))
    events = await take(watch, 2)
    assert summary(events) == [("ADDED", "a", "2"), ("ADDED", "b", "1")]
    # the current state is no change to resume after: the watch stays at the store's rv
    assert watch.resource_version == "2"
    assert summary(await take(watch, 1)) == [("ADDED", "c", "3")]
    assert watch.resource_version == "3"


async def test_too_old_resource_version_raises_resource_expired() -> None:
    store = MemoryStore(clock=ManualClock(), history=3)
    for i in range(5):
        store.create(make_pod(f"p{i}"))
    with pytest.raises(ResourceExpired, match="too old resource version"):
        store.watch(Pod, resource_version="1")
    # the history still reaches back to resourceVersion 2
    events = await take(store.watch(Pod, resource_version="2"), 3)
    assert summary(events) == [("ADDED", "p2", "3"), ("ADDED", "p3", "4"), ("ADDED", "p4", "5")]


async def test_history_is_kept_per_kind() -> None:
    store = MemoryStore(clock=ManualClock(), history=2)
    store.create(make_config_map("settings"))
    for i in range(5):
        store.create(make_pod(f"p{i}"))
    events = await take(store.watch(ConfigMap, resource_version="0"), 1)
    assert summary(events) == [("ADDED", "settings", "1")]
    assert store.watch(ConfigMap, resource_version="1").resource_version == "1"
    with pytest.raises(ResourceExpired):
        store.watch(Pod, resource_version="2")


@pytest.mark.parametrize("bad", ["abc", "-1", "99"])
async def test_invalid_resource_version_is_refused(store: MemoryStore, bad: str) -> None:
    store.create(make_pod("web"))
    with pytest.raises(ValidationError) as info:
        store.watch(Pod, resource_version=bad)
    assert [issue.path for issue in info.value.issues] == ["resourceVersion"]


async def test_namespace_watch(store: MemoryStore) -> None:
    watch = store.watch(Pod, namespace="prod")
    store.create(make_pod("web"))
    store.create(make_pod("web", "prod"))
    assert summary(await take(watch, 1)) == [("ADDED", "web", "2")]
    await assert_nothing_pending(watch)


async def test_label_filtered_watch_turns_transitions_into_added_and_deleted(
    store: MemoryStore,
) -> None:
    watch = store.watch(Pod, label_selector="app=web")
    pod = store.create(make_pod("p"))  # rv 1: does not match -> nothing
    pod = store.update(relabel(pod, app="web"))  # rv 2: starts matching -> ADDED
    pod = store.update(relabel(pod, app="web", v="2"))  # rv 3: still matches -> MODIFIED
    pod = store.update(relabel(pod, app="db"))  # rv 4: stops matching -> DELETED
    pod = store.update(relabel(pod, app="db", v="3"))  # rv 5: matches neither -> nothing
    store.delete(Pod, "p", "default")  # rv 6: did not match -> nothing

    events = await take(watch, 3)

    assert summary(events) == [("ADDED", "p", "2"), ("MODIFIED", "p", "3"), ("DELETED", "p", "4")]
    # the DELETED event carries the last matching content with the new resourceVersion
    assert events[2].object.metadata.labels == {"app": "web", "v": "2"}
    await assert_nothing_pending(watch)


async def test_field_filtered_watch_sees_a_binding_as_added(store: MemoryStore) -> None:
    watch = store.watch(Pod, field_selector="spec.nodeName=n1")
    pod = store.create(make_pod("p"))
    pod = store.update(attrs.evolve(pod, spec=attrs.evolve(pod.spec, node_name="n1")))
    pod = store.update_status(attrs.evolve(pod, status=PodStatus(phase="Running")))
    store.delete(Pod, "p", "default")
    events = await take(watch, 3)
    assert summary(events) == [("ADDED", "p", "2"), ("MODIFIED", "p", "3"), ("DELETED", "p", "4")]


async def test_replay_applies_the_filter(store: MemoryStore) -> None:
    pod = store.create(make_pod("p"))
    store.update(relabel(pod, app="web"))
    events = await take(store.watch(Pod, label_selector="app=web", resource_version="1"), 1)
    assert summary(events) == [("ADDED", "p", "2")]


async def test_graceful_delete_and_finalizers_in_the_stream(store: MemoryStore) -> None:
    watch = store.watch(Pod)
    store.create(make_pod("p", finalizers=("example.com/hold",)))
    marked = store.delete(Pod, "p", "default", grace_period_s=10)
    store.update(attrs.evolve(marked, metadata=attrs.evolve(marked.metadata, finalizers=())))
    store.delete(Pod, "p", "default")
    events = await take(watch, 4)
    assert [e.type for e in events] == ["ADDED", "MODIFIED", "MODIFIED", "DELETED"]
    assert events[1].object.metadata.deletion_grace_period_seconds == 10


async def test_finalizer_removal_deletes_with_one_event(store: MemoryStore) -> None:
    watch = store.watch(Pod)
    store.create(make_pod("p", finalizers=("example.com/hold",)))
    marked = store.delete(Pod, "p", "default")
    store.update(attrs.evolve(marked, metadata=attrs.evolve(marked.metadata, finalizers=())))
    events = await take(watch, 3)
    assert summary(events) == [("ADDED", "p", "1"), ("MODIFIED", "p", "2"), ("DELETED", "p", "3")]
    assert events[2].object.metadata.finalizers == ()
    await assert_nothing_pending(watch)


async def test_no_op_writes_send_no_event(store: MemoryStore) -> None:
    watch = store.watch(Pod)
    pod = store.create(make_pod("p"))
    store.update(pod)
    store.update_status(pod)
    assert summary(await take(watch, 1)) == [("ADDED", "p", "1")]
    await assert_nothing_pending(watch)


async def test_slow_watcher_gets_its_buffer_then_resource_expired() -> None:
    store = MemoryStore(clock=ManualClock(), watch_buffer=3)
    slow = store.watch(Pod)
    fast = store.watch(Pod)
    for i in range(50):  # writers never wait for the slow watcher
        store.create(make_pod(f"p{i}"))
        await take(fast, 1)
    assert store.resource_version == "50"

    events = await take(slow, 3)  # what it had buffered, in order

    assert summary(events) == [("ADDED", "p0", "1"), ("ADDED", "p1", "2"), ("ADDED", "p2", "3")]
    assert slow.closed
    with pytest.raises(ResourceExpired, match="fell more than 3 events behind"):
        await anext(slow)
    with pytest.raises(ResourceExpired):  # and keeps saying so
        await anext(slow)
    assert not fast.closed


async def test_a_waiting_watcher_learns_of_its_expiry() -> None:
    store = MemoryStore(clock=ManualClock(), watch_buffer=1)
    watch = store.watch(Pod)
    store.create(make_pod("a"))
    store.create(make_pod("b"))  # overflows: the watcher is cut off
    assert summary(await take(watch, 1)) == [("ADDED", "a", "1")]
    with pytest.raises(ResourceExpired):
        await take(watch, 1)


async def test_replayed_events_do_not_count_against_the_buffer() -> None:
    store = MemoryStore(clock=ManualClock(), watch_buffer=2)
    for i in range(5):
        store.create(make_pod(f"p{i}"))
    watch = store.watch(Pod, resource_version="0")
    store.create(make_pod("p5"))
    events = await take(watch, 6)
    assert [e.object.metadata.name for e in events] == [f"p{i}" for i in range(6)]


async def test_close_stops_the_iterator_and_drops_buffered_events(store: MemoryStore) -> None:
    watch = store.watch(Pod)
    store.create(make_pod("a"))
    await watch.aclose()
    store.create(make_pod("b"))
    assert [event async for event in watch] == []
    assert watch.closed


async def test_close_wakes_a_waiting_consumer(store: MemoryStore) -> None:
    watch = store.watch(Pod)
    seen: list[Any] = []
    async with anyio.create_task_group() as tg:

        async def consume() -> None:
            with anyio.fail_after(1):
                seen.extend([event async for event in watch])

        tg.start_soon(consume)
        await anyio.wait_all_tasks_blocked()
        watch.close()
    assert seen == []


async def test_store_close_ends_every_watch(store: MemoryStore) -> None:
    pods, config_maps = store.watch(Pod), store.watch(ConfigMap, namespace="x")
    store.close()
    assert pods.closed
    assert config_maps.closed
    assert [event async for event in pods] == []
    store.create(make_pod("after"))  # the store stays usable
    assert summary(await take(store.watch(Pod, resource_version="0"), 1)) == [
        ("ADDED", "after", "1")
    ]


async def test_cancelled_consumer_leaves_the_watch_usable(store: MemoryStore) -> None:
    watch = store.watch(Pod)
    with anyio.move_on_after(0):
        await anext(watch)
    store.create(make_pod("a"))
    assert summary(await take(watch, 1)) == [("ADDED", "a", "1")]


async def test_many_watchers_get_the_same_event_objects(store: MemoryStore) -> None:
    watches = [store.watch(Pod) for _ in range(5)]
    stored = store.create(make_pod("a"))
    for watch in watches:
        (event,) = await take(watch, 1)
        assert event.object is stored


async def test_same_seed_same_event_trace() -> None:
    async def run() -> list[Any]:
        store = MemoryStore(clock=ManualClock(), seed=3)
        watch = store.watch(Pod)
        for _ in range(3):
            pod = store.create(make_pod("", generate_name="w-"))
            store.update_status(attrs.evolve(pod, status=PodStatus(phase="Running")))
        return [
            (
                e.type,
                e.object.metadata.name,
                e.object.metadata.uid,
                e.object.metadata.resource_version,
            )
            for e in await take(watch, 6)
        ]

    assert await run() == await run()
