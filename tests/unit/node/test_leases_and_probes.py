"""Leases (renewal order, expiry marks) and probe thresholds."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from orbit.api import Probe
from orbit.node._probes import Threshold
from orbit.store import Leases


def test_leases_renew_in_order_and_report_a_lost_node_coming_back() -> None:
    leases = Leases()
    assert leases.renew("a", 1.0) is False
    leases.renew("b", 2.0)
    leases.renew("c", 3.0)
    leases.renew("a", 4.0)
    assert leases.stale(before=3.5) == [("b", 2.0), ("c", 3.0)]
    assert leases.renewed_at("a") == 4.0
    leases.mark_expired("b")
    assert leases.expired("b")
    assert leases.renew("b", 5.0) is True
    assert not leases.expired("b")
    assert leases.renew("b", 6.0) is False
    leases.mark_expired("never-seen")
    assert not leases.expired("never-seen")
    leases.forget("a")
    assert "a" not in leases
    assert len(leases) == 2


_nodes = st.sampled_from(["a", "b", "c", "d"])
_lease_ops = st.lists(
    st.one_of(
        st.tuples(st.just("renew_many"), st.lists(_nodes, max_size=6)),
        st.tuples(st.just("renew"), _nodes),
        st.tuples(st.just("expire"), _nodes),
        st.tuples(st.just("forget"), _nodes),
    ),
    max_size=30,
)


@given(_lease_ops)
def test_renewing_many_at_once_is_renewing_each_in_turn(ops: list[tuple[str, object]]) -> None:
    """renew_many (with its rebuild when every node renews) leaves the same order,
    times and expiry marks as renewing the nodes one by one."""
    many, one_by_one = Leases(), Leases()
    for now, (op, arg) in enumerate(ops):
        if op == "renew_many":
            assert isinstance(arg, list)
            back = many.renew_many(arg, float(now))
            assert back == {node for node in arg if one_by_one.renew(node, float(now))}
        elif op == "renew":
            assert many.renew(str(arg), float(now)) == one_by_one.renew(str(arg), float(now))
        else:
            for leases in (many, one_by_one):
                (leases.mark_expired if op == "expire" else leases.forget)(str(arg))
        assert many.stale(float("inf")) == one_by_one.stale(float("inf"))
        assert all(many.expired(n) == one_by_one.expired(n) for n in "abcd")


def test_readiness_needs_success_threshold_successes_in_a_row() -> None:
    threshold = Threshold(Probe(success_threshold=2, failure_threshold=3), initial=False)
    assert [threshold.observe(ok) for ok in (True, False, True, True)] == [
        False,
        False,
        False,
        True,
    ]
    assert threshold.result is True
    assert [threshold.observe(ok) for ok in (False, False, True, False, False, False)] == [
        False,
        False,
        False,
        False,
        False,
        True,
    ]
    assert threshold.result is False


@given(st.lists(st.booleans(), max_size=50), st.integers(1, 5), st.integers(1, 5))
def test_the_result_only_changes_after_enough_equal_attempts(
    attempts: list[bool], successes: int, failures: int
) -> None:
    threshold = Threshold(Probe(success_threshold=successes, failure_threshold=failures), False)
    run = 0
    last = None
    for ok in attempts:
        run = run + 1 if ok == last else 1
        last = ok
        before = threshold.result
        changed = threshold.observe(ok)
        assert changed == (threshold.result != before)
        if changed:
            assert threshold.result == ok
            assert run >= (successes if ok else failures)
