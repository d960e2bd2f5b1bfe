"""The endpoints controller's pure decisions: which pods a Service lists, at which
host port for each Service port (targetPort by number or name), ready or not, and how
the addresses pack into subsets (Kubernetes' RepackSubsets)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import attrs
from hypothesis import given
from hypothesis import strategies as st

from orbit.api import (
    Container,
    ContainerPort,
    EndpointAddress,
    EndpointPort,
    Endpoints,
    EndpointSubset,
    ObjectMeta,
    ObjectReference,
    Pod,
    PodCondition,
    PodSpec,
    PodStatus,
    Service,
    ServicePort,
    ServiceSpec,
    parse_port_addresses,
)
from orbit.controllers._endpoints_plan import (
    HEADLESS_LABEL,
    desired_endpoints,
    endpoint_subsets,
    merge_parts,
    repack_subsets,
    target_port_key,
)

HOST = "127.0.0.1"


def pod(
    name: str,
    *,
    ports: dict[str, int] | None = None,
    declared: tuple[ContainerPort, ...] = (ContainerPort(name="http", container_port=8080),),
    labels: dict[str, str] | None = None,
    namespace: str = "default",
    ready: bool = True,
    phase: str = "Running",
    deleting: bool = False,
    node: str = "n1",
    host: str = HOST,
) -> Pod:
    """A pod whose declared ports were allocated ``ports`` (annotation key -> host port)."""
    allocated = {"http": 40000 + sum(map(ord, name))} if ports is None else ports
    annotation = json.dumps({key: f"{host}:{port}" for key, port in allocated.items()})
    return Pod(
        metadata=ObjectMeta(
            name=name,
            namespace=namespace,
            uid=f"uid-{name}",
            labels={"app": "web"} if labels is None else labels,
            annotations={"orbit.dev/ports": annotation} if allocated else {},
            deletion_timestamp=datetime(2026, 1, 1, tzinfo=UTC) if deleting else None,
        ),
        spec=PodSpec(
            containers=(Container(name="web", image="web", ports=declared),), node_name=node
        ),
        status=PodStatus(
            phase=phase,  # type: ignore[arg-type]
            pod_ip=host,
            conditions=(PodCondition(type="Ready", status="True" if ready else "False"),),
        ),
    )


def service(
    *ports: ServicePort,
    selector: dict[str, str] | None = None,
    namespace: str = "default",
    **spec: Any,
) -> Service:
    return Service(
        metadata=ObjectMeta(name="web", namespace=namespace, labels={"tier": "front"}),
        spec=ServiceSpec(
            selector={"app": "web"} if selector is None else selector,
            ports=ports or (ServicePort(name="http", port=80, target_port="http"),),
            **spec,
        ),
    )


def address(name: str, *, node: str = "n1", host: str = HOST) -> EndpointAddress:
    return EndpointAddress(
        ip=host,
        node_name=node,
        target_ref=ObjectReference(kind="Pod", namespace="default", name=name, uid=f"uid-{name}"),
    )


def served(subsets: tuple[EndpointSubset, ...] | None) -> set[tuple[str, bool, str, int]]:
    """Every (pod, ready, port name, host port) the subsets list."""
    assert subsets is not None
    found = set()
    for subset in subsets:
        for ready, addresses in ((True, subset.addresses), (False, subset.not_ready_addresses)):
            for a in addresses:
                assert a.target_ref is not None
                for p in subset.ports:
                    found.add((a.target_ref.name, ready, p.name, p.port))
    return found


# -- where a pod is reached --------------------------------------------------------


def test_ports_annotation_parses_host_and_port_and_skips_junk() -> None:
    text = json.dumps({"http": "127.0.0.1:41234", "8080": "[::1]:41235", "bad": "nowhere"})
    assert parse_port_addresses(text) == {"http": ("127.0.0.1", 41234), "8080": ("::1", 41235)}
    assert parse_port_addresses("not json") == {}
    assert parse_port_addresses("[1, 2]") == {}
    assert parse_port_addresses(None) == {}


def test_target_port_by_name_and_by_number_finds_the_annotation_key() -> None:
    p = pod(
        "a",
        declared=(
            ContainerPort(name="http", container_port=8080),
            ContainerPort(container_port=9090),
            ContainerPort(name="dns", container_port=53, protocol="UDP"),
        ),
    )
    assert target_port_key(p, ServicePort(port=80, target_port="http")) == "http"
    # a number finds the declared port with that number, keyed by its name if it has one
    assert target_port_key(p, ServicePort(port=80, target_port=8080)) == "http"
    assert target_port_key(p, ServicePort(port=80, target_port=9090)) == "9090"
    assert target_port_key(p, ServicePort(port=9090)) == "9090"  # targetPort defaults to port
    # protocol must match too (Kubernetes' FindPort)
    assert target_port_key(p, ServicePort(port=53, target_port="dns")) is None
    assert target_port_key(p, ServicePort(port=53, target_port="dns", protocol="UDP")) == "dns"
    assert target_port_key(p, ServicePort(port=80, target_port="metrics")) is None
    assert target_port_key(p, ServicePort(port=80, target_port=7000)) is None


def test_named_target_port_lists_each_pod_at_its_own_host_port() -> None:
    pods = [pod("a", ports={"http": 41000}), pod("b", ports={"http": 41001})]
    subsets = endpoint_subsets(service(), pods)
    assert subsets == (
        EndpointSubset(addresses=(address("a"),), ports=(EndpointPort(name="http", port=41000),)),
        EndpointSubset(addresses=(address("b"),), ports=(EndpointPort(name="http", port=41001),)),
    )


def test_numbered_target_port_uses_the_port_allocated_for_that_container_port() -> None:
    declared = (ContainerPort(container_port=8080),)
    pods = [pod("a", declared=declared, ports={"8080": 42000})]
    svc = service(ServicePort(port=80, target_port=8080, app_protocol="http"))
    assert endpoint_subsets(svc, pods) == (
        EndpointSubset(
            addresses=(address("a"),),
            ports=(EndpointPort(port=42000, app_protocol="http"),),
        ),
    )


def test_multiple_service_ports_share_the_pod_subset() -> None:
    declared = (
        ContainerPort(name="http", container_port=8080),
        ContainerPort(name="metrics", container_port=9100),
    )
    pods = [pod("a", declared=declared, ports={"http": 41000, "metrics": 41001})]
    svc = service(
        ServicePort(name="web", port=80, target_port="http"),
        ServicePort(name="prom", port=9100, target_port=9100),
    )
    assert endpoint_subsets(svc, pods) == (
        EndpointSubset(
            addresses=(address("a"),),
            ports=(EndpointPort(name="prom", port=41001), EndpointPort(name="web", port=41000)),
        ),
    )


def test_a_port_the_pod_does_not_declare_or_has_not_allocated_is_left_out() -> None:
    declared = (
        ContainerPort(name="http", container_port=8080),
        ContainerPort(name="metrics", container_port=9100),
    )
    svc = service(
        ServicePort(name="web", port=80, target_port="http"),
        ServicePort(name="prom", port=9100, target_port="metrics"),
    )
    only_http = pod("a", declared=declared[:1], ports={"http": 41000})
    not_yet = pod("b", declared=declared, ports={})  # scheduled, ports not published yet
    assert served(endpoint_subsets(svc, [only_http, not_yet])) == {("a", True, "web", 41000)}


def test_the_address_is_the_host_the_port_is_published_on() -> None:
    remote = pod("a", ports={"http": 41000}, host="10.0.0.7")
    (subset,) = endpoint_subsets(service(), [remote]) or ()
    assert subset.addresses[0].ip == "10.0.0.7"


# -- which pods ------------------------------------------------------------------------


def test_not_ready_pods_are_listed_as_not_ready_addresses() -> None:
    pods = [pod("a", ports={"http": 41000}), pod("b", ports={"http": 41001}, ready=False)]
    assert endpoint_subsets(service(), pods) == (
        EndpointSubset(addresses=(address("a"),), ports=(EndpointPort(name="http", port=41000),)),
        EndpointSubset(
            not_ready_addresses=(address("b"),), ports=(EndpointPort(name="http", port=41001),)
        ),
    )


def test_publish_not_ready_addresses_lists_every_live_pod_as_ready() -> None:
    pods = [pod("a", ready=False), pod("b", ready=True)]
    svc = service(publish_not_ready_addresses=True)
    assert {(name, ready) for name, ready, _, _ in served(endpoint_subsets(svc, pods))} == {
        ("a", True),
        ("b", True),
    }


def test_terminating_and_finished_pods_are_left_out_entirely() -> None:
    pods = [
        pod("live"),
        pod("terminating", deleting=True),
        pod("terminating-unready", deleting=True, ready=False),
        pod("done", phase="Succeeded", ready=False),
        pod("failed", phase="Failed", ready=False),
    ]
    assert {name for name, *_ in served(endpoint_subsets(service(), pods))} == {"live"}
    # unlike Kubernetes, publishNotReadyAddresses keeps no terminating pod (docs/services.md)
    svc = service(publish_not_ready_addresses=True)
    assert {name for name, *_ in served(endpoint_subsets(svc, pods))} == {"live"}


def test_pods_of_other_namespaces_or_labels_are_ignored() -> None:
    pods = [
        pod("mine"),
        pod("elsewhere", namespace="other"),
        pod("api", labels={"app": "api"}),
        pod("unlabelled", labels={}),
    ]
    assert {name for name, *_ in served(endpoint_subsets(service(), pods))} == {"mine"}


def test_services_without_a_selector_or_external_names_are_not_managed() -> None:
    assert endpoint_subsets(service(selector={}), [pod("a")]) is None
    external = service(type="ExternalName", external_name="example.com")
    assert endpoint_subsets(external, [pod("a")]) is None


def test_no_pods_means_no_subsets() -> None:
    assert endpoint_subsets(service(), []) == ()


def test_headless_service_without_ports_lists_pod_ips() -> None:
    svc = attrs.evolve(service(), spec=ServiceSpec(selector={"app": "web"}, cluster_ip="None"))
    assert endpoint_subsets(svc, [pod("a"), pod("b", ready=False)]) == (
        EndpointSubset(addresses=(address("a"),), not_ready_addresses=(address("b"),)),
    )


def test_hostname_is_set_when_the_pod_names_the_service_as_subdomain() -> None:
    p = pod("a")
    named = attrs.evolve(p, spec=attrs.evolve(p.spec, hostname="a-0", subdomain="web"))
    other = attrs.evolve(p, spec=attrs.evolve(p.spec, hostname="a-0", subdomain="api"))
    (subset,) = endpoint_subsets(service(), [named]) or ()
    assert subset.addresses[0].hostname == "a-0"
    (subset,) = endpoint_subsets(service(), [other]) or ()
    assert subset.addresses[0].hostname == ""


def test_order_does_not_depend_on_the_order_of_the_pods() -> None:
    pods = [pod(name, ready=name != "c") for name in "dacb"]
    assert endpoint_subsets(service(), pods) == endpoint_subsets(
        service(), sorted(pods, key=lambda p: p.metadata.name)
    )


# -- packing -------------------------------------------------------------------------


def test_repack_groups_ports_served_by_the_same_addresses() -> None:
    http, metrics, admin = (
        EndpointPort(name=n, port=p) for n, p in (("http", 1), ("m", 2), ("a", 3))
    )
    a, b = address("a"), address("b")
    packed = repack_subsets(
        [
            EndpointSubset(addresses=(a,), ports=(http,)),
            EndpointSubset(addresses=(b,), ports=(http,)),
            EndpointSubset(addresses=(a,), ports=(metrics,)),
            EndpointSubset(addresses=(b,), ports=(metrics,)),
            EndpointSubset(addresses=(a,), ports=(admin,)),
        ]
    )
    assert packed == (
        EndpointSubset(addresses=(a,), ports=(admin,)),
        EndpointSubset(addresses=(a, b), ports=(http, metrics)),
    )


def test_repack_keeps_an_address_ready_if_any_subset_lists_it_ready() -> None:
    port = EndpointPort(name="http", port=1)
    a = address("a")
    packed = repack_subsets(
        [
            EndpointSubset(not_ready_addresses=(a,), ports=(port,)),
            EndpointSubset(addresses=(a,), ports=(port,)),
            EndpointSubset(not_ready_addresses=(a,), ports=(port,)),
        ]
    )
    assert packed == (EndpointSubset(addresses=(a,), ports=(port,)),)


@given(
    st.lists(
        st.tuples(
            st.sampled_from("abcd"),
            st.booleans(),
            st.sets(st.sampled_from(["http", "m", "a"]), min_size=1),
        ),
        max_size=8,
    )
)
def test_repack_lists_exactly_the_same_address_port_pairs(
    entries: list[tuple[str, bool, set[str]]],
) -> None:
    ports = {"http": 1, "m": 2, "a": 3}
    subsets = []
    for name, ready, names in entries:
        chosen = tuple(EndpointPort(name=n, port=ports[n]) for n in sorted(names))
        listed = (address(name),)
        subsets.append(
            EndpointSubset(addresses=listed, ports=chosen)
            if ready
            else EndpointSubset(not_ready_addresses=listed, ports=chosen)
        )
    # what each (address, port) pair should end up as: ready if it ever was
    expected: dict[tuple[str, str], bool] = {}
    for name, ready, names in entries:
        for n in names:
            expected[(name, n)] = expected.get((name, n), False) or ready
    packed = repack_subsets(subsets)
    got: dict[tuple[str, str], bool] = {}
    for subset in packed:
        assert subset.addresses or subset.not_ready_addresses
        for ready, addresses in ((True, subset.addresses), (False, subset.not_ready_addresses)):
            for a in addresses:
                assert a.target_ref is not None
                for p in subset.ports:
                    assert (a.target_ref.name, p.name) not in got  # listed once
                    got[(a.target_ref.name, p.name)] = ready
    assert got == expected
    # no two subsets could be merged: their address sets differ
    keys = [(s.addresses, s.not_ready_addresses) for s in packed]
    assert len(keys) == len(set(keys))
    assert repack_subsets(packed) == packed


@given(
    st.lists(
        st.tuples(
            st.booleans(),
            st.sets(st.sampled_from([("http", 1), ("http", 2), ("m", 3), ("m", 4)]), max_size=3),
        ),
        max_size=6,
    )
)
def test_merging_pod_parts_is_repacking_everything(
    pods: list[tuple[bool, set[tuple[str, int]]]],
) -> None:
    """The shortcut (sort the pods' own packings when no port is shared between pods)
    gives what packing every subset together gives, shared ports or not."""
    raw = []
    for index, (ready, ports) in enumerate(pods):
        listed = (address(f"p{index}"),)
        raw.append(
            [
                EndpointSubset(addresses=listed, ports=(EndpointPort(name=n, port=p),))
                if ready
                else EndpointSubset(
                    not_ready_addresses=listed, ports=(EndpointPort(name=n, port=p),)
                )
                for n, p in sorted(ports)
            ]
        )
    parts = [repack_subsets(subsets) for subsets in raw]
    assert merge_parts(parts) == repack_subsets([s for subsets in raw for s in subsets])


# -- what to write ----------------------------------------------------------------


def test_desired_endpoints_creates_with_the_service_labels_then_writes_only_changes() -> None:
    svc = service()
    subsets = endpoint_subsets(svc, [pod("a")]) or ()
    created = desired_endpoints(svc, subsets, None)
    assert created is not None
    assert created.metadata.name == "web"
    assert created.metadata.namespace == "default"
    assert created.metadata.labels == {"tier": "front"}
    assert created.subsets == subsets
    stored = attrs.evolve(created, metadata=attrs.evolve(created.metadata, resource_version="7"))
    assert desired_endpoints(svc, subsets, stored) is None
    changed = desired_endpoints(svc, (), stored)
    assert changed is not None
    assert changed.subsets == ()
    assert changed.metadata.resource_version == "7"  # an update of what is stored
    relabelled = attrs.evolve(svc, metadata=attrs.evolve(svc.metadata, labels={"tier": "back"}))
    update = desired_endpoints(relabelled, subsets, stored)
    assert update is not None
    assert update.metadata.labels == {"tier": "back"}


def test_a_manual_edit_of_a_managed_endpoints_is_overwritten() -> None:
    svc = service()
    subsets = endpoint_subsets(svc, [pod("a")]) or ()
    edited = Endpoints(
        metadata=ObjectMeta(name="web", namespace="default", labels={"tier": "front"}),
        subsets=(EndpointSubset(addresses=(EndpointAddress(ip="10.9.9.9"),)),),
    )
    repaired = desired_endpoints(svc, subsets, edited)
    assert repaired is not None
    assert repaired.subsets == subsets


def test_headless_services_get_kubernetes_headless_label() -> None:
    svc = service(cluster_ip="None")
    created = desired_endpoints(svc, (), None)
    assert created is not None
    assert created.metadata.labels == {"tier": "front", HEADLESS_LABEL: ""}
