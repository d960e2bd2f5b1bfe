"""MemoryStore create / get: bookkeeping fields, names, namespaces, kind lookup."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from store_builders import START, make_config_map, make_namespace, make_pod, make_store

from orbit.api import ConfigMap, Namespace, ObjectMeta, Pod, kind_info
from orbit.clock import ManualClock
from orbit.errors import AlreadyExists, NotFound, UnsupportedKind, ValidationError
from orbit.store import MemoryStore
from orbit.store._memory import uuid4_text
from orbit.store._rules import generate_name


def test_create_sets_the_bookkeeping_fields() -> None:
    store, clock = make_store()
    clock.advance(0.75)  # timestamps keep whole seconds, like metav1.Time

    stored = store.create(make_pod("web"))

    meta = stored.metadata
    assert meta.resource_version == "1"
    assert meta.generation == 1
    assert meta.creation_timestamp == datetime.fromtimestamp(START, tz=UTC)
    assert meta.creation_timestamp.tzinfo is not None
    assert len(meta.uid) == 36
    assert store.resource_version == "1"
    assert stored.spec == make_pod("web").spec


def test_create_returns_the_instance_get_returns() -> None:
    store, _ = make_store()
    stored = store.create(make_pod("web"))
    assert store.get(Pod, "web", "default") is stored


def test_create_ignores_bookkeeping_fields_passed_in() -> None:
    store, _ = make_store()
    given = make_pod("web")
    given = attrs.evolve(
        given,
        metadata=attrs.evolve(
            given.metadata,
            uid="mine",
            resource_version="99",
            generation=7,
            creation_timestamp=datetime(2000, 1, 1, tzinfo=UTC),
            deletion_timestamp=datetime(2000, 1, 1, tzinfo=UTC),
            deletion_grace_period_seconds=5,
        ),
    )

    meta = store.create(given).metadata

    assert meta.uid != "mine"
    assert meta.resource_version == "1"
    assert meta.generation == 1
    assert meta.creation_timestamp == datetime.fromtimestamp(START, tz=UTC)
    assert meta.deletion_timestamp is None
    assert meta.deletion_grace_period_seconds is None


def test_resource_version_is_one_counter_across_kinds() -> None:
    store, _ = make_store()
    assert store.resource_version == "0"
    versions = [
        store.create(make_pod("a")).metadata.resource_version,
        store.create(make_config_map("b")).metadata.resource_version,
        store.create(make_namespace("c")).metadata.resource_version,
        store.create(make_pod("d")).metadata.resource_version,
    ]
    assert versions == ["1", "2", "3", "4"]
    assert store.resource_version == "4"


def test_kinds_without_spec_have_no_generation() -> None:
    store, _ = make_store()
    assert store.create(make_config_map()).metadata.generation == 0


def test_uids_are_unique_and_uid_factory_is_used() -> None:
    store, _ = make_store()
    uids = {store.create(make_pod(f"p{i}")).metadata.uid for i in range(50)}
    assert len(uids) == 50

    counter = iter(range(100))
    custom = MemoryStore(clock=ManualClock(), uid_factory=lambda: f"uid-{next(counter)}")
    assert custom.create(make_pod("a")).metadata.uid == "uid-0"
    assert custom.create(make_pod("b")).metadata.uid == "uid-1"


def test_same_seed_gives_same_names_and_uids() -> None:
    def run() -> list[tuple[str, str]]:
        store = MemoryStore(clock=ManualClock(), seed=42)
        pods = [store.create(make_pod("", generate_name="web-")) for _ in range(5)]
        return [(p.metadata.name, p.metadata.uid) for p in pods]

    assert run() == run()
    other = MemoryStore(clock=ManualClock(), seed=43)
    assert other.create(make_pod("", generate_name="web-")).metadata.name != run()[0][0]


def test_generate_name_appends_five_kubernetes_characters() -> None:
    store, _ = make_store()
    names = [store.create(make_pod("", generate_name="web-")).metadata.name for _ in range(20)]
    assert len(set(names)) == 20
    for name in names:
        assert name.startswith("web-")
        suffix = name.removeprefix("web-")
        assert len(suffix) == 5
        assert set(suffix) <= set("bcdfghjklmnpqrstvwxz2456789")


def test_generate_name_truncates_a_long_prefix_to_fit_63_characters() -> None:
    store, _ = make_store()
    name = store.create(make_pod("", generate_name="x" * 80)).metadata.name
    assert len(name) == 63
    assert name.startswith("x" * 58)


def test_generate_name_retries_when_the_generated_name_is_taken() -> None:
    first = MemoryStore(clock=ManualClock(), seed=5)
    taken = first.create(make_pod("", generate_name="web-")).metadata.name

    store = MemoryStore(clock=ManualClock(), seed=5)  # would generate `taken` first
    store.create(make_pod(taken))
    generated = store.create(make_pod("", generate_name="web-")).metadata.name

    assert generated != taken
    assert generated.startswith("web-")


def test_name_or_generate_name_is_required() -> None:
    store, _ = make_store()
    with pytest.raises(ValidationError) as info:
        store.create(make_pod(""))
    assert [issue.path for issue in info.value.issues] == ["metadata.name"]
    assert store.resource_version == "0"


def test_namespaced_kind_needs_a_namespace() -> None:
    store, _ = make_store()
    with pytest.raises(ValidationError) as info:
        store.create(make_pod("web", namespace=""))
    assert [issue.path for issue in info.value.issues] == ["metadata.namespace"]
    assert store.list(Pod).items == []


def test_cluster_scoped_kind_refuses_a_namespace() -> None:
    store, _ = make_store()
    ns = Namespace(metadata=ObjectMeta(name="team-a", namespace="default"))
    with pytest.raises(ValidationError) as info:
        store.create(ns)
    assert [issue.path for issue in info.value.issues] == ["metadata.namespace"]
    assert "cluster-scoped" in info.value.issues[0].message


def test_create_of_a_taken_name_raises_already_exists() -> None:
    store, _ = make_store()
    store.create(make_pod("web"))
    with pytest.raises(AlreadyExists, match='Pod "web" already exists'):
        store.create(make_pod("web", image="other"))
    assert store.get(Pod, "web", "default").spec.containers[0].image == "nginx"
    assert store.resource_version == "1"


def test_same_name_in_another_namespace_or_kind_is_fine() -> None:
    store, _ = make_store()
    store.create(make_pod("web"))
    store.create(make_pod("web", namespace="other"))
    store.create(make_config_map("web"))
    assert store.get(Pod, "web", "other").metadata.namespace == "other"


def test_get_missing_raises_not_found() -> None:
    store, _ = make_store()
    store.create(make_pod("web"))
    with pytest.raises(NotFound) as info:
        store.get(Pod, "api", "default")
    assert isinstance(info.value, LookupError)
    with pytest.raises(NotFound):
        store.get(Pod, "web", "other")
    with pytest.raises(NotFound):
        store.get(ConfigMap, "web", "default")


@pytest.mark.parametrize(
    "kind", [Pod, "Pod", "pod", "pods", "po", "PODS", kind_info(Pod)], ids=repr
)
def test_kind_may_be_named_like_kubectl_names_it(kind: object) -> None:
    store, _ = make_store()
    stored = store.create(make_pod("web"))
    assert store.get(kind, "web", "default") is stored  # type: ignore[call-overload]
    assert store.list(kind).items == [stored]  # type: ignore[call-overload]


@pytest.mark.parametrize("kind", ["Gizmo", int, "deployment.example.com"])
def test_unknown_kind_raises_unsupported_kind(kind: object) -> None:
    store, _ = make_store()
    with pytest.raises(UnsupportedKind):
        store.get(kind, "x", "default")  # type: ignore[call-overload]


def test_get_of_a_namespaced_kind_needs_a_namespace() -> None:
    store, _ = make_store()
    store.create(make_pod("web"))
    with pytest.raises(ValidationError) as info:
        store.get(Pod, "web")
    assert [issue.path for issue in info.value.issues] == ["metadata.namespace"]


def test_cluster_scoped_get_ignores_the_namespace_argument() -> None:
    store, _ = make_store()
    stored = store.create(make_namespace("team-a"))
    assert store.get(Namespace, "team-a") is stored
    assert store.get(Namespace, "team-a", "default") is stored
    assert store.list(Namespace, namespace="default").items == [stored]


def test_invalid_store_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="watch_buffer"):
        MemoryStore(watch_buffer=0)
    with pytest.raises(ValueError, match="history"):
        MemoryStore(history=-1)


def test_generate_name_gives_up_after_repeated_collisions() -> None:
    class StuckRandom(random.Random):
        def choices(self, population: Any, *args: Any, **kwargs: Any) -> list[Any]:
            return ["b"] * 5

    taken = {("default", "web-bbbbb"): object()}
    with pytest.raises(AlreadyExists):
        generate_name(kind_info(Pod), "web-", StuckRandom(), taken, "default")
    assert generate_name(kind_info(Pod), "web-", StuckRandom(), {}, "default") == "web-bbbbb"


@given(st.integers(min_value=0, max_value=2**128 - 1))
def test_seeded_uids_are_the_uuid4_text_of_the_draw(bits: int) -> None:
    assert uuid4_text(bits) == str(uuid.UUID(int=bits, version=4))
