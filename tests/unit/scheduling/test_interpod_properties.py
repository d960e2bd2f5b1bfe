"""Properties of InterPodAffinity and its pod index: required anti-affinity is never
violated by a sequence of placements, the vectorised paths agree with the per-node
ones, and the incrementally kept counts equal a fresh count."""

from __future__ import annotations

import attrs
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pod_aware import HOST, ZONE, harness, labelled, on, term, with_affinity
from sched_harness import make_node, make_pod

from orbit.api import Node, Pod
from orbit.scheduling import CycleState, Snapshot
from orbit.scheduling.plugins import _podindex
from orbit.scheduling.plugins._interpod import InterPodAffinity
from orbit.scheduling.plugins._podindex import PodFilter, PodIndex
from orbit.scheduling.plugins._podterms import pod_terms

APPS = ("a", "b", "c")
KEYS = (HOST, ZONE)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def nodes(draw: st.DrawFn) -> list[Node]:
    count = draw(st.integers(1, 6))
    out = []
    for i in range(count):
        zone = draw(st.sampled_from(["z1", "z2", "z3", None]))
        labels = {} if zone is None else {ZONE: zone}
        out.append(make_node(f"n{i}", cpu=draw(st.sampled_from(["1", "2", "4"])), labels=labels))
    return out


@st.composite
def pods(draw: st.DrawFn, name: str) -> Pod:
    """A pod with an app label and, maybe, required / preferred terms."""
    pod = labelled(
        make_pod(name, namespace=draw(st.sampled_from(["default", "default", "other"]))),
        app=draw(st.sampled_from(APPS)),
    )
    terms = {
        "anti": [term(draw(st.sampled_from(KEYS)), app=draw(st.sampled_from(APPS)))]
        if draw(st.booleans())
        else [],
        "required": [term(draw(st.sampled_from(KEYS)), app=draw(st.sampled_from(APPS)))]
        if draw(st.integers(0, 3)) == 0
        else [],
        "preferred": [
            (draw(st.integers(1, 100)), term(ZONE, app=a))
            for a in draw(st.sets(st.sampled_from(APPS)))
        ],
        "preferred_anti": [
            (draw(st.integers(1, 100)), term(HOST, app=a))
            for a in draw(st.sets(st.sampled_from(APPS)))
        ],
    }
    return with_affinity(pod, **terms)  # type: ignore[arg-type]


@st.composite
def placed(draw: st.DrawFn, cluster: list[Node], prefix: str = "e") -> list[Pod]:
    count = draw(st.integers(0, 8))
    names = [n.metadata.name for n in cluster]
    return [on(draw(pods(f"{prefix}{i}")), draw(st.sampled_from(names))) for i in range(count)]


def _violations(snapshot: Snapshot) -> list[tuple[str, str]]:
    """Pairs (p, q) of placed pods where q sits in the domain p's anti-affinity forbids."""
    where = [(info.pod, node.labels) for node in snapshot for info in node.pods]
    bad = []
    for pod, labels in where:
        for anti in pod_terms(pod).required_anti_affinity:
            value = labels.get(anti.topology_key)
            for other, other_labels in where:
                if other is pod or value is None:
                    continue
                if other_labels.get(anti.topology_key) == value and anti.matches(other):
                    bad.append((pod.metadata.name, other.metadata.name))
    return bad


@pytest.mark.parametrize("vectorised", [True, False])
@FAST
@given(data=st.data())
def test_a_sequence_of_placements_never_violates_required_anti_affinity(
    vectorised: bool, data: st.DataObject
) -> None:
    cluster = data.draw(nodes())
    h = harness(cluster, vectorised=vectorised)
    for i in range(data.draw(st.integers(1, 12))):
        h.schedule(data.draw(pods(f"p{i}")))
        if data.draw(st.integers(0, 4)) == 0:
            placed_now = [p.key for n in h.snapshot for p in n.pods]
            if placed_now:
                h.snapshot.forget(data.draw(st.sampled_from(placed_now)))
    assert _violations(h.snapshot) == []


@FAST
@given(data=st.data())
def test_vectorised_filter_and_score_agree_with_the_per_node_methods(data: st.DataObject) -> None:
    cluster = data.draw(nodes())
    snapshot = Snapshot(cluster, data.draw(placed(cluster)))
    pod = data.draw(pods("incoming"))
    plugin = InterPodAffinity()
    state = CycleState()
    status = plugin.pre_filter(state, pod, snapshot)
    if status.is_success:
        result = plugin.filter_all(state, pod, snapshot)
        assert result.codes is not None
        codes = result.codes()
        for i, info in enumerate(snapshot):
            expected = plugin.filter(state, pod, info)
            assert bool(result.mask[i]) == expected.is_success
            if not expected.is_success:
                assert result.reason(int(codes[i])) == expected
    candidates = np.arange(len(snapshot), dtype=np.intp)
    if plugin.pre_score(state, pod, snapshot, candidates).is_success:
        vector = plugin.score_all(state, pod, snapshot, candidates)
        per_node = [plugin.score(state, pod, info) for info in snapshot]
        assert vector.tolist() == per_node
        normalised = plugin.normalize_scores(state, pod, vector)
        assert all(0 <= s <= 100 for s in normalised.tolist())


@FAST
@given(data=st.data())
def test_incremental_counts_equal_a_fresh_count(data: st.DataObject) -> None:
    cluster = data.draw(nodes())
    snapshot = Snapshot(cluster, data.draw(placed(cluster)))
    filters = [PodFilter(((None, term(app=a).label_selector.to_selector()),)) for a in APPS]  # type: ignore[union-attr]
    index = PodIndex.of(snapshot)
    for f in filters:
        index.counts(f)  # registered now, updated from the journal later
    names = list(snapshot.names)
    for step in range(data.draw(st.integers(1, 15))):
        placed_now = [p.key for n in snapshot for p in n.pods]
        if placed_now and data.draw(st.booleans()):
            snapshot.forget(data.draw(st.sampled_from(placed_now)))
        else:
            snapshot.assume(data.draw(pods(f"s{step}")), data.draw(st.sampled_from(names)))
        if data.draw(st.booleans()):
            PodIndex.of(snapshot)  # sync at random points: some syncs see several changes
    index = PodIndex.of(snapshot)
    fresh = PodIndex(snapshot)
    for f in filters:
        assert index.counts(f).tolist() == fresh.counts(f).tolist()
    for kind, by_term in fresh.terms.items():
        assert {k: v.domains.tolist() for k, v in index.terms[kind].items()} == {
            k: v.domains.tolist() for k, v in by_term.items()
        }


def test_a_pod_replaced_on_one_node_between_cycles_is_seen() -> None:
    """The pod count of the node does not move: the index must still notice."""
    snapshot = Snapshot([make_node("n0"), make_node("n1")])
    old = labelled(make_pod("old"), app="a")
    snapshot.assume(old, "n0")
    a_filter = PodFilter(((None, term(app="a").label_selector.to_selector()),))  # type: ignore[union-attr]
    assert PodIndex.of(snapshot).counts(a_filter).tolist() == [1, 0]
    snapshot.forget(old)
    snapshot.assume(attrs.evolve(labelled(make_pod("new"), app="b")), "n0")
    assert PodIndex.of(snapshot).counts(a_filter).tolist() == [0, 0]


def _by_app() -> dict[str, PodFilter]:
    return {
        a: PodFilter(((None, term(app=a).label_selector.to_selector()),))  # type: ignore[union-attr]
        for a in APPS
    }


def _place_twelve(snapshot: Snapshot, *kept_busy: PodFilter) -> None:
    for i in range(12):
        snapshot.assume(labelled(make_pod(f"p{i}"), app=APPS[i % 3]), f"n{i % 2}")
        for f in kept_busy:
            PodIndex.of(snapshot).counts(f)


@pytest.mark.parametrize(("journal", "filters"), [(4, 128), (65_536, 2)])
def test_trimmed_journals_and_evicted_filters_are_rebuilt(
    monkeypatch: pytest.MonkeyPatch, journal: int, filters: int
) -> None:
    """A filter left behind by a trimmed journal, or evicted, is counted afresh."""
    monkeypatch.setattr(_podindex, "MAX_JOURNAL", journal)
    monkeypatch.setattr(_podindex, "MAX_FILTERS", filters)
    snapshot = Snapshot([make_node("n0"), make_node("n1")])
    by_app = _by_app()
    index = PodIndex.of(snapshot)
    index.counts(by_app["b"])  # registered, then left behind
    _place_twelve(snapshot, by_app["a"], by_app["c"])
    fresh = PodIndex(snapshot)
    for f in by_app.values():
        assert PodIndex.of(snapshot).counts(f).tolist() == fresh.counts(f).tolist()
    assert PodIndex.of(snapshot) is index
