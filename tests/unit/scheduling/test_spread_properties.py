"""Properties of PodTopologySpread: DoNotSchedule is never violated by a placement, and
the vectorised paths agree with the per-node ones."""

from __future__ import annotations

import attrs
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pod_aware import HOST, ZONE, harness, labelled, on, spread, with_spread
from sched_harness import make_node, make_pod

from orbit.api import Node, Pod
from orbit.scheduling import CycleState, Snapshot
from orbit.scheduling.plugins._spread import PodTopologySpread, constraints_of

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def nodes(draw: st.DrawFn, *, taints: bool = False) -> list[Node]:
    out = []
    for i in range(draw(st.integers(1, 6))):
        zone = draw(st.sampled_from(["z1", "z2", "z3", None]))
        labels = {} if zone is None else {ZONE: zone}
        if draw(st.booleans()):
            labels["disk"] = "ssd"
        tainted = taints and draw(st.integers(0, 3)) == 0
        out.append(
            make_node(
                f"n{i}",
                cpu=draw(st.sampled_from(["1", "2", "4"])),
                labels=labels,
                taints=["dedicated=x:NoSchedule"] if tainted else [],
            )
        )
    return out


@st.composite
def constrained(draw: st.DrawFn, name: str, when: str = "DoNotSchedule") -> Pod:
    pod = labelled(make_pod(name), app=draw(st.sampled_from(["web", "db"])))
    constraints = [
        spread(
            draw(st.sampled_from([ZONE, HOST])),
            draw(st.integers(1, 2)),
            when=draw(st.sampled_from([when, "DoNotSchedule", "ScheduleAnyway"])),
            min_domains=draw(st.sampled_from([None, 1, 2, 4])),
            node_affinity_policy=draw(st.sampled_from(["Honor", "Ignore"])),
            node_taints_policy=draw(st.sampled_from(["Honor", "Ignore"])),
            app=draw(st.sampled_from(["web", "db"])),
        )
        for _ in range(draw(st.integers(1, 2)))
    ]
    pod = with_spread(pod, *constraints)
    if draw(st.booleans()):
        pod = attrs.evolve(pod, spec=attrs.evolve(pod.spec, node_selector={"disk": "ssd"}))
    return pod


def _skew_after(snapshot: Snapshot, pod: Pod, node: str) -> list[tuple[int, int]]:
    """Per hard constraint of ``pod`` (all nodes eligible: no selector, no taints):
    (count of the chosen domain before placing + 1 - the global minimum, maxSkew)."""
    out = []
    for c in constraints_of(pod, "DoNotSchedule"):
        keys = [x.topology_key for x in constraints_of(pod, "DoNotSchedule")]
        eligible = [info for info in snapshot if all(k in info.labels for k in keys)]
        counts: dict[str, int] = {info.labels[c.topology_key]: 0 for info in eligible}
        for info in eligible:
            for p in info.pods:
                if p.key != f"default/{pod.metadata.name}" and c.selector.matches(
                    p.pod.metadata.labels
                ):
                    counts[info.labels[c.topology_key]] += 1
        lowest = 0 if len(counts) < c.min_domains else min(counts.values())
        own = int(c.selector.matches(pod.metadata.labels))
        out.append((counts[snapshot[node].labels[c.topology_key]] + own - lowest, c.max_skew))
    return out


@pytest.mark.parametrize("vectorised", [True, False])
@FAST
@given(data=st.data())
def test_no_placement_violates_a_do_not_schedule_constraint(
    vectorised: bool, data: st.DataObject
) -> None:
    cluster = data.draw(nodes())
    h = harness(cluster, vectorised=vectorised)
    for i in range(data.draw(st.integers(1, 12))):
        pod = data.draw(constrained(f"p{i}"))
        pod = attrs.evolve(pod, spec=attrs.evolve(pod.spec, node_selector={}))
        node = h.schedule(pod).node_name
        if node is not None:
            for skew, max_skew in _skew_after(h.snapshot, pod, node):
                assert skew <= max_skew
        if data.draw(st.integers(0, 4)) == 0:
            placed = [p.key for n in h.snapshot for p in n.pods]
            if placed:
                h.snapshot.forget(data.draw(st.sampled_from(placed)))


@FAST
@given(data=st.data())
def test_vectorised_filter_and_score_agree_with_the_per_node_methods(data: st.DataObject) -> None:
    cluster = data.draw(nodes(taints=True))
    names = [n.metadata.name for n in cluster]
    existing = [
        on(labelled(make_pod(f"e{i}"), app=data.draw(st.sampled_from(["web", "db"]))), n)
        for i, n in enumerate(data.draw(st.lists(st.sampled_from(names), max_size=10)))
    ]
    snapshot = Snapshot(cluster, existing)
    pod = data.draw(constrained("incoming"))
    plugin, state = PodTopologySpread(), CycleState()
    if plugin.pre_filter(state, pod, snapshot).is_success:
        result = plugin.filter_all(state, pod, snapshot)
        assert result.codes is not None
        codes = result.codes()
        for i, info in enumerate(snapshot):
            expected = plugin.filter(state, pod, info)
            assert bool(result.mask[i]) == expected.is_success
            if not expected.is_success:
                assert result.reason(int(codes[i])) == expected
    subset = data.draw(st.lists(st.integers(0, len(snapshot) - 1), min_size=1, unique=True))
    candidates = np.asarray(subset, dtype=np.intp)
    if plugin.pre_score(state, pod, snapshot, candidates).is_success:
        vector = plugin.score_all(state, pod, snapshot, candidates)
        per_node = [plugin.score(state, pod, snapshot.at(i)) for i in subset]
        assert vector.tolist() == per_node
        normalised = plugin.normalize_scores(state, pod, vector)
        assert all(0 <= s <= 100 for s in normalised.tolist())
