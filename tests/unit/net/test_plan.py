"""What the proxy makes of a Service and its Endpoints: listen ports, policy, affinity,
ready endpoints per port, and endpoint diffs."""

from __future__ import annotations

from typing import Any

import pytest

from orbit.api import (
    ClientIPConfig,
    EndpointAddress,
    EndpointPort,
    Endpoints,
    EndpointSubset,
    ObjectMeta,
    Service,
    ServicePort,
    ServiceSpec,
    SessionAffinityConfig,
)
from orbit.net import LB_POLICY_ANNOTATION, LISTEN_PORT_ANNOTATION, Endpoint
from orbit.net._plan import diff_endpoints, plan_service, ready_endpoints


def service(*ports: ServicePort, annotations: dict[str, str] | None = None, **spec: Any) -> Service:
    return Service(
        metadata=ObjectMeta(name="web", namespace="default", annotations=annotations or {}),
        spec=ServiceSpec(ports=ports or (ServicePort(port=80),), **spec),
    )


HTTP = ServicePort(name="http", port=80)
ADMIN = ServicePort(name="admin", port=9000)


def listen_ports(svc: Service, **kw: Any) -> list[int]:
    plan = plan_service(svc, **kw)
    assert plan is not None
    return [port.listen_port for port in plan.ports]


def test_a_free_port_by_default_and_the_service_port_when_asked() -> None:
    assert listen_ports(service(HTTP, ADMIN)) == [0, 0]
    assert listen_ports(service(HTTP, ADMIN), use_service_port=True) == [80, 9000]


def test_node_port_is_where_a_node_port_service_listens() -> None:
    node_port = ServicePort(name="http", port=80, node_port=30080)
    assert listen_ports(service(node_port, ADMIN, type="NodePort")) == [30080, 0]
    assert listen_ports(service(node_port, type="LoadBalancer"), use_service_port=True) == [30080]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("auto", [0, 0]),
        ("port", [80, 9000]),
        ("http=8080", [8080, 0]),
        (" http=8080 , admin=9090 ", [8080, 9090]),
    ],
)
def test_the_listen_port_annotation(value: str, expected: list[int]) -> None:
    svc = service(HTTP, ADMIN, annotations={LISTEN_PORT_ANNOTATION: value})
    assert listen_ports(svc) == expected
    plan = plan_service(svc)
    assert plan is not None
    assert plan.problems == ()


def test_the_annotation_wins_over_the_proxy_default_and_node_port() -> None:
    node_port = ServicePort(name="http", port=80, node_port=30080)
    svc = service(node_port, type="NodePort", annotations={LISTEN_PORT_ANNOTATION: "auto"})
    assert listen_ports(svc, use_service_port=True) == [0]
    single = service(annotations={LISTEN_PORT_ANNOTATION: "8080"})
    assert listen_ports(single) == [8080]


@pytest.mark.parametrize("value", ["8080", "http=99999", "nope=1", "http", "http=x"])
def test_a_bad_listen_port_annotation_is_a_problem_not_a_failure(value: str) -> None:
    plan = plan_service(service(HTTP, ADMIN, annotations={LISTEN_PORT_ANNOTATION: value}))
    assert plan is not None
    assert [port.listen_port for port in plan.ports] == [0, 0]
    (problem,) = plan.problems
    assert problem.startswith(LISTEN_PORT_ANNOTATION)


def test_only_tcp_is_served() -> None:
    plan = plan_service(service(HTTP, ServicePort(name="dns", port=53, protocol="UDP")))
    assert plan is not None
    assert [(p.name, p.error) for p in plan.ports] == [
        ("http", None),
        ("dns", "orbit.dev/UnsupportedProtocol"),
    ]


def test_headless_and_external_name_services_are_not_proxied() -> None:
    assert plan_service(service(cluster_ip="None")) is None
    assert plan_service(service(type="ExternalName", external_name="example.com")) is None


def test_the_policy_annotation() -> None:
    plan = plan_service(service(annotations={LB_POLICY_ANNOTATION: "least-connections"}))
    assert plan is not None
    assert plan.policy == "least-connections"
    plan = plan_service(service(), default_policy="least-connections")
    assert plan is not None
    assert plan.policy == "least-connections"
    plan = plan_service(service(annotations={LB_POLICY_ANNOTATION: "random"}))
    assert plan is not None
    assert plan.policy == "round-robin"
    assert "unknown policy 'random'" in plan.problems[0]


def test_client_ip_affinity_and_its_default_timeout() -> None:
    plan = plan_service(service())
    assert plan is not None
    assert plan.affinity_timeout_s is None
    plan = plan_service(service(session_affinity="ClientIP"))
    assert plan is not None
    assert plan.affinity_timeout_s == 10800  # Kubernetes' default
    config = SessionAffinityConfig(client_ip=ClientIPConfig(timeout_seconds=30))
    plan = plan_service(service(session_affinity="ClientIP", session_affinity_config=config))
    assert plan is not None
    assert plan.affinity_timeout_s == 30


def address(ip: str) -> EndpointAddress:
    return EndpointAddress(ip=ip)


def test_ready_endpoints_match_ports_by_name_and_skip_not_ready_addresses() -> None:
    endpoints = Endpoints(
        metadata=ObjectMeta(name="web", namespace="default"),
        subsets=(
            EndpointSubset(
                addresses=(address("127.0.0.1"),),
                not_ready_addresses=(address("127.0.0.9"),),
                ports=(
                    EndpointPort(name="http", port=31001),
                    EndpointPort(name="admin", port=31002),
                ),
            ),
            EndpointSubset(
                addresses=(address("127.0.0.2"), address("127.0.0.1")),
                ports=(
                    EndpointPort(name="http", port=31003),
                    EndpointPort(name="http", port=31004, protocol="UDP"),
                ),
            ),
            EndpointSubset(  # the same address and port again: one endpoint
                addresses=(address("127.0.0.1"),), ports=(EndpointPort(name="http", port=31001),)
            ),
        ),
    )
    assert ready_endpoints(endpoints, "http") == (
        Endpoint("127.0.0.1", 31001),
        Endpoint("127.0.0.1", 31003),
        Endpoint("127.0.0.2", 31003),
    )
    assert ready_endpoints(endpoints, "admin") == (Endpoint("127.0.0.1", 31002),)
    assert ready_endpoints(endpoints, "") == ()
    assert ready_endpoints(None, "http") == ()


def test_endpoint_diff() -> None:
    a, b, c = (Endpoint("127.0.0.1", port) for port in (1, 2, 3))
    assert diff_endpoints((a, b), (b, c)) == ((c,), (a,))
    assert diff_endpoints((), (a,)) == ((a,), ())
    assert diff_endpoints((a, b), (b, a)) == ((), ())
