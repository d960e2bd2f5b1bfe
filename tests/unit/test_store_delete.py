"""MemoryStore delete: immediate, graceful, finalizers, preconditions."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
import pytest
from store_builders import START, make_pod, make_store

from orbit.api import Pod
from orbit.clock import ManualClock
from orbit.errors import Conflict, NotFound, ValidationError
from orbit.store import MemoryStore

HOLD = "example.com/hold"
OTHER = "example.com/other"


def set_finalizers(obj: Pod, *finalizers: str) -> Pod:
    return attrs.evolve(obj, metadata=attrs.evolve(obj.metadata, finalizers=finalizers))


def at(offset_s: float) -> datetime:
    return datetime.fromtimestamp(START + offset_s, tz=UTC)


@pytest.fixture
def setup() -> tuple[MemoryStore, ManualClock]:
    return make_store()


def test_delete_removes_at_once_and_returns_the_last_state(
    setup: tuple[MemoryStore, ManualClock],
) -> None:
    store, _ = setup
    stored = store.create(make_pod("web"))

    deleted = store.delete(Pod, "web", "default")

    assert deleted.metadata.resource_version == "2"
    assert attrs.evolve(deleted, metadata=stored.metadata) == stored
    assert store.resource_version == "2"
    with pytest.raises(NotFound):
        store.get(Pod, "web", "default")
    with pytest.raises(NotFound):
        store.delete(Pod, "web", "default")
    store.create(make_pod("web"))  # the name is free again


def test_delete_with_stale_resource_version_raises_conflict(
    setup: tuple[MemoryStore, ManualClock],
) -> None:
    store, _ = setup
    stored = store.create(make_pod("web"))
    store.update_status(attrs.evolve(stored, status=attrs.evolve(stored.status, phase="Running")))
    with pytest.raises(Conflict):
        store.delete(Pod, "web", "default", resource_version="1")
    assert store.delete(Pod, "web", "default", resource_version="2").metadata.name == "web"


def test_negative_grace_period_is_invalid(setup: tuple[MemoryStore, ManualClock]) -> None:
    store, _ = setup
    store.create(make_pod("web"))
    with pytest.raises(ValidationError):
        store.delete(Pod, "web", "default", grace_period_s=-1)
    assert store.get(Pod, "web", "default").metadata.deletion_timestamp is None


def test_graceful_delete_marks_and_keeps_the_object(
    setup: tuple[MemoryStore, ManualClock],
) -> None:
    store, clock = setup
    store.create(make_pod("web"))
    clock.advance(5)

    marked = store.delete(Pod, "web", "default", grace_period_s=30)

    assert marked.metadata.deletion_timestamp == at(35)
    assert marked.metadata.deletion_grace_period_seconds == 30
    assert marked.metadata.resource_version == "2"
    assert marked.metadata.generation == 1  # generation follows spec changes only
    assert store.get(Pod, "web", "default") is marked


def test_graceful_delete_finishes_with_a_zero_grace_delete(
    setup: tuple[MemoryStore, ManualClock],
) -> None:
    store, _ = setup
    store.create(make_pod("web"))
    store.delete(Pod, "web", "default", grace_period_s=30)

    deleted = store.delete(Pod, "web", "default")

    assert deleted.metadata.resource_version == "3"
    with pytest.raises(NotFound):
        store.get(Pod, "web", "default")


def test_a_pending_grace_period_can_only_be_shortened(
    setup: tuple[MemoryStore, ManualClock],
) -> None:
    store, clock = setup
    store.create(make_pod("web"))
    marked = store.delete(Pod, "web", "default", grace_period_s=30)
    clock.advance(10)

    assert store.delete(Pod, "web", "default", grace_period_s=60) is marked
    assert store.delete(Pod, "web", "default", grace_period_s=30) is marked
    shortened = store.delete(Pod, "web", "default", grace_period_s=10)

    # measured from the first request, as Kubernetes does
    assert shortened.metadata.deletion_timestamp == at(10)
    assert shortened.metadata.deletion_grace_period_seconds == 10
    assert shortened.metadata.resource_version == "3"


def test_update_during_a_graceful_delete_keeps_the_object(
    setup: tuple[MemoryStore, ManualClock],
) -> None:
    store, _ = setup
    store.create(make_pod("web"))
    marked = store.delete(Pod, "web", "default", grace_period_s=30)
    updated = store.update(
        attrs.evolve(marked, metadata=attrs.evolve(marked.metadata, labels={"a": "b"}))
    )
    assert updated.metadata.labels == {"a": "b"}
    assert store.get(Pod, "web", "default") is updated


def test_finalizers_hold_a_deleted_object_until_removed(
    setup: tuple[MemoryStore, ManualClock],
) -> None:
    store, _ = setup
    store.create(make_pod("web", finalizers=(HOLD, OTHER)))

    marked = store.delete(Pod, "web", "default")
    assert marked.metadata.deletion_timestamp == at(0)
    assert marked.metadata.deletion_grace_period_seconds == 0
    assert store.get(Pod, "web", "default") is marked
    assert store.delete(Pod, "web", "default") is marked  # nothing more to do

    one_left = store.update(set_finalizers(marked, OTHER))
    assert one_left.metadata.finalizers == (OTHER,)
    assert store.get(Pod, "web", "default") is one_left

    gone = store.update(set_finalizers(one_left))
    assert gone.metadata.finalizers == ()
    assert gone.metadata.resource_version == "4"
    with pytest.raises(NotFound):
        store.get(Pod, "web", "default")


def test_removing_finalizers_of_a_live_object_does_not_delete_it(
    setup: tuple[MemoryStore, ManualClock],
) -> None:
    store, _ = setup
    stored = store.create(make_pod("web", finalizers=(HOLD,)))
    updated = store.update(set_finalizers(stored))
    assert store.get(Pod, "web", "default") is updated


def test_no_finalizer_may_be_added_to_an_object_being_deleted(
    setup: tuple[MemoryStore, ManualClock],
) -> None:
    store, _ = setup
    store.create(make_pod("web", finalizers=(HOLD,)))
    marked = store.delete(Pod, "web", "default")
    with pytest.raises(ValidationError) as info:
        store.update(set_finalizers(marked, HOLD, OTHER))
    assert [issue.path for issue in info.value.issues] == ["metadata.finalizers"]
    assert store.get(Pod, "web", "default") is marked


def test_finalizers_removed_while_a_grace_period_is_pending_wait_for_the_grace(
    setup: tuple[MemoryStore, ManualClock],
) -> None:
    store, _ = setup
    store.create(make_pod("web", finalizers=(HOLD,)))
    marked = store.delete(Pod, "web", "default", grace_period_s=30)

    released = store.update(set_finalizers(marked))
    assert store.get(Pod, "web", "default") is released  # the grace period still runs

    store.delete(Pod, "web", "default", grace_period_s=0)
    with pytest.raises(NotFound):
        store.get(Pod, "web", "default")


def test_zero_grace_delete_with_finalizers_shortens_then_waits(
    setup: tuple[MemoryStore, ManualClock],
) -> None:
    store, _ = setup
    store.create(make_pod("web", finalizers=(HOLD,)))
    store.delete(Pod, "web", "default", grace_period_s=30)

    held = store.delete(Pod, "web", "default", grace_period_s=0)
    assert held.metadata.deletion_grace_period_seconds == 0
    assert store.get(Pod, "web", "default") is held

    store.update(set_finalizers(held))
    with pytest.raises(NotFound):
        store.get(Pod, "web", "default")
