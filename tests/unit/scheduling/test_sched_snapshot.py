"""The snapshot: stable order, pods counted against their nodes, copy-on-write
NodeInfos, numpy columns kept equal to the NodeInfos, GPU device ids."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pod_aware import term, with_affinity
from sched_harness import GPU, make_node, make_pod

from orbit.scheduling import GPU_DEVICES_ANNOTATION, NodeInfo, Snapshot


def assert_arrays_match(snapshot: Snapshot) -> None:
    """Every array cell equals what the NodeInfos say."""
    for i, info in enumerate(snapshot):
        for r, resource in enumerate(snapshot.resources):
            assert snapshot.allocatable[r, i] == info.allocatable.get(resource, 0)
            assert snapshot.requested[r, i] == info.requested.get(resource, 0)
            assert snapshot.free[r, i] == info.free(resource)
            view = info.non_zero_requested if resource in ("cpu", "memory") else info.requested
            assert snapshot.non_zero_requested[r, i] == view.get(resource, 0)


def test_nodes_are_ordered_by_name_whatever_the_input_order() -> None:
    snapshot = Snapshot([make_node("c"), make_node("a"), make_node("b")])
    assert snapshot.names == ("a", "b", "c")
    assert [info.name for info in snapshot] == ["a", "b", "c"]
    assert snapshot.index_of("b") == 1
    assert snapshot.at(2).name == "c"
    assert "a" in snapshot
    assert "z" not in snapshot
    assert snapshot.get("z") is None


def test_bound_non_terminal_pods_count_against_their_node() -> None:
    pods = [
        make_pod("running", cpu="1", node_name="a", phase="Running"),
        make_pod("pending-bound", cpu="1", node_name="a"),
        make_pod("done", cpu="1", node_name="a", phase="Succeeded"),
        make_pod("failed", cpu="1", node_name="a", phase="Failed"),
        make_pod("elsewhere", cpu="1", node_name="gone"),
        make_pod("unbound", cpu="1"),
    ]
    snapshot = Snapshot([make_node("a")], pods)
    assert [p.pod.metadata.name for p in snapshot.pods_on("a")] == ["running", "pending-bound"]
    assert snapshot["a"].requested["cpu"] == 2000
    assert snapshot["a"].requested["pods"] == 2000
    assert snapshot.node_of(pods[0]) == "a"
    assert snapshot.node_of("default/unbound") is None
    assert_arrays_match(snapshot)


def test_assume_is_copy_on_write_and_forget_undoes_it() -> None:
    snapshot = Snapshot([make_node("a"), make_node("b")])
    before = snapshot["a"]
    version = snapshot.version
    after = snapshot.assume(make_pod("p", cpu="1", memory="1Gi"), "a")
    assert before.requested == {}
    assert before.pods == ()
    assert after is snapshot["a"]
    assert after.requested["cpu"] == 1000
    assert snapshot.version > version
    assert_arrays_match(snapshot)
    with pytest.raises(ValueError, match="already placed"):
        snapshot.assume(make_pod("p"), "b")
    with pytest.raises(KeyError):
        snapshot.assume(make_pod("q"), "nowhere")
    assert snapshot.forget(make_pod("p")) == "a"
    assert snapshot.forget("default/p") is None  # idempotent
    assert snapshot["a"].requested["cpu"] == 0
    assert snapshot["a"].pods == ()
    assert_arrays_match(snapshot)


def test_fork_is_independent() -> None:
    snapshot = Snapshot([make_node("a")])
    fork = snapshot.fork()
    fork.assume(make_pod("p", cpu="1"), "a")
    assert snapshot["a"].pods == ()
    assert int(snapshot.requested[snapshot.row("cpu"), 0]) == 0
    assert len(fork["a"].pods) == 1
    snapshot.assume(make_pod("q", cpu="2"), "a")
    assert [p.key for p in fork["a"].pods] == ["default/p"]
    assert_arrays_match(snapshot)
    assert_arrays_match(fork)


def test_a_resource_no_node_offers_gets_a_row_when_a_pod_uses_it() -> None:
    snapshot = Snapshot([make_node("a")])
    assert snapshot.row("example.com/fpga") is None
    snapshot.assume(make_pod("p", extended={"example.com/fpga": "1"}), "a")
    assert snapshot.row("example.com/fpga") is not None
    assert snapshot["a"].free("example.com/fpga") == -1000
    assert_arrays_match(snapshot)


def test_nodes_can_be_added_updated_and_removed() -> None:
    snapshot = Snapshot([make_node("b")], [make_pod("p", cpu="1", node_name="b")])
    snapshot.add_node(make_node("a", cpu="8"))
    assert snapshot.names == ("a", "b")
    with pytest.raises(ValueError, match="already"):
        snapshot.add_node(make_node("a"))
    snapshot.update_node(make_node("b", cpu="16", unschedulable=True))
    assert snapshot["b"].allocatable["cpu"] == 16_000
    assert len(snapshot["b"].pods) == 1
    assert snapshot.node_index.unschedulable.tolist() == [False, True]
    assert_arrays_match(snapshot)
    snapshot.remove_node("b")
    snapshot.remove_node("b")  # no-op
    assert snapshot.names == ("a",)
    assert snapshot.node_of("default/p") is None
    assert_arrays_match(snapshot)
    with pytest.raises(ValueError, match="same name"):
        Snapshot([make_node("x"), make_node("x")])


def test_gpu_devices_default_to_indices_and_the_annotation_names_them() -> None:
    assert NodeInfo.build(make_node("a", gpus=2)).gpu_devices == ("0", "1")
    node = make_node("b", gpus=4, gpu_devices="3, 1,10,2,GPU-x,1")
    assert NodeInfo.build(node).gpu_devices == ("1", "2", "3", "10")  # capped at 4, numeric
    annotated_only = make_node("c", gpu_devices="GPU-b,GPU-a")
    info = NodeInfo.build(annotated_only)
    assert info.gpu_devices == ("GPU-a", "GPU-b")
    assert info.allocatable[GPU] == 2000
    fewer_ids = NodeInfo.build(make_node("d", gpus=4, gpu_devices="0,1"))
    assert fewer_ids.allocatable[GPU] == 2000  # a GPU without an id cannot be handed out


def test_pods_hold_their_annotated_devices_or_the_lowest_free_ones() -> None:
    snapshot = Snapshot(
        [make_node("g", gpus=4)],
        [make_pod("a", gpus=1, node_name="g", annotations={GPU_DEVICES_ANNOTATION: "2"})],
    )
    assert snapshot["g"].free_gpu_devices == ("0", "1", "3")
    snapshot.assume(make_pod("b", gpus=2), "g")  # bound without ids: the lowest free
    assert snapshot["g"].free_gpu_devices == ("3",)
    snapshot.forget("default/a")
    assert snapshot["g"].free_gpu_devices == ("2", "3")


def test_node_index_groups_taints_and_indexes_labels() -> None:
    snapshot = Snapshot(
        [
            make_node("a", labels={"zone": "z1"}, taints=["gpu=true:NoSchedule"]),
            make_node("b", labels={"zone": "z2"}, taints=["spot:PreferNoSchedule"]),
            make_node("c", taints=["gpu=true:NoSchedule"], gpus=1),
        ]
    )
    index = snapshot.node_index
    assert index.hard_taints.codes.tolist() == [0, -1, 0]
    assert index.soft_taints.codes.tolist() == [-1, 0, -1]
    assert index.untainted.tolist() == [False, True, False]
    assert not index.none_tainted
    assert index.gpu_nodes.tolist() == [False, False, True]
    assert index.has_gpu_nodes
    zone = index.label("zone")
    assert [zone.codes[i] for i in range(3)] == [zone.vocabulary["z1"], zone.vocabulary["z2"], -1]
    assert index.names().vocabulary["c"] == 2


@settings(max_examples=60, deadline=None)
@given(
    ops=st.lists(
        st.tuples(st.booleans(), st.integers(0, 7), st.integers(0, 2), st.integers(0, 3000)),
        max_size=40,
    )
)
def test_arrays_always_equal_the_node_infos(ops: list[tuple[bool, int, int, int]]) -> None:
    snapshot = Snapshot([make_node(n, gpus=2) for n in "abc"])
    for place, pod_id, node_id, cpu in ops:
        pod = make_pod(f"p{pod_id}", cpu=f"{cpu}m", memory=None, gpus=cpu % 2)
        if place and snapshot.node_of(pod) is None:
            snapshot.assume(pod, "abc"[node_id])
        else:
            snapshot.forget(pod)
        # the incrementally kept minimum equals a fresh one after every operation
        assert snapshot.least_free == snapshot.free.min(axis=1).tolist()
    assert_arrays_match(snapshot)
    placed = sorted(p.key for p in snapshot.pods())
    assert placed == sorted(k for k in (f"default/p{i}" for i in range(8)) if snapshot.node_of(k))
    assert np.array_equal(snapshot.free, snapshot.allocatable - snapshot.requested)


def test_affinity_pods_counts_placed_pods_with_pod_affinity_terms() -> None:
    plain = make_pod("plain", cpu="1", node_name="a")
    anti = with_affinity(make_pod("anti", cpu="1", node_name="a"), anti=[term(app="web")])
    snapshot = Snapshot([make_node("a"), make_node("b")], [plain, anti])
    assert snapshot.affinity_pods == 1
    late = with_affinity(make_pod("late", cpu="1"), preferred=[(5, term(app="db"))])
    snapshot.assume(late, "b")
    assert snapshot.affinity_pods == 2
    snapshot.forget(anti)
    snapshot.forget(late)
    assert snapshot.affinity_pods == 0
    snapshot.assume(make_pod("another", cpu="1"), "b")
    assert snapshot.affinity_pods == 0


def test_least_free_follows_placements_and_removals() -> None:
    snapshot = Snapshot([make_node("a", cpu="4"), make_node("b", cpu="2")])
    cpu = snapshot.row("cpu")
    assert cpu is not None
    assert snapshot.least_free[cpu] == 2000
    snapshot.assume(make_pod("p1", cpu="1500m", memory=None), "b")
    assert snapshot.least_free[cpu] == 500
    snapshot.assume(make_pod("p2", cpu="3800m", memory=None), "a")
    assert snapshot.least_free[cpu] == 200
    snapshot.forget("default/p2")
    assert snapshot.least_free[cpu] == 500
    assert Snapshot([]).least_free == [0] * len(Snapshot([]).resources)
