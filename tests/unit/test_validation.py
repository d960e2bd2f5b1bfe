"""Semantic validation, one rule at a time: each test loads a small manifest (or builds
an object) and asserts the exact issues, or that a close valid variant has none.

The corpus tests (test_invalid_corpus.py, test_valid_corpus.py) cover whole
manifests; these pin down each rule's edges and wording.
"""

from __future__ import annotations

import base64
import copy
from collections import Counter
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from orbit.api import (
    ConfigMap,
    Container,
    Deployment,
    LabelSelector,
    ObjectMeta,
    Pod,
    PodSpec,
    PodTemplateSpec,
    Quantity,
    ResourceRequirements,
    load_manifests,
    validate,
)
from orbit.api._validate_meta import show, validate_int_or_percent
from orbit.api._validate_misc import _base64_problem
from orbit.errors import Issue, ValidationError

# --- builders and assertions ---------------------------------------------------------


def container(name: str = "app", image: str = "app:1", **fields: Any) -> dict[str, Any]:
    return {"name": name, "image": image, **fields}


def pod(*containers: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "app"},
        "spec": {"containers": list(containers) or [container()], **spec},
    }


def deployment(**spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [container("web", "nginx:1.27")]},
        },
    }
    body.update(spec)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": body,
    }


def job(restart_policy: str = "Never", **spec: Any) -> dict[str, Any]:
    template = {"spec": {"restartPolicy": restart_policy, "containers": [container()]}}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "work"},
        "spec": {"template": template, **spec},
    }


def hpa(**spec: Any) -> dict[str, Any]:
    body = {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 5, **spec}
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": body,
    }


def service(*ports: dict[str, Any], **spec: Any) -> dict[str, Any]:
    body = {"selector": {"app": "web"}, "ports": list(ports), **spec}
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": body}


def issues(doc: Any) -> Counter[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        load_manifests(doc, on_warning=lambda _: None)
    return Counter((issue.path, issue.message) for issue in caught.value.issues)


def assert_issues(doc: Any, *expected: tuple[str, str]) -> None:
    assert issues(doc) == Counter(expected)


def assert_valid(doc: Any) -> None:
    assert load_manifests(doc, on_warning=lambda _: None)


C0 = "spec.containers[0]"
T0 = "spec.template.spec.containers[0]"

# --- metadata --------------------------------------------------------------------------


def test_name_or_generate_name_is_required_and_a_generated_prefix_may_end_in_a_dash() -> None:
    doc = pod()
    del doc["metadata"]["name"]
    assert_issues(doc, ("metadata.name", "Required value: name or generateName is required"))
    doc["metadata"]["generateName"] = "app-"
    assert_valid(doc)


def test_the_name_rule_depends_on_the_kind() -> None:
    """A dotted name is a fine subdomain (Pod), not a DNS-1035 label (Service)."""
    dotted = pod()
    dotted["metadata"]["name"] = "app.v2"
    assert_valid(dotted)
    svc = service({"port": 80})
    svc["metadata"]["name"] = "app.v2"
    ((path, message),) = issues(svc)
    assert path == "metadata.name"
    assert message.startswith('Invalid value: "app.v2": a DNS-1035 label must consist of')


def test_namespace_names_are_labels() -> None:
    doc = pod()
    doc["metadata"]["namespace"] = "team.a"
    assert_issues(doc, ("metadata.namespace", 'Invalid value: "team.a": must not contain dots'))


def test_label_values_are_reported_at_their_entry_and_keys_at_the_map() -> None:
    doc = pod()
    doc["metadata"]["labels"] = {"app.kubernetes.io/name": "x" * 64}
    ((path, message),) = issues(doc)
    assert path == "metadata.labels[app.kubernetes.io/name]"
    assert message.endswith("must be no more than 63 characters")


def test_annotations_may_hold_at_most_256_kib() -> None:
    doc = pod()
    doc["metadata"]["annotations"] = {"a": "x" * (256 * 1024)}
    assert_issues(
        doc,
        ("metadata.annotations", "Too long: annotations size 262145 is larger than limit 262144"),
    )
    doc["metadata"]["annotations"] = {"a": "x" * (256 * 1024 - 1)}
    assert_valid(doc)


def test_owner_references_need_a_version_kind_name_and_uid() -> None:
    doc = pod()
    doc["metadata"]["ownerReferences"] = [{"apiVersion": "apps/", "uid": "u"}]
    where = "metadata.ownerReferences[0]"
    assert_issues(
        doc,
        (f"{where}.apiVersion", 'Invalid value: "": version must not be empty'),
        (f"{where}.kind", 'Invalid value: "": kind must not be empty'),
        (f"{where}.name", 'Invalid value: "": name must not be empty'),
    )


def test_standard_and_qualified_finalizers_are_accepted() -> None:
    doc = pod()
    doc["metadata"]["finalizers"] = ["foregroundDeletion", "example.com/cleanup"]
    assert_valid(doc)


# --- containers ------------------------------------------------------------------------


def test_port_names_may_repeat_across_containers_but_not_within_one() -> None:
    http = {"name": "http", "containerPort": 80}
    assert_valid(pod(container("a", ports=[http]), container("b", ports=[http])))
    assert_issues(
        pod(container(ports=[http, {**http, "containerPort": 81}])),
        (f"{C0}.ports[1].name", 'Duplicate value: "http"'),
    )


def test_host_ports_are_checked_when_set() -> None:
    doc = pod(container(ports=[{"containerPort": 80, "hostPort": 65536}]))
    assert_issues(
        doc,
        (f"{C0}.ports[0].hostPort", "Invalid value: 65536: must be between 1 and 65535, inclusive"),
    )


def test_env_field_refs_accept_labels_and_annotations_by_key_only() -> None:
    def env(field_path: str) -> dict[str, Any]:
        var = {"name": "X", "valueFrom": {"fieldRef": {"fieldPath": field_path}}}
        return pod(container(env=[var]))

    assert_valid(env("metadata.labels['app.kubernetes.io/name']"))
    assert_valid(env("status.podIP"))
    assert_issues(
        env("spec.nodeName['x']"),
        (
            f"{C0}.env[0].valueFrom.fieldRef",
            'Invalid value: "spec.nodeName": does not support subscript',
        ),
    )


def test_env_resource_field_refs_name_a_resource_and_a_sensible_divisor() -> None:
    def env(resource: str, divisor: str = "1") -> dict[str, Any]:
        ref = {"resource": resource, "divisor": divisor}
        return pod(container(env=[{"name": "X", "valueFrom": {"resourceFieldRef": ref}}]))

    where = f"{C0}.env[0].valueFrom.resourceFieldRef"
    assert_valid(env("limits.memory", "1Mi"))
    assert_valid(env("requests.cpu", "1m"))
    assert_issues(
        env("requests.cpu", "1Mi"),
        (
            f"{where}.divisor",
            'Invalid value: "1Mi": only divisor\'s values 1m and 1 are supported with the '
            "cpu resource",
        ),
    )
    ((path, message),) = issues(env("limits.gpu"))
    assert path == f"{where}.resource"
    assert message.startswith('Unsupported value: "limits.gpu": supported values: "limits.cpu"')


def test_env_from_prefixes_are_env_names_and_sources_need_names() -> None:
    doc = pod(container(envFrom=[{"prefix": "A=", "configMapRef": {}}]))
    assert_issues(
        doc,
        (
            f"{C0}.envFrom[0].prefix",
            'Invalid value: "A=": a valid environment variable name must consist only of '
            "printable ASCII characters other than '='",
        ),
        (f"{C0}.envFrom[0].configMapRef.name", "Required value"),
    )


def test_requests_equal_to_limits_and_requests_defaulted_from_limits_are_fine() -> None:
    limits = {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": 1}
    assert_valid(pod(container(resources={"limits": limits})))
    assert_valid(pod(container(resources={"limits": limits, "requests": limits})))


def test_requests_above_limits_name_the_resource_and_the_limit() -> None:
    doc = pod(container(resources={"requests": {"memory": "2Gi"}, "limits": {"memory": "1536Mi"}}))
    assert_issues(
        doc,
        (
            f"{C0}.resources.requests",
            'Invalid value: "2Gi": must be less than or equal to memory limit of 1536Mi',
        ),
    )


def test_hugepages_cannot_be_overcommitted_either() -> None:
    doc = pod(
        container(
            resources={"requests": {"hugepages-2Mi": "2Mi"}, "limits": {"hugepages-2Mi": "4Mi"}}
        )
    )
    assert_issues(
        doc,
        (
            f"{C0}.resources.requests",
            'Invalid value: "2Mi": must be equal to hugepages-2Mi limit of 4Mi',
        ),
    )


def test_container_resources_must_be_container_resources() -> None:
    doc = pod(container(resources={"limits": {"pods": "1", "example.com/a/b": "1"}}))
    found = issues(doc)
    assert (
        f"{C0}.resources.limits.pods",
        'Invalid value: "pods": must be a standard resource for containers',
    ) in found
    assert {path for path, _ in found} == {
        f"{C0}.resources.limits.pods",
        f"{C0}.resources.limits[example.com/a/b]",
    }


def test_an_unparsable_quantity_is_reported_once_by_the_codec() -> None:
    doc = pod(container(resources={"requests": {"cpu": "12XB"}, "limits": {"cpu": "1"}}))
    assert_issues(doc, (f"{C0}.resources.requests.cpu", 'invalid quantity "12XB"'))


def test_readiness_probes_may_require_several_successes() -> None:
    probe = {"tcpSocket": {"port": 80}, "successThreshold": 3}
    assert_valid(pod(container(readinessProbe=probe)))
    assert_issues(
        pod(container(livenessProbe=probe)),
        (f"{C0}.livenessProbe.successThreshold", "Invalid value: 3: must be 1"),
    )


def test_probe_handlers_after_the_first_are_each_forbidden() -> None:
    probe = {
        "exec": {"command": ["true"]},
        "httpGet": {"port": 80},
        "tcpSocket": {"port": 80},
        "grpc": {"port": 9090},
    }
    message = "Forbidden: may not specify more than 1 handler type"
    assert_issues(
        pod(container(startupProbe=probe)),
        (f"{C0}.startupProbe.httpGet", message),
        (f"{C0}.startupProbe.tcpSocket", message),
        (f"{C0}.startupProbe.grpc", message),
    )


def test_probe_named_ports_resolve_in_their_own_container() -> None:
    probe = {"httpGet": {"path": "/", "port": "http"}}
    assert_valid(pod(container(ports=[{"name": "http", "containerPort": 80}], livenessProbe=probe)))
    other = container("other", ports=[{"name": "http", "containerPort": 80}])
    assert_issues(
        pod(container(livenessProbe=probe), other),
        (
            f"{C0}.livenessProbe.httpGet.port",
            'Invalid value: "http": must be the name of one of the container\'s ports',
        ),
    )


def test_probe_timings_below_one_are_refused() -> None:
    probe = {"exec": {"command": ["true"]}, "timeoutSeconds": 0, "failureThreshold": 0}
    assert_issues(
        pod(container(readinessProbe=probe)),
        (
            f"{C0}.readinessProbe.timeoutSeconds",
            "Invalid value: 0: must be greater than or equal to 1",
        ),
        (
            f"{C0}.readinessProbe.failureThreshold",
            "Invalid value: 0: must be greater than or equal to 1",
        ),
    )


def test_privileged_containers_cannot_forbid_privilege_escalation() -> None:
    sc = {"privileged": True, "allowPrivilegeEscalation": False}
    assert_issues(
        pod(container(securityContext=sc)),
        (
            f"{C0}.securityContext",
            "Invalid value: cannot set `allowPrivilegeEscalation` to false and `privileged` to "
            "true",
        ),
    )


# --- pod spec --------------------------------------------------------------------------


def test_volume_items_are_relative_paths_with_valid_modes() -> None:
    volume = {
        "name": "config",
        "configMap": {
            "name": "app",
            "defaultMode": 0o1777,
            "items": [{"key": "a", "path": "/etc/a"}],
        },
    }
    base = "spec.volumes[0].configMap"
    assert_issues(
        pod(volumes=[volume]),
        (
            f"{base}.defaultMode",
            "Invalid value: 1023: must be a number between 0 and 0777 (octal), both inclusive",
        ),
        (f"{base}.items[0].path", 'Invalid value: "/etc/a": must be a relative path'),
    )


def test_host_path_volumes_need_a_path_and_secret_volumes_a_secret() -> None:
    volumes = [{"name": "a", "hostPath": {}}, {"name": "b", "secret": {}}]
    assert_issues(
        pod(volumes=volumes),
        ("spec.volumes[0].hostPath.path", "Required value"),
        ("spec.volumes[1].secret.secretName", "Required value"),
    )


def test_a_mount_of_a_volume_with_an_invalid_name_is_not_found() -> None:
    doc = pod(container(volumeMounts=[{"name": "Data", "mountPath": "/d"}]))
    doc["spec"]["volumes"] = [{"name": "Data", "emptyDir": {}}]
    found = issues(doc)
    assert (f"{C0}.volumeMounts[0].name", 'Not found: "Data"') in found
    assert "spec.volumes[0].name" in {path for path, _ in found}


def test_node_field_selectors_select_on_the_node_name_only() -> None:
    term = {"matchFields": [{"key": "metadata.labels", "operator": "Exists"}]}
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}
        }
    }
    base = (
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
        ".nodeSelectorTerms[0].matchFields[0]"
    )
    assert_issues(
        pod(affinity=affinity),
        (f"{base}.operator", 'Invalid value: "Exists": not a valid selector operator'),
        (f"{base}.key", 'Invalid value: "metadata.labels": not a valid field selector key'),
    )


def test_a_required_node_affinity_needs_a_term() -> None:
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {}}}
    assert_issues(
        pod(affinity=affinity),
        (
            "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms",
            "Required value: must have at least one node selector term",
        ),
    )


def test_gt_and_lt_take_one_integer() -> None:
    def node_affinity(values: list[str]) -> dict[str, Any]:
        expr = {"key": "generation", "operator": "Gt", "values": values}
        term = {"matchExpressions": [expr]}
        return {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}
            }
        }

    assert_valid(pod(affinity=node_affinity(["-3"])))
    assert issues(pod(affinity=node_affinity(["3.5"])))


def test_an_empty_toleration_key_with_exists_tolerates_everything() -> None:
    assert_valid(pod(tolerations=[{"operator": "Exists"}]))
    assert_valid(pod(tolerations=[{"key": "x", "effect": "NoExecute", "tolerationSeconds": 0}]))


# --- workloads -------------------------------------------------------------------------


def test_set_based_selectors_match_template_labels_too() -> None:
    selector = {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]}
    assert_valid(deployment(selector=selector))
    selector = {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}
    assert_issues(
        deployment(selector=selector),
        (
            "spec.template.metadata.labels",
            'Invalid value: {"app":"web"}: `selector` does not match template `labels`',
        ),
    )


def test_an_invalid_selector_is_reported_without_a_spurious_mismatch() -> None:
    selector = {"matchExpressions": [{"key": "app", "operator": "In", "values": []}]}
    assert_issues(
        deployment(selector=selector),
        (
            "spec.selector.matchExpressions[0].values",
            "Required value: must be specified when `operator` is 'In' or 'NotIn'",
        ),
    )


@pytest.mark.parametrize(
    ("surge", "unavailable"),
    [(0, 1), (1, 0), ("0%", "1%"), ("100%", "100%"), (5, "25%")],
)
def test_rolling_update_bounds_that_can_make_progress(surge: Any, unavailable: Any) -> None:
    strategy = {"rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}
    assert_valid(deployment(strategy=strategy))


def test_negative_surge_is_refused() -> None:
    strategy = {"rollingUpdate": {"maxSurge": -1, "maxUnavailable": 1}}
    assert_issues(
        deployment(strategy=strategy),
        (
            "spec.strategy.rollingUpdate.maxSurge",
            "Invalid value: -1: must be greater than or equal to 0",
        ),
    )


def test_replica_sets_share_the_template_rules() -> None:
    doc = deployment()
    doc["kind"] = "ReplicaSet"
    doc["spec"]["replicas"] = -2
    doc["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    assert_issues(
        doc,
        ("spec.replicas", "Invalid value: -2: must be greater than or equal to 0"),
        (
            "spec.template.spec.restartPolicy",
            'Unsupported value: "Never": supported values: "Always"',
        ),
    )


# --- batch -----------------------------------------------------------------------------


def test_jobs_without_an_explicit_restart_policy_are_refused_like_kubernetes_does() -> None:
    doc = job()
    del doc["spec"]["template"]["spec"]["restartPolicy"]
    assert_issues(
        doc,
        ("spec.template.spec.restartPolicy", 'Required value: valid values: "OnFailure", "Never"'),
    )
    assert_valid(job("OnFailure"))


def test_a_manual_selector_must_match_the_template() -> None:
    doc = job(manualSelector=True, selector={"matchLabels": {"job": "a"}})
    doc["spec"]["template"]["metadata"] = {"labels": {"job": "b"}}
    assert_issues(
        doc,
        (
            "spec.template.metadata.labels",
            'Invalid value: {"job":"b"}: `selector` does not match template `labels`',
        ),
    )
    doc["spec"]["template"]["metadata"] = {"labels": {"job": "a"}}
    assert_valid(doc)


def test_indexed_jobs_bound_failed_indexes_by_completions() -> None:
    doc = job(completionMode="Indexed", completions=3, backoffLimitPerIndex=1, maxFailedIndexes=4)
    assert_issues(
        doc,
        ("spec.maxFailedIndexes", "Invalid value: 4: must be less than or equal to completions"),
    )


def test_fail_index_needs_a_per_index_backoff_limit() -> None:
    rule = {"action": "FailIndex", "onExitCodes": {"operator": "NotIn", "values": [0]}}
    doc = job(completionMode="Indexed", completions=2, podFailurePolicy={"rules": [rule]})
    assert_issues(
        doc,
        (
            "spec.podFailurePolicy.rules[0].action",
            'Invalid value: "FailIndex": requires the backoffLimitPerIndex to be set',
        ),
    )
    doc["spec"]["backoffLimitPerIndex"] = 1
    assert_valid(doc)


def test_cron_jobs_validate_their_schedule_and_template_at_their_paths() -> None:
    doc = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "report"},
        "spec": {
            "schedule": "CRON_TZ=UTC 0 * * * *",
            "jobTemplate": {"metadata": {"labels": {"bad key": "x"}}, "spec": job("Never")["spec"]},
        },
    }
    found = issues(doc)
    assert {path for path, _ in found} == {"spec.schedule", "spec.jobTemplate.metadata.labels"}
    assert (
        "spec.schedule",
        'Invalid value: "CRON_TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, use '
        "timeZone field instead",
    ) in found


# --- services --------------------------------------------------------------------------


def test_a_single_port_needs_no_name_and_target_ports_default_to_the_port() -> None:
    assert_valid(service({"port": 80}))
    assert_valid(
        service({"name": "http", "port": 80}, {"name": "https", "port": 443, "targetPort": "https"})
    )


def test_the_same_port_number_may_serve_tcp_and_udp() -> None:
    assert_valid(
        service({"name": "dns", "port": 53}, {"name": "dns-udp", "port": 53, "protocol": "UDP"})
    )


def test_client_ip_affinity_timeouts_are_bounded() -> None:
    config = {"clientIP": {"timeoutSeconds": 86401}}
    assert_issues(
        service({"port": 80}, sessionAffinity="ClientIP", sessionAffinityConfig=config),
        (
            "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
            "Invalid value: 86401: must be greater than 0 and less than 86400",
        ),
    )


def test_cluster_ips_are_ip_addresses_or_none() -> None:
    assert_valid(service({"port": 80}, clusterIP="10.96.0.10"))
    assert_issues(
        service({"port": 80}, clusterIP="10.96.0"),
        (
            "spec.clusterIP",
            'Invalid value: "10.96.0": must be a valid IP address, (e.g. 10.9.8.7 or '
            "2001:db8::ffff)",
        ),
    )
    assert_issues(
        service({"port": 80}, clusterIP="None", type="NodePort"),
        (
            "spec.clusterIP",
            "Invalid value: \"None\": may not be set to 'None' for NodePort services",
        ),
    )


# --- the smaller kinds -----------------------------------------------------------------


def test_config_maps_hold_at_most_one_mebibyte() -> None:
    def config_map(size: int) -> dict[str, Any]:
        data = {"a": "x" * (size // 2), "b": "x" * (size - size // 2)}
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"}, "data": data}

    assert_valid(config_map(1024 * 1024))
    assert_issues(config_map(1024 * 1024 + 1), ("", "Too long: may not be more than 1048576 bytes"))


def test_secret_string_data_is_validated_as_data_keys() -> None:
    doc = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "stringData": {"ok.key": "v", "..bad": "w"},
    }
    assert_issues(doc, ("data[..bad]", "Invalid value: \"..bad\": must not start with '..'"))


def test_secret_values_may_be_wrapped_over_lines_as_go_decodes_them() -> None:
    encoded = base64.b64encode(b"x" * 100).decode()
    wrapped = "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    doc = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": wrapped}}
    assert_valid(doc)


def test_quota_scopes_track_only_their_resources() -> None:
    doc = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "q"},
        "spec": {"hard": {"pods": "5", "requests.memory": "1Gi"}, "scopes": ["BestEffort"]},
    }
    assert_issues(
        doc, ("spec.scopes", 'Invalid value: ["BestEffort"]: unsupported scope applied to resource')
    )


def test_limit_range_ratios_are_at_least_one_and_extended_defaults_equal() -> None:
    item = {
        "type": "Container",
        "maxLimitRequestRatio": {"cpu": "500m"},
        "default": {"nvidia.com/gpu": "2"},
        "defaultRequest": {"nvidia.com/gpu": "1"},
    }
    doc = {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": {"name": "l"},
        "spec": {"limits": [item]},
    }
    assert_issues(
        doc,
        (
            "spec.limits[0].maxLimitRequestRatio.cpu",
            'Invalid value: "500m": ratio 500m is less than 1',
        ),
        (
            "spec.limits[0].defaultRequest[nvidia.com/gpu]",
            'Invalid value: "1": default value 2 must equal to defaultRequest value 1 in '
            "nvidia.com/gpu",
        ),
    )


def test_a_budget_may_set_neither_bound_as_in_kubernetes() -> None:
    doc = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "p"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}},
    }
    assert_valid(doc)


def test_hpa_scale_to_zero_is_allowed_with_an_object_or_external_metric() -> None:
    external = {
        "type": "External",
        "external": {"metric": {"name": "queue"}, "target": {"type": "Value", "value": "10"}},
    }
    assert_valid(hpa(minReplicas=0, metrics=[external]))


def test_hpa_min_replicas_may_not_be_negative() -> None:
    assert_issues(
        hpa(minReplicas=-1),
        ("spec.minReplicas", "Invalid value: -1: must be greater than or equal to 0"),
    )


def test_hpa_an_object_metric_needs_a_value_or_average_value() -> None:
    # Kubernetes checks the values a source needs, not the type: a Utilization
    # target on an Object metric fails for want of a value (as kube-apiserver says).
    metric = {
        "type": "Object",
        "object": {
            "describedObject": {"kind": "Ingress", "name": "main"},
            "metric": {"name": "hits"},
            "target": {"type": "Utilization", "averageUtilization": 50},
        },
    }
    assert_issues(
        hpa(metrics=[metric]),
        (
            "spec.metrics[0].object.target.averageValue",
            "Required value: must set either a target value or averageValue",
        ),
    )


def test_hpa_container_resource_metrics_name_a_container() -> None:
    metric = {
        "type": "ContainerResource",
        "containerResource": {
            "name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": 60},
        },
    }
    assert_issues(
        hpa(metrics=[metric]),
        ("spec.metrics[0].containerResource.container", "Required value: must specify a container"),
    )


def test_hpa_behavior_windows_may_not_be_negative() -> None:
    behavior = {"scaleUp": {"stabilizationWindowSeconds": -1}}
    assert_issues(
        hpa(behavior=behavior),
        (
            "spec.behavior.scaleUp.stabilizationWindowSeconds",
            "Invalid value: -1: must be greater than or equal to zero",
        ),
    )


def test_a_namespaced_event_may_be_about_a_cluster_scoped_object() -> None:
    doc = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "node-1.1", "namespace": "default"},
        "involvedObject": {"kind": "Node", "name": "node-1"},
    }
    assert_valid(doc)


# --- validate() on objects built in code -----------------------------------------------


def test_validate_checks_objects_built_in_code() -> None:
    template = PodTemplateSpec(
        metadata=ObjectMeta(labels={"app": "web"}),
        spec=PodSpec(
            containers=(
                Container(
                    name="web",
                    image="nginx",
                    resources=ResourceRequirements(
                        limits={"cpu": Quantity("1")}, requests={"cpu": Quantity("1500m")}
                    ),
                ),
            )
        ),
    )
    obj = Deployment(
        metadata=ObjectMeta(name="web"),
        spec=attrs.evolve(
            Deployment().spec,
            selector=LabelSelector(match_labels={"app": "web"}),
            template=template,
        ),
    )
    assert validate(obj) == [
        Issue(
            f"{T0}.resources.requests",
            'Invalid value: "1500m": must be less than or equal to cpu limit of 1',
        )
    ]
    assert validate(attrs.evolve(obj, spec=attrs.evolve(obj.spec, template=PodTemplateSpec()))) == [
        Issue(
            "spec.template.metadata.labels",
            "Invalid value: {}: `selector` does not match template `labels`",
        ),
        Issue("spec.template.spec.containers", "Required value"),
    ]


def test_validate_returns_nothing_for_valid_objects_and_unknown_types() -> None:
    assert (
        validate(
            Pod(
                metadata=ObjectMeta(name="p"),
                spec=PodSpec(containers=(Container(name="c", image="i"),)),
            )
        )
        == []
    )
    assert validate(ConfigMap(metadata=ObjectMeta(name="c"), data={"k": "v"})) == []
    assert validate(object()) == []


def test_load_reports_issues_of_every_document_with_their_prefix() -> None:
    bad = pod()
    bad["spec"]["containers"][0]["image"] = ""
    found = issues([pod(), copy.deepcopy(bad), bad])
    assert found == Counter(
        {(f"[1].{C0}.image", "Required value"): 1, (f"[2].{C0}.image", "Required value"): 1}
    )


# --- pure helpers ----------------------------------------------------------------------


def test_show_prints_values_as_kubernetes_does() -> None:
    assert show("x") == '"x"'
    assert show(3) == "3"
    assert show(True) == "true"
    assert show(None) == "null"
    assert show(Quantity("1.5")) == '"1500m"'
    assert show({"b": 1, "a": [1, 2]}) == '{"a":[1,2],"b":1}'
    assert show(LabelSelector(match_labels={"app": "web"})) == '{"matchLabels":{"app":"web"}}'


@given(st.integers(min_value=0, max_value=10**6))
def test_non_negative_counts_and_percentages_up_to_100_are_valid(value: int) -> None:
    assert validate_int_or_percent(value, "p") == []
    percent = f"{value % 101}%"
    assert validate_int_or_percent(percent, "p", at_most_100_percent=True) == []


@given(st.integers(min_value=101, max_value=10**6))
def test_percentages_above_100_are_refused_where_they_must_be_at_most_100(value: int) -> None:
    assert validate_int_or_percent(f"{value}%", "p") == []
    assert validate_int_or_percent(f"{value}%", "p", at_most_100_percent=True) == [
        Issue("p", f'Invalid value: "{value}%": must not be greater than 100%')
    ]


@given(
    st.text(max_size=8).filter(
        lambda s: not (s.endswith("%") and s[:-1].isdigit() and s[:-1].isascii())
    )
)
def test_anything_but_digits_and_a_percent_sign_is_not_a_percentage(text: str) -> None:
    (issue,) = validate_int_or_percent(text, "p")
    assert (
        "a valid percent string must be a numeric string followed by an ending '%'" in issue.message
    )


@given(st.binary(max_size=64))
def test_every_base64_encoding_decodes(data: bytes) -> None:
    assert _base64_problem(base64.b64encode(data).decode()) is None


@given(st.binary(min_size=1, max_size=64), st.data())
def test_the_first_character_outside_the_alphabet_is_reported(
    data: bytes, draw: st.DataObject
) -> None:
    encoded = base64.b64encode(data).decode().rstrip("=")
    index = draw.draw(st.integers(min_value=0, max_value=len(encoded) - 1))
    char = draw.draw(st.sampled_from(" !-_.*\t\u00e9"))
    assert _base64_problem(encoded[:index] + char + encoded[index + 1 :]) == index


@pytest.mark.parametrize("text", ["a", "abc", "abcde", "YQ=", "YQ===", "YWJj=", "YQ==YQ=="])
def test_base64_with_broken_quanta_or_padding_is_refused(text: str) -> None:
    assert _base64_problem(text) is not None
