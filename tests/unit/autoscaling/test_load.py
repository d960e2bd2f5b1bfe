"""The what-if load model: demand spread over the ready pods a selector matches, as each
simulated container's cpu use; and the day-shaped curves with seeded spikes."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from orbit.api import Container, ObjectMeta, Pod, PodCondition, PodSpec, PodStatus
from orbit.autoscaling._load import (
    SharedLoad,
    Spike,
    diurnal,
    is_serving,
    random_spikes,
)
from orbit.clock import ManualClock
from orbit.runtimes import ContainerLaunch
from orbit.runtimes._sim_behaviour import usage_at
from orbit.store import MemoryStore

HOUR = 3600.0


def make_pod(
    name: str,
    *,
    labels: Mapping[str, str] | None = None,
    ready: bool = True,
    phase: str = "Running",
    containers: Sequence[str] = ("web",),
    namespace: str = "default",
) -> Pod:
    condition = PodCondition(type="Ready", status="True" if ready else "False")
    return Pod(
        metadata=ObjectMeta(name=name, namespace=namespace, labels=dict(labels or {"app": "web"})),
        spec=PodSpec(containers=tuple(Container(name=c, image="web:1") for c in containers)),
        status=PodStatus(phase=phase, conditions=(condition,)),  # type: ignore[arg-type]
    )


def add(store: MemoryStore, pod: Pod) -> Pod:
    """Create the pod, then write its status (as the node agent would)."""
    created = store.create(pod)
    return store.update_status(attrs.evolve(created, status=pod.status))


def launch_for(
    pod: Pod,
    container: str = "web",
    *,
    init: bool = False,
    cpu_millis: int = 250,
    annotations: Mapping[str, str] | None = None,
) -> ContainerLaunch:
    return ContainerLaunch(
        pod_uid=pod.metadata.uid,
        pod_name=pod.metadata.name,
        namespace=pod.metadata.namespace,
        name=container,
        init=init,
        cpu_request_millis=cpu_millis,
        annotations=dict(annotations or {}),
    )


def cpu(load: SharedLoad, launch: ContainerLaunch, elapsed: float = 5.0) -> float:
    """What the SimRuntime would report for the container."""
    return usage_at(load.behaviour(launch), elapsed, launch)[0]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def store(clock: ManualClock) -> MemoryStore:
    return MemoryStore(clock=clock, seed=1)


# --- SharedLoad ----------------------------------------------------------------------


def test_demand_is_spread_over_the_ready_matching_pods_only(
    store: MemoryStore, clock: ManualClock
) -> None:
    load = SharedLoad("app=web", 1.2, clock=clock).bind(store)
    a = add(store, make_pod("a"))
    b = add(store, make_pod("b"))
    starting = add(store, make_pod("c", ready=False))
    other = add(store, make_pod("db", labels={"app": "db"}, containers=("db",)))

    assert load.ready_pods() == 2
    assert load.per_pod() == pytest.approx(0.6)
    assert cpu(load, launch_for(a)) == pytest.approx(0.6)
    assert cpu(load, launch_for(b)) == pytest.approx(0.6)
    assert cpu(load, launch_for(starting)) == 0.0  # not ready: no traffic, idle
    # a pod the selector does not match keeps its own behaviour (its request here)
    assert cpu(load, launch_for(other, "db", cpu_millis=300)) == pytest.approx(0.3)

    store.update_status(attrs.evolve(starting, status=make_pod("c").status))
    assert load.ready_pods() == 3  # a new store revision: counted again
    assert cpu(load, launch_for(a)) == pytest.approx(0.4)
    assert cpu(load, launch_for(starting)) == pytest.approx(0.4)


def test_terminating_and_not_running_pods_do_not_serve(store: MemoryStore) -> None:
    load = SharedLoad("app=web", 1.0, idle_cores=0.01, store=store)
    serving = add(store, make_pod("a"))
    pending = add(store, make_pod("p", phase="Pending"))
    held = make_pod("t")
    add(store, attrs.evolve(held, metadata=attrs.evolve(held.metadata, finalizers=("t/hold",))))
    store.delete(Pod, "t", "default")  # held by the finalizer: terminating
    going = store.get(Pod, "t", "default")
    assert going.metadata.deletion_timestamp is not None
    assert not is_serving(going)
    assert not is_serving(pending)
    assert load.ready_pods() == 1
    assert cpu(load, launch_for(serving)) == pytest.approx(1.0)
    assert cpu(load, launch_for(going)) == pytest.approx(0.01)  # idle_cores
    assert cpu(load, launch_for(pending)) == pytest.approx(0.01)


def test_no_ready_pod_means_one_would_take_it_all(store: MemoryStore) -> None:
    load = SharedLoad("app=web", 0.8, store=store)
    add(store, make_pod("a", ready=False))
    assert load.ready_pods() == 0
    assert load.per_pod() == pytest.approx(0.8)


def test_the_curve_reads_the_clock_from_the_origin(store: MemoryStore, clock: ManualClock) -> None:
    load = SharedLoad("app=web", lambda t: t / 100, clock=clock, origin_s=50.0).bind(store)
    pod = add(store, make_pod("a"))
    clock.advance(250)  # monotonic 250: t = 200
    assert load.now() == 200
    assert load.demand(load.now()) == pytest.approx(2.0)
    assert cpu(load, launch_for(pod)) == pytest.approx(2.0)
    assert load.per_pod(100.0) == pytest.approx(1.0)  # an explicit t
    load.curve = 0.3  # changed mid-run: read at the next usage
    assert cpu(load, launch_for(pod)) == pytest.approx(0.3)
    load.curve = lambda _t: -1.0
    assert load.demand(0.0) == 0.0  # never negative


def test_a_pods_share_is_split_over_its_containers_or_given_to_one(store: MemoryStore) -> None:
    pod = add(store, make_pod("a", containers=("web", "sidecar")))
    both = SharedLoad("app=web", 1.0, store=store)
    assert cpu(both, launch_for(pod, "web")) == pytest.approx(0.5)
    assert cpu(both, launch_for(pod, "sidecar")) == pytest.approx(0.5)

    one = SharedLoad("app=web", 1.0, store=store, container="web")
    annotations = {"sim.orbit.dev/cpu": "20m"}
    assert cpu(one, launch_for(pod, "web")) == pytest.approx(1.0)
    assert cpu(one, launch_for(pod, "sidecar", annotations=annotations)) == pytest.approx(0.02)


def test_init_containers_and_other_namespaces_keep_their_annotations(store: MemoryStore) -> None:
    load = SharedLoad("app=web", 1.0, store=store, namespace="prod")
    here = add(store, make_pod("a", namespace="prod"))
    there = add(store, make_pod("a", namespace="default"))
    annotations = {"sim.orbit.dev/cpu": "50m", "sim.orbit.dev/startup-seconds": "3"}
    assert load.ready_pods() == 1
    init = load.behaviour(launch_for(here, "setup", init=True, annotations=annotations))
    assert init.run_s == 0.0  # an init container completes at once, as without the load
    assert usage_at(init, 1.0, launch_for(here))[0] == pytest.approx(0.05)
    elsewhere = load.behaviour(launch_for(there, annotations=annotations))
    assert usage_at(elsewhere, 1.0, launch_for(there))[0] == pytest.approx(0.05)
    served = load.behaviour(launch_for(here, annotations=annotations))
    assert served.startup_s == 3.0  # the rest of the annotations still apply
    assert usage_at(served, 1.0, launch_for(here))[0] == pytest.approx(1.0)


def test_a_relabelled_or_recreated_pod_stops_serving(store: MemoryStore) -> None:
    load = SharedLoad("app=web", 1.0, store=store)
    pod = add(store, make_pod("a"))
    launch = launch_for(pod, cpu_millis=100)
    behaviour = load.behaviour(launch)
    assert usage_at(behaviour, 1.0, launch)[0] == pytest.approx(1.0)
    store.update(attrs.evolve(pod, metadata=attrs.evolve(pod.metadata, labels={"app": "x"})))
    assert usage_at(behaviour, 1.0, launch)[0] == pytest.approx(0.1)  # its request
    store.delete(Pod, "a", "default")
    assert usage_at(behaviour, 1.0, launch)[0] == 0.0  # gone: idle


def test_an_unbound_load_says_so() -> None:
    load = SharedLoad("app=web", 1.0)
    with pytest.raises(RuntimeError, match="bind"):
        load.ready_pods()
    with pytest.raises(ValueError, match="idle_cores"):
        SharedLoad("app=web", 1.0, idle_cores=-1)


# --- curves --------------------------------------------------------------------------


def test_the_day_peaks_in_the_afternoon_and_bottoms_out_at_night() -> None:
    day = diurnal(1.0, 5.0)
    assert day(15 * HOUR) == pytest.approx(5.0)  # 15:00
    assert day(3 * HOUR) == pytest.approx(1.0)  # 03:00, twelve hours away
    assert day(9 * HOUR) == pytest.approx(3.0)  # halfway up the morning
    assert day(0.0) == pytest.approx(day(24 * HOUR))  # a day repeats
    samples = [day(h * HOUR) for h in range(24)]
    assert samples.index(max(samples)) == 15
    assert samples.index(min(samples)) == 3


def test_start_hour_and_day_length_shift_and_compress_the_day() -> None:
    late = diurnal(1.0, 5.0, start_hour=12.0)  # t = 0 is noon
    assert late(3 * HOUR) == pytest.approx(5.0)
    short = diurnal(1.0, 5.0, day_s=2 * HOUR)  # a day in two hours
    assert short(2 * HOUR * 15 / 24) == pytest.approx(5.0)
    assert short(2 * HOUR * 3 / 24) == pytest.approx(1.0)


def test_spikes_add_their_height_while_they_last() -> None:
    spike = Spike(start_s=100.0, duration_s=50.0, height=2.0)
    day = diurnal(1.0, 1.0, spikes=[spike, Spike(120.0, 10.0, 0.5)])
    assert day(99.9) == pytest.approx(1.0)
    assert day(100.0) == pytest.approx(3.0)  # from the start
    assert day(125.0) == pytest.approx(3.5)  # spikes overlap: both add
    assert day(149.9) == pytest.approx(3.0)
    assert day(150.0) == pytest.approx(1.0)  # the end is excluded
    assert diurnal(1.0, 1.0, spikes=[Spike(0.0, 10.0, -5.0)])(1.0) == 0.0  # never below 0


def test_noise_is_seeded_bounded_and_constant_within_a_slot() -> None:
    noisy = diurnal(2.0, 2.0, noise=0.2, noise_period_s=60.0, seed=9)
    values = [noisy(t) for t in range(0, 6000, 60)]
    assert all(1.6 <= v <= 2.4 for v in values)
    assert len(set(values)) > 50  # it does move
    assert noisy(61.0) == noisy(119.0)  # one draw per slot
    assert values == [diurnal(2.0, 2.0, noise=0.2, seed=9)(t) for t in range(0, 6000, 60)]
    other = [diurnal(2.0, 2.0, noise=0.2, seed=10)(t) for t in range(0, 6000, 60)]
    assert other != values


def test_random_spikes_are_reproducible_sorted_and_within_the_ranges() -> None:
    spikes = random_spikes(4, count=8, span_s=10 * HOUR, duration_s=(60, 600), height=(1, 3))
    assert spikes == random_spikes(
        4, count=8, span_s=10 * HOUR, duration_s=(60, 600), height=(1, 3)
    )
    assert spikes != random_spikes(5, count=8, span_s=10 * HOUR)
    assert len(spikes) == 8
    assert [s.start_s for s in spikes] == sorted(s.start_s for s in spikes)
    assert all(0 <= s.start_s < 10 * HOUR for s in spikes)
    assert all(60 <= s.duration_s <= 600 and 1 <= s.height <= 3 for s in spikes)
    assert random_spikes(1, count=0) == ()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"trough": 3.0, "peak": 2.0}, "trough"),
        ({"trough": -1.0, "peak": 2.0}, "trough"),
        ({"trough": 1.0, "peak": 2.0, "noise": 1.0}, "noise"),
        ({"trough": 1.0, "peak": 2.0, "day_s": 0.0}, "day_s"),
    ],
)
def test_curves_refuse_nonsense(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        diurnal(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="count"):
        random_spikes(1, count=-1)


@given(
    trough=st.floats(0, 100),
    extra=st.floats(0, 100),
    t=st.floats(0, 30 * 86_400),
    peak_hour=st.floats(0, 24),
)
def test_the_smooth_day_stays_between_trough_and_peak(
    trough: float, extra: float, t: float, peak_hour: float
) -> None:
    day = diurnal(trough, trough + extra, peak_hour=peak_hour)
    value = day(t)
    tolerance = 1e-9 * (1 + trough + extra)
    assert trough - tolerance <= value <= trough + extra + tolerance
    assert math.isfinite(value)


def test_a_curve_is_plain_data() -> None:
    day = diurnal(1.0, 4.0, spikes=random_spikes(2, count=3), noise=0.1, seed=2)
    assert attrs.evolve(day) == day  # frozen attrs: comparable, copyable, printable
    assert "Spike(" in repr(day)
