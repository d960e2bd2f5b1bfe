"""The balancer: round-robin, least-connections, ClientIP affinity and its expiry, on a
manual clock."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from orbit.clock import ManualClock
from orbit.net import Endpoint
from orbit.net._balance import Balancer

A, B, C, D = (Endpoint("127.0.0.1", port) for port in (8001, 8002, 8003, 8004))


def firsts(balancer: Balancer, count: int, client: str = "10.0.0.1") -> list[Endpoint]:
    return [balancer.plan(client)[0] for _ in range(count)]


def test_round_robin_cycles_and_plans_every_endpoint_once() -> None:
    balancer = Balancer(ManualClock())
    balancer.update([A, B, C])
    assert firsts(balancer, 6) == [A, B, C, A, B, C]
    assert balancer.plan("x") == [A, B, C]
    assert balancer.plan("x") == [B, C, A]  # fallbacks follow the same rotation


def test_round_robin_keeps_its_place_across_endpoint_changes() -> None:
    balancer = Balancer(ManualClock())
    balancer.update([A, B, C])
    assert firsts(balancer, 2) == [A, B]
    balancer.update([A, B, C, D])
    assert firsts(balancer, 3) == [C, D, A]
    balancer.update([A])
    assert firsts(balancer, 2) == [A, A]


def test_no_endpoints_no_plan() -> None:
    balancer = Balancer(ManualClock())
    assert balancer.plan("x") == []
    balancer.update([A, A])
    assert balancer.endpoints == (A,)
    balancer.update([])
    assert balancer.plan("x") == []
    assert not balancer


def test_least_connections_prefers_fewest_and_rotates_ties() -> None:
    balancer = Balancer(ManualClock(), policy="least-connections")
    balancer.update([A, B, C])
    for endpoint in (A, A, B):
        balancer.acquire(endpoint)
    assert balancer.plan("x") == [C, B, A]  # 0, 1, 2 open connections
    balancer.acquire(C)  # B and C tie at 1: the rotation decides
    assert balancer.plan("x")[:2] == [B, C]  # the cursor moved on to B
    assert balancer.plan("x")[:2] == [C, B]  # and then to C


def test_least_connections_spreads_a_burst() -> None:
    balancer = Balancer(ManualClock(), policy="least-connections")
    balancer.update([A, B, C])
    chosen = []
    for _ in range(9):  # counted from the moment they are dialled
        endpoint = balancer.plan("x")[0]
        balancer.acquire(endpoint)
        chosen.append(endpoint)
    assert balancer.active == {A: 3, B: 3, C: 3}
    for endpoint in chosen:
        balancer.release(endpoint)
    assert balancer.active == {}


def test_release_never_goes_negative() -> None:
    balancer = Balancer(ManualClock())
    balancer.release(A)
    assert balancer.active == {}


def test_client_ip_affinity_pins_until_the_timeout_after_last_use() -> None:
    clock = ManualClock()
    balancer = Balancer(clock, affinity_timeout_s=100)
    balancer.update([A, B, C])
    first = balancer.plan("10.0.0.1")[0]
    assert first == A
    balancer.connected("10.0.0.1", first)
    clock.advance(99)
    assert balancer.plan("10.0.0.1")[0] == first
    balancer.connected("10.0.0.1", first)  # a new connection renews the pin
    clock.advance(99)
    assert balancer.plan("10.0.0.1")[0] == first
    clock.advance(1)  # 100 s since the last connection: expired
    assert balancer.pins() == {}
    assert balancer.plan("10.0.0.1")[0] == B  # round-robin again, from where it was


def test_an_affinity_hit_does_not_move_the_cursor() -> None:
    balancer = Balancer(ManualClock(), affinity_timeout_s=100)
    balancer.update([A, B, C])
    assert balancer.plan("pinned")[0] == A
    balancer.connected("pinned", A)
    for _ in range(5):
        assert balancer.plan("pinned") == [A, B, C]
    assert balancer.plan("other")[0] == B  # as if "pinned" had connected once


def test_a_pin_to_an_endpoint_that_left_is_dropped() -> None:
    balancer = Balancer(ManualClock(), affinity_timeout_s=100)
    balancer.update([A, B])
    balancer.connected("c", B)
    balancer.update([A, C])
    assert balancer.pins() == {}
    assert balancer.plan("c")[0] in (A, C)


def test_clients_are_pinned_separately_and_a_failover_repins() -> None:
    balancer = Balancer(ManualClock(), affinity_timeout_s=100)
    balancer.update([A, B])
    balancer.connected("one", A)
    balancer.connected("two", B)
    assert balancer.plan("one")[0] == A
    assert balancer.plan("two")[0] == B
    balancer.connected("one", B)  # A failed to answer, B did
    assert balancer.pins() == {"one": B, "two": B}


def test_turning_affinity_off_forgets_pins_and_expired_pins_are_purged() -> None:
    clock = ManualClock()
    balancer = Balancer(clock, affinity_timeout_s=10)
    balancer.update([A, B])
    for client in range(50):
        balancer.connected(f"10.0.0.{client}", A)
    clock.advance(10)
    balancer.plan("someone")
    assert balancer._pins == {}  # purged on the first plan after a timeout's worth
    balancer.connected("c", A)
    balancer.configure(policy="round-robin", affinity_timeout_s=None)
    assert balancer.pins() == {}
    balancer.connected("c", A)  # no affinity: nothing is recorded
    assert balancer._pins == {}


@given(
    ports=st.lists(st.integers(1, 65535), unique=True, max_size=8),
    active=st.lists(st.integers(1, 65535), max_size=20),
    policy=st.sampled_from(["round-robin", "least-connections"]),
    pinned=st.booleans(),
)
def test_a_plan_holds_every_endpoint_exactly_once(
    ports: list[int], active: list[int], policy: str, pinned: bool
) -> None:
    balancer = Balancer(ManualClock(), policy=policy, affinity_timeout_s=60)  # type: ignore[arg-type]
    endpoints = [Endpoint("10.1.1.1", port) for port in ports]
    balancer.update(endpoints)
    for port in active:
        balancer.acquire(Endpoint("10.1.1.1", port))
    if pinned and endpoints:
        balancer.connected("c", endpoints[-1])
    for _ in range(3):
        plan = balancer.plan("c")
        assert sorted(plan) == sorted(endpoints)
        if pinned and endpoints:
            assert plan[0] == endpoints[-1]
        elif policy == "least-connections" and plan:
            assert balancer.active.get(plan[0], 0) == min(
                balancer.active.get(e, 0) for e in endpoints
            )
