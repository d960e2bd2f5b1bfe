"""Taint-based eviction: which tolerations apply and for how long, the
DefaultTolerationSeconds rule, and the controller's timers on a manual clock."""

from __future__ import annotations

import attrs
import pytest
from disruption_builders import make_node, make_pod, make_store

from orbit.api import Event, Node, Pod, Taint, Toleration
from orbit.controllers._taint_eviction import (
    DefaultTolerationSeconds,
    TaintEvictionController,
    eviction_delay,
    with_default_tolerations,
)
from orbit.errors import NotFound
from orbit.store import MemoryStore

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY_NE = Taint(key=NOT_READY, effect="NoExecute")
UNREACHABLE_NE = Taint(key=UNREACHABLE, effect="NoExecute")


def tolerate(key: str = "", seconds: int | None = None, effect: str = "NoExecute") -> Toleration:
    return Toleration(
        key=key,
        operator="Exists",
        effect=effect,  # type: ignore[arg-type]
        toleration_seconds=seconds,
    )


def test_an_untolerated_taint_means_at_once() -> None:
    assert eviction_delay([UNREACHABLE_NE], []) == 0
    assert eviction_delay([UNREACHABLE_NE, NOT_READY_NE], [tolerate(UNREACHABLE, 60)]) == 0


def test_the_shortest_toleration_used_wins() -> None:
    both = [UNREACHABLE_NE, Taint(key="maintenance", value="soon", effect="NoExecute")]
    tolerations = [
        tolerate(UNREACHABLE, 300),
        Toleration(key="maintenance", value="soon", effect="NoExecute", toleration_seconds=120),
    ]
    assert eviction_delay(both, tolerations) == 120


def test_the_first_matching_toleration_is_the_one_used() -> None:
    # Kubernetes takes the first toleration that matches each taint, not the longest.
    assert eviction_delay([UNREACHABLE_NE], [tolerate(UNREACHABLE, 30), tolerate()]) == 30
    assert eviction_delay([UNREACHABLE_NE], [tolerate(), tolerate(UNREACHABLE, 30)]) is None


def test_forever_zero_and_no_taint() -> None:
    assert eviction_delay([UNREACHABLE_NE], [tolerate(UNREACHABLE)]) is None
    assert eviction_delay([UNREACHABLE_NE], [tolerate(UNREACHABLE, 0)]) == 0
    assert eviction_delay([UNREACHABLE_NE], [tolerate(UNREACHABLE, -5)]) == 0
    assert eviction_delay([], []) is None


def test_default_tolerations_are_added_unless_covered() -> None:
    added = with_default_tolerations((), 300)
    assert added == (tolerate(NOT_READY, 300), tolerate(UNREACHABLE, 300))
    own = tolerate(UNREACHABLE, 60)
    assert with_default_tolerations((own,), 300) == (own, tolerate(NOT_READY, 300))
    everything = Toleration(operator="Exists")
    assert with_default_tolerations((everything,), 300) == (everything,)
    # a NoSchedule toleration does not cover NoExecute
    schedule_only = tolerate(UNREACHABLE, effect="NoSchedule")
    assert len(with_default_tolerations((schedule_only,), 300)) == 3


# -- the controller on a manual clock ------------------------------------------------------


def tainted(store: MemoryStore, name: str, *taints: Taint) -> None:
    node = store.get(Node, name)
    store.update(attrs.evolve(node, spec=attrs.evolve(node.spec, taints=taints)))


def events(store: MemoryStore) -> list[tuple[str, str, str]]:
    listed = store.list(Event).items
    return [(e.involved_object.name, e.reason, e.message) for e in listed]


def test_pods_go_after_their_toleration_and_the_timer_survives_a_swap() -> None:
    store, clock = make_store()
    store.create(make_node("n1"))
    store.create(make_pod("plain"))
    store.create(
        make_pod("short", tolerations=[tolerate(NOT_READY, 60), tolerate(UNREACHABLE, 60)])
    )
    store.create(make_pod("forever", tolerations=[tolerate(NOT_READY), tolerate(UNREACHABLE)]))
    controller = TaintEvictionController(store, clock)
    tainted(store, "n1", NOT_READY_NE)
    waits = {
        name: controller.reconcile(("default", name)) for name in ("plain", "short", "forever")
    }
    assert waits == {"plain": 300, "short": 60, "forever": None}
    clock.advance(35)
    tainted(store, "n1", UNREACHABLE_NE)  # Ready False -> Unknown: the timers keep running
    assert controller.reconcile(("default", "short")) == 25
    assert controller.reconcile(("default", "plain")) == 265
    clock.advance(25)
    assert controller.reconcile(("default", "short")) is None
    short = store.get(Pod, "short", "default")
    assert short.metadata.deletion_timestamp is not None
    assert short.metadata.deletion_grace_period_seconds == 30
    target = short.status.condition("DisruptionTarget")
    assert (target.status, target.reason, target.message) == (
        "True",
        "DeletionByTaintManager",
        "Taint manager: deleting due to NoExecute taint",
    )
    assert ("short", "TaintManagerEviction", "Marking for deletion Pod default/short") in events(
        store
    )
    clock.advance(240)
    assert controller.reconcile(("default", "plain")) is None
    assert store.get(Pod, "plain", "default").metadata.deletion_timestamp is not None
    assert controller.reconcile(("default", "forever")) is None
    assert store.get(Pod, "forever", "default").metadata.deletion_timestamp is None


def test_an_untolerated_taint_evicts_at_once() -> None:
    store, clock = make_store()
    store.create(make_node("n1", taints=[Taint(key="dedicated", value="x", effect="NoExecute")]))
    store.create(make_pod("web", phase="Succeeded"))
    controller = TaintEvictionController(store, clock)
    assert controller.reconcile(("default", "web")) is None
    with pytest.raises(NotFound):  # finished: nothing to stop, gone at once
        store.get(Pod, "web", "default")


def test_the_timer_is_cancelled_when_the_taint_goes() -> None:
    store, clock = make_store()
    store.create(make_node("n1", taints=[UNREACHABLE_NE]))
    store.create(make_pod("web"))
    controller = TaintEvictionController(store, clock)
    assert controller.reconcile(("default", "web")) == 300
    clock.advance(100)
    tainted(store, "n1")
    assert controller.reconcile(("default", "web")) is None
    assert events(store) == [
        ("web", "TaintManagerEviction", "Cancelling deletion of Pod default/web")
    ]
    tainted(store, "n1", UNREACHABLE_NE)
    assert controller.reconcile(("default", "web")) == 300  # a new timer, from now


def test_without_default_tolerations_pods_go_at_once() -> None:
    store, clock = make_store()
    store.create(make_node("n1", taints=[UNREACHABLE_NE]))
    store.create(make_pod("web"))
    controller = TaintEvictionController(store, clock, default_toleration_seconds=None)
    assert controller.reconcile(("default", "web")) is None
    assert store.get(Pod, "web", "default").metadata.deletion_timestamp is not None


def test_default_toleration_seconds_are_configurable() -> None:
    store, clock = make_store()
    store.create(make_node("n1", taints=[NOT_READY_NE]))
    store.create(make_pod("web"))
    controller = TaintEvictionController(store, clock, default_toleration_seconds=30)
    assert controller.reconcile(("default", "web")) == 30


def test_node_events_reach_the_pods_only_when_no_execute_taints_change() -> None:
    store, clock = make_store()
    node = store.create(make_node("n1"))
    store.create(make_pod("a"))
    store.create(make_pod("b", node="n2"))
    controller = TaintEvictionController(store, clock)
    assert list(controller._node_keys("ADDED", node)) == []
    tainted(store, "n1", UNREACHABLE_NE, Taint(key="x", effect="NoSchedule"))
    node = store.get(Node, "n1")
    assert list(controller._node_keys("MODIFIED", node)) == [("default", "a")]
    assert list(controller._node_keys("MODIFIED", node)) == []  # unchanged
    pod = store.get(Pod, "a", "default")
    assert list(controller._pod_keys("MODIFIED", pod)) == [("default", "a")]
    other = store.get(Pod, "b", "default")
    assert list(controller._pod_keys("MODIFIED", other)) == []


def test_the_admission_plugin_gives_every_created_pod_the_defaults() -> None:
    store, _ = make_store()
    store.admission = [DefaultTolerationSeconds(120)]
    created = store.create(make_pod("web"))
    assert created.spec.tolerations == (tolerate(NOT_READY, 120), tolerate(UNREACHABLE, 120))
    own = store.create(make_pod("own", tolerations=[tolerate(UNREACHABLE, 5)]))
    assert own.spec.tolerations == (tolerate(UNREACHABLE, 5), tolerate(NOT_READY, 120))
    node = store.create(make_node("n1"))
    assert node.spec.taints == ()  # other kinds pass untouched
