"""MemoryStore list: order, namespaces, label and field selectors, and the indexes
(checked against a brute-force scan under random writes)."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_builders import make_config_map, make_namespace, make_pod, make_store

from orbit.api import (
    ConfigMap,
    FieldRequirement,
    FieldSelector,
    LabelSelector,
    LabelSelectorRequirement,
    Namespace,
    Pod,
    PodStatus,
    Requirement,
    Selector,
)
from orbit.errors import NotFound, ValidationError
from orbit.store import MemoryStore


def names(items: list[Any]) -> list[tuple[str, str]]:
    return [(obj.metadata.namespace, obj.metadata.name) for obj in items]


@pytest.fixture
def store() -> MemoryStore:
    store = make_store()[0]
    store.create(make_pod("web-2", labels={"app": "web", "tier": "front"}, node="n1"))
    store.create(make_pod("web-1", labels={"app": "web", "tier": "front"}, phase="Running"))
    store.create(make_pod("db-1", labels={"app": "db"}, node="n2", phase="Running"))
    store.create(make_pod("web-1", "prod", labels={"app": "web", "canary": "yes"}, node="n1"))
    store.create(make_pod("cache", "ops"))
    store.create(make_config_map("web-1"))
    return store


def test_list_is_sorted_by_namespace_then_name(store: MemoryStore) -> None:
    result = store.list(Pod)
    assert names(result.items) == [
        ("default", "db-1"),
        ("default", "web-1"),
        ("default", "web-2"),
        ("ops", "cache"),
        ("prod", "web-1"),
    ]
    assert result.resource_version == store.resource_version == "6"


def test_list_returns_the_stored_instances(store: MemoryStore) -> None:
    items = store.list(Pod, namespace="prod").items
    assert items[0] is store.get(Pod, "web-1", "prod")


@pytest.mark.parametrize("everything", [None, ""])
def test_no_namespace_lists_every_namespace(store: MemoryStore, everything: str | None) -> None:
    assert len(store.list(Pod, namespace=everything).items) == 5


def test_list_by_namespace(store: MemoryStore) -> None:
    assert names(store.list(Pod, namespace="default").items) == [
        ("default", "db-1"),
        ("default", "web-1"),
        ("default", "web-2"),
    ]
    assert store.list(Pod, namespace="nowhere").items == []
    assert names(store.list(ConfigMap, namespace="default").items) == [("default", "web-1")]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", [("default", "web-1"), ("default", "web-2"), ("prod", "web-1")]),
        ({"app": "web", "tier": "front"}, [("default", "web-1"), ("default", "web-2")]),
        ("app in (db, cache)", [("default", "db-1")]),
        ("app!=web", [("default", "db-1"), ("ops", "cache")]),
        ("app,!tier", [("default", "db-1"), ("prod", "web-1")]),
        ("canary", [("prod", "web-1")]),
        ("app notin (web)", [("default", "db-1"), ("ops", "cache")]),
        ("app=nothing", []),
        ("missing", []),
        (
            Selector([Requirement("tier", "=", {"front"})]),
            [("default", "web-1"), ("default", "web-2")],
        ),
        (
            LabelSelector(
                match_labels={"app": "web"},
                match_expressions=(
                    LabelSelectorRequirement(key="canary", operator="DoesNotExist"),
                ),
            ),
            [("default", "web-1"), ("default", "web-2")],
        ),
        (Selector.nothing(), []),
        (
            Selector.everything(),
            [
                ("default", "db-1"),
                ("default", "web-1"),
                ("default", "web-2"),
                ("ops", "cache"),
                ("prod", "web-1"),
            ],
        ),
    ],
)
def test_list_by_label_selector(store: MemoryStore, selector: Any, expected: list[Any]) -> None:
    assert names(store.list(Pod, label_selector=selector).items) == expected


def test_label_selector_and_namespace_combine(store: MemoryStore) -> None:
    found = store.list(Pod, namespace="prod", label_selector="app=web").items
    assert names(found) == [("prod", "web-1")]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("spec.nodeName=n1", [("default", "web-2"), ("prod", "web-1")]),
        ("spec.nodeName=", [("default", "web-1"), ("ops", "cache")]),
        ("spec.nodeName!=", [("default", "db-1"), ("default", "web-2"), ("prod", "web-1")]),
        ("status.phase=Running", [("default", "db-1"), ("default", "web-1")]),
        ("status.phase!=Running,spec.nodeName=n1", [("default", "web-2"), ("prod", "web-1")]),
        ("metadata.name=web-1", [("default", "web-1"), ("prod", "web-1")]),
        ("metadata.name!=web-1", [("default", "db-1"), ("default", "web-2"), ("ops", "cache")]),
        ("metadata.namespace=ops", [("ops", "cache")]),
        ("metadata.namespace=prod,metadata.name=web-1", [("prod", "web-1")]),
        ({"spec.nodeName": "n2"}, [("default", "db-1")]),
        (FieldSelector([FieldRequirement("status.phase", "=", "Failed")]), []),
    ],
)
def test_list_by_field_selector(store: MemoryStore, selector: Any, expected: list[Any]) -> None:
    assert names(store.list(Pod, field_selector=selector).items) == expected


def test_field_and_label_selectors_combine(store: MemoryStore) -> None:
    found = store.list(Pod, label_selector="app=web", field_selector="spec.nodeName=n1").items
    assert names(found) == [("default", "web-2"), ("prod", "web-1")]
    found = store.list(
        Pod, namespace="default", label_selector="app=web", field_selector="spec.nodeName=n1"
    ).items
    assert names(found) == [("default", "web-2")]


def test_unsupported_field_selector_names_the_field(store: MemoryStore) -> None:
    with pytest.raises(ValidationError) as info:
        store.list(Pod, field_selector="spec.schedulerName=x,status.podIP=1.2.3.4")
    messages = [issue.message for issue in info.value.issues]
    assert len(messages) == 2
    assert "spec.schedulerName" in messages[0]
    assert "status.podIP" in messages[1]


def test_field_selectors_follow_the_kind(store: MemoryStore) -> None:
    with pytest.raises(ValidationError, match=r"spec\.nodeName"):
        store.list(ConfigMap, field_selector="spec.nodeName=n1")
    assert names(store.list(ConfigMap, field_selector="metadata.name=web-1").items) == [
        ("default", "web-1")
    ]
    store.create(make_namespace("team-a"))
    active = store.list(Namespace, field_selector="status.phase=Active").items
    assert [ns.metadata.name for ns in active] == ["team-a"]


def test_indexes_follow_updates_and_deletes(store: MemoryStore) -> None:
    pod = store.get(Pod, "web-1", "default")
    bound = attrs.evolve(pod, spec=attrs.evolve(pod.spec, node_name="n2"))
    bound = attrs.evolve(bound, metadata=attrs.evolve(bound.metadata, labels={"app": "db"}))
    bound = store.update(bound)
    store.update_status(attrs.evolve(bound, status=PodStatus(phase="Succeeded")))

    assert names(store.list(Pod, field_selector="spec.nodeName=n2").items) == [
        ("default", "db-1"),
        ("default", "web-1"),
    ]
    assert names(store.list(Pod, label_selector="app=db").items) == [
        ("default", "db-1"),
        ("default", "web-1"),
    ]
    assert names(store.list(Pod, field_selector="status.phase=Succeeded").items) == [
        ("default", "web-1")
    ]
    assert store.list(Pod, label_selector="tier=front").items == [
        store.get(Pod, "web-2", "default")
    ]

    store.delete(Pod, "db-1", "default")
    assert names(store.list(Pod, field_selector="spec.nodeName=n2").items) == [("default", "web-1")]
    assert names(store.list(Pod, namespace="default").items) == [
        ("default", "web-1"),
        ("default", "web-2"),
    ]


def test_full_list_reflects_creates_and_deletes_after_a_list(store: MemoryStore) -> None:
    assert len(store.list(Pod).items) == 5
    store.create(make_pod("aaa"))
    assert names(store.list(Pod).items)[0] == ("default", "aaa")
    store.delete(Pod, "aaa", "default")
    assert len(store.list(Pod).items) == 5


# --- the indexes agree with a brute-force scan --------------------------------------

NAMESPACES = ("a", "b", "c")
POD_NAMES = ("p0", "p1", "p2", "p3", "p4", "p5")
LABEL_KEYS = ("app", "tier", "x")
LABEL_VALUES = ("1", "2", "3")
NODES = ("", "n1", "n2")
PHASES = ("Pending", "Running", "Failed")

label_sets = st.dictionaries(st.sampled_from(LABEL_KEYS), st.sampled_from(LABEL_VALUES), max_size=3)
pod_states = st.tuples(label_sets, st.sampled_from(NODES), st.sampled_from(PHASES))
pod_keys = st.tuples(st.sampled_from(NAMESPACES), st.sampled_from(POD_NAMES))
writes = st.one_of(
    st.tuples(st.just("put"), pod_keys, pod_states),
    st.tuples(st.just("delete"), pod_keys, st.none()),
)
requirements = st.one_of(
    st.builds(
        Requirement,
        st.sampled_from(LABEL_KEYS),
        st.sampled_from(["=", "!="]),
        st.sampled_from(LABEL_VALUES).map(lambda v: frozenset((v,))),
    ),
    st.builds(
        Requirement,
        st.sampled_from(LABEL_KEYS),
        st.sampled_from(["in", "notin"]),
        st.frozensets(st.sampled_from(LABEL_VALUES), min_size=1),
    ),
    st.builds(Requirement, st.sampled_from(LABEL_KEYS), st.sampled_from(["exists", "!"])),
)
field_terms = st.one_of(
    st.builds(
        FieldRequirement,
        st.just("spec.nodeName"),
        st.sampled_from(["=", "!="]),
        st.sampled_from(NODES),
    ),
    st.builds(
        FieldRequirement,
        st.just("status.phase"),
        st.sampled_from(["=", "!="]),
        st.sampled_from(PHASES),
    ),
    st.builds(
        FieldRequirement,
        st.just("metadata.name"),
        st.sampled_from(["=", "!="]),
        st.sampled_from(POD_NAMES),
    ),
    st.builds(
        FieldRequirement,
        st.just("metadata.namespace"),
        st.sampled_from(["=", "!="]),
        st.sampled_from(NAMESPACES),
    ),
)
queries = st.tuples(
    st.sampled_from((None, *NAMESPACES)),
    st.lists(requirements, max_size=3).map(Selector),
    st.lists(field_terms, max_size=2).map(FieldSelector),
)


def apply_write(store: MemoryStore, write: tuple[str, tuple[str, str], Any]) -> None:
    op, (namespace, name), state = write
    try:
        current = store.get(Pod, name, namespace)
    except NotFound:
        current = None
    if op == "delete":
        if current is not None:
            store.delete(Pod, name, namespace)
        return
    labels, node, phase = state
    wanted = make_pod(name, namespace, labels=labels, node=node, phase=phase)
    if current is None:
        store.create(wanted)
    else:
        store.update(wanted)
        store.update_status(wanted)


def brute_force(store: MemoryStore, query: tuple[Any, Selector, FieldSelector]) -> list[Pod]:
    namespace, selector, fields = query
    everything = sorted(
        store.list(Pod).items, key=lambda p: (p.metadata.namespace, p.metadata.name)
    )

    def getter(pod: Pod) -> Any:
        values = {
            "metadata.name": pod.metadata.name,
            "metadata.namespace": pod.metadata.namespace,
            "spec.nodeName": pod.spec.node_name,
            "status.phase": pod.status.phase,
        }
        return values.__getitem__

    return [
        pod
        for pod in everything
        if (namespace is None or pod.metadata.namespace == namespace)
        and selector.matches(pod.metadata.labels)
        and fields.matches(getter(pod))
    ]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    batches=st.lists(st.lists(writes, max_size=12), min_size=1, max_size=4),
    checks=st.lists(queries, min_size=1, max_size=6),
)
def test_indexed_list_equals_a_brute_force_scan(
    batches: list[list[Any]], checks: list[Any]
) -> None:
    store = MemoryStore(seed=1)
    for batch in batches:
        for write in batch:
            apply_write(store, write)
        for query in checks:
            namespace, selector, fields = query
            found = store.list(
                Pod, namespace=namespace, label_selector=selector, field_selector=fields
            ).items
            assert found == brute_force(store, query)
