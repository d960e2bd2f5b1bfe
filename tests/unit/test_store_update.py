"""MemoryStore update / update_status: optimistic concurrency, status as a
subresource, generation rules, no-op updates."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
import pytest
from store_builders import make_config_map, make_namespace, make_pod, make_store

from orbit.api import ConfigMap, Pod, PodStatus
from orbit.errors import Conflict, NotFound, ValidationError
from orbit.store import MemoryStore


def relabel(obj: Pod, **labels: str) -> Pod:
    return attrs.evolve(obj, metadata=attrs.evolve(obj.metadata, labels=labels))


def reimage(obj: Pod, image: str) -> Pod:
    container = attrs.evolve(obj.spec.containers[0], image=image)
    return attrs.evolve(obj, spec=attrs.evolve(obj.spec, containers=(container,)))


def with_rv(obj: Pod, rv: str) -> Pod:
    return attrs.evolve(obj, metadata=attrs.evolve(obj.metadata, resource_version=rv))


def with_phase(obj: Pod, phase: str) -> Pod:
    return attrs.evolve(obj, status=PodStatus(phase=phase))  # type: ignore[arg-type]


@pytest.fixture
def store() -> MemoryStore:
    return make_store()[0]


def test_update_with_current_resource_version_succeeds(store: MemoryStore) -> None:
    stored = store.create(make_pod("web"))
    updated = store.update(relabel(stored, app="web"))
    assert updated.metadata.labels == {"app": "web"}
    assert updated.metadata.resource_version == "2"
    assert store.get(Pod, "web", "default") is updated


def test_update_with_stale_resource_version_raises_conflict(store: MemoryStore) -> None:
    stale = store.create(make_pod("web"))
    current = store.update(relabel(stale, app="web"))

    with pytest.raises(Conflict) as info:
        store.update(relabel(stale, app="other"))

    assert (info.value.expected, info.value.actual) == ("1", "2")
    assert store.get(Pod, "web", "default") is current


def test_update_without_resource_version_is_unconditional(store: MemoryStore) -> None:
    stale = store.create(make_pod("web"))
    store.update(relabel(stale, app="web"))
    updated = store.update(with_rv(relabel(stale, app="other"), ""))
    assert updated.metadata.labels == {"app": "other"}
    assert updated.metadata.resource_version == "3"


def test_update_of_missing_object_raises_not_found(store: MemoryStore) -> None:
    with pytest.raises(NotFound):
        store.update(make_pod("ghost"))


def test_update_keeps_the_stored_status(store: MemoryStore) -> None:
    stored = store.create(make_pod("web", phase="Running"))
    updated = store.update(with_phase(relabel(stored, app="web"), "Failed"))
    assert updated.status.phase == "Running"
    assert updated.metadata.labels == {"app": "web"}


def test_update_keeps_uid_creation_timestamp_and_deletion_fields(store: MemoryStore) -> None:
    stored = store.create(make_pod("web", finalizers=("example.com/hold",)))
    marked = store.delete(Pod, "web", "default", grace_period_s=30)
    tampered = attrs.evolve(
        relabel(marked, app="web"),
        metadata=attrs.evolve(
            relabel(marked, app="web").metadata,
            uid="",
            creation_timestamp=datetime(2000, 1, 1, tzinfo=UTC),
            deletion_timestamp=None,
            deletion_grace_period_seconds=None,
            generation=99,
        ),
    )

    updated = store.update(tampered)

    assert updated.metadata.uid == stored.metadata.uid
    assert updated.metadata.creation_timestamp == stored.metadata.creation_timestamp
    assert updated.metadata.deletion_timestamp == marked.metadata.deletion_timestamp
    assert updated.metadata.deletion_grace_period_seconds == 30
    assert updated.metadata.generation == 1


def test_update_with_another_uid_is_invalid(store: MemoryStore) -> None:
    stored = store.create(make_pod("web"))
    other = attrs.evolve(stored, metadata=attrs.evolve(stored.metadata, uid="someone-else"))
    with pytest.raises(ValidationError) as info:
        store.update(other)
    assert [issue.path for issue in info.value.issues] == ["metadata.uid"]
    assert store.get(Pod, "web", "default") is stored


def test_generation_is_bumped_by_spec_changes_only(store: MemoryStore) -> None:
    stored = store.create(make_pod("web"))
    assert stored.metadata.generation == 1

    labelled = store.update(relabel(stored, app="web"))
    assert labelled.metadata.generation == 1
    with_status = store.update_status(with_phase(labelled, "Running"))
    assert with_status.metadata.generation == 1
    respecced = store.update(reimage(with_status, "nginx:2"))
    assert respecced.metadata.generation == 2
    assert store.update(reimage(respecced, "nginx:3")).metadata.generation == 3


def test_kinds_without_spec_keep_generation_zero(store: MemoryStore) -> None:
    stored = store.create(make_config_map(color="blue"))
    updated = store.update(attrs.evolve(stored, data={"color": "red"}))
    assert updated.data == {"color": "red"}
    assert updated.metadata.generation == 0
    assert updated.metadata.resource_version == "2"


def test_no_op_update_returns_the_stored_object_without_a_new_version(
    store: MemoryStore,
) -> None:
    stored = store.create(make_pod("web"))
    again = store.update(make_pod("web"))  # same content, no resourceVersion
    assert again is stored
    assert store.resource_version == "1"
    assert store.update(with_phase(stored, "Failed")) is stored  # status is ignored


def test_update_status_changes_only_the_status(store: MemoryStore) -> None:
    stored = store.create(make_pod("web"))
    sent = with_phase(reimage(relabel(stored, app="web"), "evil"), "Running")

    updated = store.update_status(sent)

    assert updated.status.phase == "Running"
    assert updated.spec == stored.spec
    assert updated.metadata.labels == {}
    assert updated.metadata.resource_version == "2"
    assert updated.metadata.generation == 1


def test_update_status_checks_the_resource_version(store: MemoryStore) -> None:
    stale = store.create(make_pod("web"))
    store.update_status(with_phase(stale, "Running"))
    with pytest.raises(Conflict):
        store.update_status(with_phase(stale, "Failed"))
    assert store.update_status(with_phase(with_rv(stale, ""), "Failed")).status.phase == "Failed"


def test_no_op_status_update_returns_the_stored_object(store: MemoryStore) -> None:
    stored = store.create(make_pod("web", phase="Running"))
    assert store.update_status(with_phase(stored, "Running")) is stored
    assert store.resource_version == "1"


def test_update_status_of_a_kind_without_status_is_invalid(store: MemoryStore) -> None:
    stored = store.create(make_config_map())
    with pytest.raises(ValidationError) as info:
        store.update_status(stored)
    assert [issue.path for issue in info.value.issues] == ["status"]
    assert store.get(ConfigMap, "settings", "default") is stored


def test_update_status_of_missing_object_raises_not_found(store: MemoryStore) -> None:
    with pytest.raises(NotFound):
        store.update_status(make_pod("ghost"))


def test_cluster_scoped_update(store: MemoryStore) -> None:
    stored = store.create(make_namespace("team-a"))
    updated = store.update(
        attrs.evolve(stored, metadata=attrs.evolve(stored.metadata, labels={"team": "a"}))
    )
    assert updated.metadata.labels == {"team": "a"}
    assert updated.metadata.namespace == ""


def test_cluster_scoped_update_ignores_a_namespace(store: MemoryStore) -> None:
    stored = store.create(make_namespace("team-a"))
    sent = attrs.evolve(
        stored, metadata=attrs.evolve(stored.metadata, namespace="default", labels={"a": "b"})
    )
    updated = store.update(sent)
    assert updated.metadata.namespace == ""
    assert store.list("namespaces").items == [updated]
