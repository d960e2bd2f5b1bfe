"""The node lifecycle controller's pure parts: taints from node conditions, the
NoExecute swap, zones, their states and the tainting rate."""

from __future__ import annotations

import math

from disruption_builders import make_node

from orbit.api import Taint
from orbit.controllers._node_taints import (
    no_schedule_taints,
    swap_taints,
    with_no_schedule_taints,
)
from orbit.controllers._zones import TaintQueue, TokenBucket, ZoneState, zone_key, zone_state

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"


def keys(taints: tuple[Taint, ...] | list[Taint]) -> list[tuple[str, str]]:
    return [(t.key, t.effect) for t in taints]


def test_conditions_and_cordoning_become_no_schedule_taints() -> None:
    node = make_node(ready="False", MemoryPressure="True", DiskPressure="False")
    assert keys(no_schedule_taints(node)) == [
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        (NOT_READY, "NoSchedule"),
    ]
    lost = make_node(ready="Unknown", unschedulable=True, PIDPressure="True")
    assert keys(no_schedule_taints(lost)) == [
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        (UNREACHABLE, "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    ]
    assert no_schedule_taints(make_node(ready="True")) == []
    assert no_schedule_taints(make_node(ready=None)) == []


def test_only_the_controllers_no_schedule_taints_are_brought_in_line() -> None:
    own = Taint(key="gpu", value="true", effect="NoSchedule")
    stale = Taint(key=NOT_READY, effect="NoSchedule", time_added="2026-01-01T00:00:00Z")
    kept_no_execute = Taint(key=NOT_READY, effect="NoExecute", time_added="2026-01-01T00:00:00Z")
    node = make_node(ready="Unknown", taints=[own, stale, kept_no_execute])
    taints = with_no_schedule_taints(node, "2026-01-01T00:01:00Z")
    assert taints == (
        own,
        kept_no_execute,
        Taint(key=UNREACHABLE, effect="NoSchedule", time_added="2026-01-01T00:01:00Z"),
    )
    ready = make_node(ready="True", taints=taints)
    assert with_no_schedule_taints(ready, "later") == (own, kept_no_execute)


def test_a_taint_already_there_keeps_its_place_and_stamp() -> None:
    first = Taint(key=UNREACHABLE, effect="NoExecute", time_added="t0")
    other = Taint(key="a", effect="NoSchedule")
    swapped = swap_taints(
        (first, other),
        add=[Taint(key=UNREACHABLE, effect="NoExecute")],
        remove=[Taint(key=NOT_READY, effect="NoExecute")],
        stamp="t1",
    )
    assert swapped == (first, other)
    swapped = swap_taints(
        (first, other),
        add=[Taint(key=NOT_READY, effect="NoExecute")],
        remove=[Taint(key=UNREACHABLE, effect="NoExecute")],
        stamp="t1",
    )
    assert swapped == (other, Taint(key=NOT_READY, effect="NoExecute", time_added="t1"))


def test_zone_keys_prefer_the_beta_labels() -> None:
    assert zone_key(make_node()) == ""
    ga = make_node(labels={"topology.kubernetes.io/zone": "a"})
    assert zone_key(ga) == ":\x00:a"
    both = make_node(
        labels={
            "topology.kubernetes.io/region": "eu",
            "failure-domain.beta.kubernetes.io/region": "us",
            "topology.kubernetes.io/zone": "b",
        }
    )
    assert zone_key(both) == "us:\x00:b"


def test_zone_states_follow_kubernetes_thresholds() -> None:
    assert zone_state(3, 0) is ZoneState.NORMAL
    assert zone_state(1, 1) is ZoneState.FULL_DISRUPTION
    assert zone_state(3, 2) is ZoneState.NORMAL  # more than 2 must be down
    assert zone_state(5, 3) is ZoneState.PARTIAL_DISRUPTION  # 60 % >= 55 %
    assert zone_state(6, 3) is ZoneState.NORMAL  # 50 %
    assert zone_state(4, 4) is ZoneState.FULL_DISRUPTION


def test_the_token_bucket_grants_one_node_every_ten_seconds() -> None:
    bucket = TokenBucket(0.1, now=0.0)
    assert bucket.try_accept(0.0)
    assert not bucket.try_accept(9.9)
    assert bucket.next_token_at(9.9) == 10.0
    assert bucket.try_accept(10.0)
    never = TokenBucket(0.0, now=0.0)
    assert not never.try_accept(1e9)
    assert never.next_token_at(5.0) == math.inf


def test_a_swapped_limiter_grants_no_extra_token() -> None:
    drained = TokenBucket(0.1, now=0.0)
    assert drained.try_accept(0.0)
    slower = drained.swapped(0.01, now=1.0)
    assert not slower.try_accept(1.0)
    assert slower.next_token_at(1.0) == 101.0
    full = TokenBucket(0.1, now=0.0).swapped(0.01, now=0.0)
    assert full.try_accept(0.0)
    assert drained.swapped(0.1, now=1.0) is drained


def test_the_taint_queue_keeps_each_node_once_and_goes_at_the_rate() -> None:
    queue = TaintQueue(TokenBucket(0.1, now=0.0))
    done: list[str] = []

    def taint(name: str) -> bool:
        done.append(name)
        return True

    assert queue.add("a")
    assert queue.add("b")
    assert not queue.add("a")
    queue.process(0.0, taint)
    assert done == ["a"]
    assert len(queue) == 1
    assert queue.next_attempt_at(0.0) == 10.0
    queue.process(10.0, taint)
    assert done == ["a", "b"]
    assert len(queue) == 0
    assert not queue.add("a")  # tainted and not removed since: known
    queue.remove("a")
    assert queue.add("a")


def test_work_that_must_wait_stays_queued() -> None:
    queue = TaintQueue(TokenBucket(0.1, now=0.0))
    queue.add("a")
    queue.process(0.0, lambda name: False)
    assert len(queue) == 1
    assert queue.next_attempt_at(0.0) == 10.0
