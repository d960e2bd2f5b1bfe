"""Pod requests and node allocatable as the scheduler counts them (milli-units)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from sched_harness import make_node, make_pod

from orbit.api import (
    Container,
    Node,
    NodeStatus,
    ObjectMeta,
    Pod,
    PodSpec,
    Quantity,
    ResourceRequirements,
)
from orbit.scheduling import POD_MILLI, node_allocatable, pod_resources
from orbit.scheduling._resources import (
    DEFAULT_CPU_MILLI,
    DEFAULT_MEMORY_MILLI,
    add,
    fits,
    insufficient,
    insufficient_reason,
    resource_order,
    subtract,
)


def container(**requests: str) -> Container:
    quantities = {k.replace("_", "-"): Quantity(v) for k, v in requests.items()}
    return Container(name="c", image="i", resources=ResourceRequirements(requests=quantities))


def pod_of(containers: list[Container], init: list[Container] | None = None) -> Pod:
    return Pod(
        metadata=ObjectMeta(name="p", namespace="default"),
        spec=PodSpec(containers=tuple(containers), init_containers=tuple(init or ())),
    )


def test_requests_sum_app_containers_and_take_the_largest_init_container() -> None:
    # Kubernetes' own example (fit.go computePodResourceRequest): cpu 3, memory 3G
    pod = pod_of(
        [container(cpu="2", memory="1G"), container(cpu="1", memory="1G")],
        init=[container(cpu="2", memory="1G"), container(cpu="2", memory="3G")],
    )
    resources = pod_resources(pod)
    assert resources.requests == {"cpu": 3000, "memory": 3 * 10**9 * 1000, "pods": POD_MILLI}


def test_every_pod_takes_one_pod_slot_and_zero_requests_are_dropped() -> None:
    resources = pod_resources(pod_of([container(cpu="0")]))
    assert resources.requests == {"pods": 1000}


def test_non_zero_view_defaults_missing_cpu_and_memory_per_container() -> None:
    pod = pod_of([container(), container(cpu="250m"), container(memory="1Gi")])
    resources = pod_resources(pod)
    assert resources.non_zero_cpu == 2 * DEFAULT_CPU_MILLI + 250
    assert resources.non_zero_memory == 2 * DEFAULT_MEMORY_MILLI + 2**30 * 1000
    # an explicit zero is not missing: it stays zero
    explicit = pod_resources(pod_of([container(cpu="0", memory="0")]))
    assert (explicit.non_zero_cpu, explicit.non_zero_memory) == (0, 0)


def test_gpus_round_up_to_whole_devices() -> None:
    assert pod_resources(make_pod(gpus=2)).gpus == 2
    assert pod_resources(make_pod()).gpus == 0


@given(
    app=st.lists(st.integers(0, 10_000), max_size=4),
    init=st.lists(st.integers(0, 10_000), max_size=4),
)
def test_effective_cpu_is_max_of_sum_and_largest_init(app: list[int], init: list[int]) -> None:
    pod = pod_of([container(cpu=f"{m}m") for m in app], init=[container(cpu=f"{m}m") for m in init])
    expected = max([sum(app), *init])
    assert pod_resources(pod).get("cpu") == expected


def test_allocatable_falls_back_to_capacity_as_the_api_server_defaults_it() -> None:
    node = Node(
        metadata=ObjectMeta(name="n"),
        status=NodeStatus(capacity={"cpu": Quantity("2"), "pods": Quantity("10")}),
    )
    assert node_allocatable(node) == {"cpu": 2000, "pods": 10_000}
    assert node_allocatable(make_node("m", cpu="500m"))["cpu"] == 500


def test_insufficient_reports_in_kubernetes_order_and_skips_zero_requests() -> None:
    allocatable = {"cpu": 1000, "memory": 1000, "pods": 1000, "example.com/a": 0}
    requested = {"cpu": 900, "memory": 2000, "pods": 1000}  # memory overcommitted
    request = {"example.com/a": 1, "memory": 0, "cpu": 200, "pods": 1000}
    assert insufficient(requested, allocatable, request) == ["pods", "cpu", "example.com/a"]
    assert [insufficient_reason(n) for n in ["pods", "cpu"]] == [
        "Too many pods",
        "Insufficient cpu",
    ]
    ignored = insufficient(requested, allocatable, request, ignored=frozenset({"example.com/a"}))
    assert ignored == ["pods", "cpu"]
    assert not fits(requested, allocatable, request)
    assert fits({}, allocatable, {"cpu": 1000, "pods": 1000})


def test_resource_order_and_arithmetic() -> None:
    assert resource_order(["z.io/b", "memory", "a.io/a", "cpu", "pods", "ephemeral-storage"]) == [
        "pods",
        "cpu",
        "memory",
        "ephemeral-storage",
        "a.io/a",
        "z.io/b",
    ]
    assert add({"cpu": 1}, {"cpu": 2, "memory": 3}) == {"cpu": 3, "memory": 3}
    assert subtract({"cpu": 3}, {"cpu": 3, "memory": 1}) == {"cpu": 0, "memory": -1}
