"""The scheduling queue: order, backoff, parking and moving on events."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from orbit.api import ObjectMeta, Pod, PodSpec
from orbit.scheduling._queue import SchedulingQueue


def pod(name: str, priority: int | None = None) -> Pod:
    return Pod(
        metadata=ObjectMeta(name=name, namespace="default"),
        spec=PodSpec(priority=priority),
    )


def drain(queue: SchedulingQueue, now: float) -> list[str]:
    names = []
    while (item := queue.pop(now)) is not None:
        names.append(item.pod.metadata.name)
        queue.done(item.key)
    return names


def test_higher_priority_first_then_older_first() -> None:
    queue = SchedulingQueue()
    queue.add(pod("low-old", 0), now=1.0)
    queue.add(pod("high", 100), now=2.0)
    queue.add(pod("low-new", 0), now=3.0)
    queue.add(pod("unset"), now=0.5)
    assert drain(queue, now=10.0) == ["high", "unset", "low-old", "low-new"]


def test_backoff_doubles_from_one_second_to_ten() -> None:
    queue = SchedulingQueue()
    assert [queue.backoff_s(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_an_unschedulable_pod_waits_for_an_event_or_the_flush() -> None:
    queue = SchedulingQueue(max_unschedulable_s=300.0)
    queue.add(pod("p"), now=0.0)
    item = queue.pop(now=0.0)
    assert item is not None
    queue.requeue_unschedulable(item, now=0.0)
    assert queue.pop(now=100.0) is None  # parked: no event yet
    assert queue.next_deadline() == 300.0
    assert queue.pop(now=300.0) is item  # parked too long: retried anyway


def test_an_event_moves_parked_pods_to_backoff_then_active() -> None:
    queue = SchedulingQueue()
    queue.add(pod("p"), now=0.0)
    item = queue.pop(now=0.0)
    assert item is not None
    queue.requeue_unschedulable(item, now=0.0)
    assert queue.move_all_to_active(now=0.5) == 1
    assert queue.counts()["backoff"] == 1
    assert queue.pop(now=0.9) is None  # still within its 1 s backoff
    assert queue.next_deadline() == 1.0
    assert queue.pop(now=1.0) is item
    queue.requeue_unschedulable(item, now=1.0)  # second failure: 2 s backoff
    queue.move_all_to_active(now=10.0)
    assert queue.pop(now=10.0) is item


def test_errors_retry_after_backoff_without_an_event() -> None:
    queue = SchedulingQueue()
    queue.add(pod("p"), now=0.0)
    item = queue.pop(now=0.0)
    assert item is not None
    queue.requeue_error(item, now=0.0)
    assert queue.pop(now=0.5) is None
    assert queue.pop(now=1.0) is item


def test_deleted_pods_are_never_popped_and_updates_unpark() -> None:
    queue = SchedulingQueue()
    queue.add(pod("gone"), now=0.0)
    queue.add(pod("stays"), now=1.0)
    queue.delete(("default", "gone"))
    assert ("default", "gone") not in queue
    first = queue.pop(now=2.0)
    assert first is not None
    assert first.pod.metadata.name == "stays"
    queue.requeue_unschedulable(first, now=2.0)
    queue.add(pod("stays", priority=5), now=20.0)  # the pod changed: try it again
    again = queue.pop(now=20.0)
    assert again is first
    assert again.pod.spec.priority == 5
    queue.done(again.key)
    assert len(queue) == 0


@settings(max_examples=200, deadline=None)
@given(
    ops=st.lists(
        st.tuples(
            st.sampled_from(["add", "pop", "fail", "event", "delete"]),
            st.integers(0, 5),
            st.integers(-2, 2),
        ),
        max_size=60,
    )
)
def test_every_pod_is_in_exactly_one_place(ops: list[tuple[str, int, int]]) -> None:
    """Whatever happens, no pod is lost or duplicated, and pops come in priority order
    among the pods active at that moment."""
    queue = SchedulingQueue()
    live: set[str] = set()
    in_flight = []
    now = 0.0
    for op, index, priority in ops:
        now += 0.7
        name = f"p{index}"
        if op == "add":
            queue.add(pod(name, priority), now)
            live.add(name)
        elif op == "pop":
            item = queue.pop(now)
            if item is not None:
                assert item.pod.metadata.name in live
                assert item not in in_flight
                in_flight.append(item)
        elif op == "fail" and in_flight:
            queue.requeue_unschedulable(in_flight.pop(0), now)
        elif op == "event":
            queue.move_all_to_active(now)
        elif op == "delete":
            queue.delete(("default", name))
            live.discard(name)
            in_flight = [i for i in in_flight if i.pod.metadata.name != name]
        queued = sorted(i.pod.metadata.name for i in queue.pending())
        assert queued == sorted(live)


def test_take_removes_a_pod_from_wherever_it_waits() -> None:
    queue = SchedulingQueue()
    queue.add(pod("a"), now=0.0)
    queue.add(pod("b"), now=0.0)
    first = queue.pop(now=0.0)
    assert first is not None
    queue.requeue_unschedulable(first, now=0.0)
    taken = queue.take(first.key)
    assert taken is first
    assert queue.take(first.key) is None
    assert queue.counts() == {"active": 1, "backoff": 0, "unschedulable": 0, "in_flight": 1}
    queue.done(first.key)
    assert [i.pod.metadata.name for i in queue.pending()] == ["b"]
