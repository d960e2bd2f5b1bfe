"""load_manifests / dump: every source form, defaults, warnings, round trips."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

import orbit
from orbit.api import (
    CronJob,
    Deployment,
    HorizontalPodAutoscaler,
    Job,
    Pod,
    Quantity,
    Secret,
    Service,
)

DEPLOYMENT = textwrap.dedent(
    """
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
      labels: {app: web}
    spec:
      replicas: 3
      selector:
        matchLabels: {app: web}
      template:
        metadata:
          labels: {app: web}
        spec:
          containers:
            - name: web
              image: nginx:1.27
              ports: [{name: http, containerPort: 8080}]
              resources:
                requests: {cpu: 250m}
                limits: {memory: 128Mi}
    """
)

SERVICE = textwrap.dedent(
    """
    apiVersion: v1
    kind: Service
    metadata: {name: web}
    spec:
      selector: {app: web}
      ports: [{name: http, port: 80, targetPort: http}]
    """
)


def test_yaml_multi_document_skips_empty_documents() -> None:
    objects = orbit.load_manifests(DEPLOYMENT + "\n---\n---\n" + SERVICE + "\n---\n")
    assert [type(o) for o in objects] == [Deployment, Service]


def test_file_directory_dict_list_and_kind_list(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(DEPLOYMENT)
    (tmp_path / "b.yml").write_text(SERVICE)
    (tmp_path / "notes.txt").write_text("not a manifest")
    from_dir = orbit.load_manifests(tmp_path)
    assert [o.metadata.name for o in from_dir] == ["web", "web"]
    assert orbit.load_manifests(str(tmp_path / "a.yaml")) == from_dir[:1]
    as_dicts = [orbit.dump(o) for o in from_dir]
    assert orbit.load_manifests(as_dicts) == from_dir
    assert orbit.load_manifests(as_dicts[0]) == from_dir[:1]
    listed = {"apiVersion": "v1", "kind": "List", "items": as_dicts}
    assert orbit.load_manifests(listed) == from_dir


def test_kubernetes_defaults_are_applied() -> None:
    (deployment, service) = orbit.load_manifests(DEPLOYMENT + "---\n" + SERVICE)
    spec = deployment.spec
    assert spec.strategy.type == "RollingUpdate"
    assert spec.strategy.rolling_update is not None
    assert spec.strategy.rolling_update.max_surge == "25%"
    assert spec.strategy.rolling_update.max_unavailable == "25%"
    assert (spec.revision_history_limit, spec.progress_deadline_seconds) == (10, 600)
    pod = spec.template.spec
    assert pod.restart_policy == "Always"
    assert pod.termination_grace_period_seconds == 30
    assert pod.scheduler_name == "default-scheduler"
    container = pod.containers[0]
    assert container.image_pull_policy == "IfNotPresent"
    assert container.ports[0].protocol == "TCP"
    # a limit without a request requests the limit
    assert container.resources.requests["memory"] == Quantity.parse("128Mi")
    assert container.resources.requests["cpu"] == Quantity.parse("250m")
    assert service.spec.type == "ClusterIP"
    assert service.spec.ports[0].protocol == "TCP"


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("nginx:1.27", "IfNotPresent"),
        ("registry:5000/team/app", "Always"),
        ("registry:5000/team/app:v2", "IfNotPresent"),
        ("app@sha256:" + "a" * 64, "IfNotPresent"),
    ],
)
def test_image_pull_policy_default_follows_the_tag(image: str, policy: str) -> None:
    pod = _pod({"containers": [{"name": "c", "image": image}]})
    assert pod.spec.containers[0].image_pull_policy == policy


def test_service_target_port_defaults_to_port() -> None:
    (service,) = orbit.load_manifests(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "s"},
            "spec": {"selector": {"a": "b"}, "ports": [{"port": 8080}]},
        }
    )
    assert service.spec.ports[0].target_port == 8080
    assert "targetPort" not in orbit.dump(service)["spec"]["ports"][0]


@pytest.mark.parametrize(
    ("spec", "parallelism", "completions"),
    [
        ({}, 1, 1),
        ({"parallelism": 4}, 4, None),
        ({"completions": 5}, 1, 5),
        ({"parallelism": 1}, 1, None),
        ({"parallelism": 2, "completions": 8}, 2, 8),
    ],
)
def test_job_parallelism_and_completions_defaults(
    spec: dict[str, Any], parallelism: int, completions: int | None
) -> None:
    manifest = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "j"},
        "spec": {
            **spec,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "c", "image": "busybox"}],
                }
            },
        },
    }
    (job,) = orbit.load_manifests(manifest)
    assert isinstance(job, Job)
    assert (job.spec.parallelism, job.spec.completions) == (parallelism, completions)
    assert job.spec.backoff_limit == 6
    assert orbit.load_manifests(orbit.dump(job)) == [job]


def test_cronjob_v1beta1_is_an_alias_of_batch_v1() -> None:
    manifest = {
        "apiVersion": "batch/v1beta1",
        "kind": "CronJob",
        "metadata": {"name": "nightly"},
        "spec": {
            "schedule": "0 3 * * *",
            "jobTemplate": {
                "spec": {
                    "template": {
                        "spec": {
                            "restartPolicy": "OnFailure",
                            "containers": [{"name": "c", "image": "etl:1"}],
                        }
                    }
                }
            },
        },
    }
    (cron,) = orbit.load_manifests(manifest)
    assert isinstance(cron, CronJob)
    assert cron.spec.concurrency_policy == "Allow"
    assert (cron.spec.successful_jobs_history_limit, cron.spec.failed_jobs_history_limit) == (3, 1)
    assert orbit.dump(cron)["apiVersion"] == "batch/v1"


def test_hpa_v2beta2_is_an_alias() -> None:
    manifest = {
        "apiVersion": "autoscaling/v2beta2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "maxReplicas": 10,
        },
    }
    (hpa,) = orbit.load_manifests(manifest)
    assert isinstance(hpa, HorizontalPodAutoscaler)
    assert hpa.spec.min_replicas == 1


def test_unknown_fields_warn_with_their_path() -> None:
    manifest = _pod_manifest(
        {
            "containers": [{"name": "c", "image": "x:1", "imagee": "typo"}],
            "serviceAccountName": "sa",
        }
    )
    manifest["spec"]["bogus"] = {"deep": 1}
    seen: list[str] = []
    orbit.load_manifests(manifest, on_warning=seen.append)
    assert sorted(seen) == sorted(
        [
            'unknown field "spec.containers[0].imagee"',
            'unknown field "spec.bogus"',
            "spec.serviceAccountName: ignored: orbit does not honour this field",
        ]
    )


def test_warnings_go_through_the_warnings_module_by_default() -> None:
    manifest = _pod_manifest({"containers": [{"name": "c", "image": "x:1"}], "zzz": 1})
    with pytest.warns(orbit.ManifestWarning, match=r'unknown field "spec\.zzz"'):
        orbit.load_manifests(manifest)


def test_type_errors_are_all_reported_with_paths() -> None:
    manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": "three",
            "paused": "yes",
            "selector": {"matchLabels": {"a": "b"}},
            "template": {
                "metadata": {"labels": {"a": "b"}},
                "spec": {
                    "containers": [
                        {"name": "c", "image": "x:1", "resources": {"limits": {"memory": "12XB"}}}
                    ]
                },
            },
        },
    }
    with pytest.raises(orbit.ValidationError) as caught:
        orbit.load_manifests(manifest)
    issues = {(i.path, i.message) for i in caught.value.issues}
    assert issues == {
        ("spec.replicas", 'Invalid value: "three": must be an integer'),
        ("spec.paused", 'Invalid value: "yes": must be true or false'),
        ("spec.template.spec.containers[0].resources.limits.memory", 'invalid quantity "12XB"'),
    }
    assert isinstance(caught.value, ValueError)


def test_multi_document_issues_carry_the_document_index() -> None:
    bad = DEPLOYMENT.replace("replicas: 3", "replicas: -1")
    with pytest.raises(orbit.ValidationError) as caught:
        orbit.load_manifests(SERVICE + "---\n" + bad)
    assert [i.path for i in caught.value.issues] == ["[1].spec.replicas"]


def test_unsupported_kind_and_api_version() -> None:
    docs = [
        {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i"}},
        {"apiVersion": "apps/v1beta1", "kind": "Deployment", "metadata": {"name": "d"}},
        {"metadata": {"name": "x"}},
    ]
    with pytest.raises(orbit.ValidationError) as caught:
        orbit.load_manifests(docs)
    paths = [i.path for i in caught.value.issues]
    assert paths == ["[0].kind", "[1].apiVersion", "[2].apiVersion", "[2].kind"]
    assert "Ingress" in caught.value.issues[0].message
    assert "apps/v1" in caught.value.issues[1].message


def test_invalid_yaml_is_a_validation_error() -> None:
    with pytest.raises(orbit.ValidationError, match="invalid YAML"):
        orbit.load_manifests("a: [1, 2\nb: c\n")


def test_missing_file_is_a_validation_error(tmp_path: Path) -> None:
    with pytest.raises(orbit.ValidationError, match="no such file"):
        orbit.load_manifests(tmp_path / "absent.yaml")


def test_dump_leaves_out_defaults_and_round_trips() -> None:
    (deployment,) = orbit.load_manifests(DEPLOYMENT)
    dumped = orbit.dump(deployment)
    assert dumped["apiVersion"] == "apps/v1"
    assert dumped["kind"] == "Deployment"
    assert "status" not in dumped
    assert "strategy" not in dumped["spec"]
    assert "restartPolicy" not in dumped["spec"]["template"]["spec"]
    container = dumped["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"] == {
        "limits": {"memory": "128Mi"},
        "requests": {"memory": "128Mi", "cpu": "250m"},
    }
    assert orbit.load_manifests(dumped) == [deployment]


def _pod_manifest(spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}


def _pod(spec: dict[str, Any]) -> Pod:
    (pod,) = orbit.load_manifests(_pod_manifest(spec))
    assert isinstance(pod, Pod)
    return pod


def test_a_value_the_decoder_rejected_is_not_reported_again_by_validation() -> None:
    manifest = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "maxReplicas": 3,
            "metrics": [{"type": "Foo"}],
        },
    }
    with pytest.raises(orbit.ValidationError) as caught:
        orbit.load_manifests(manifest)
    assert [i.path for i in caught.value.issues] == ["spec.metrics[0].type"]
    assert caught.value.issues[0].message.startswith('Unsupported value: "Foo"')


def test_secret_data_may_wrap_over_lines() -> None:
    wrapped = "aGVsbG8g\nd29ybGQ=\n"
    (secret,) = orbit.load_manifests(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "s"},
            "data": {"greeting": wrapped},
        }
    )
    assert isinstance(secret, Secret)
    assert secret.decoded_data() == {"greeting": b"hello world"}
