"""ContainerLaunch building: env resolution and expansion as the kubelet does it,
resources as numbers, ports, GPU ids, mounts and labels."""

from __future__ import annotations

import base64

import pytest
from node_builders import Context, Sources, make_pod

from orbit.api import ConfigMap, ObjectMeta, Secret
from orbit.node import NODE_LABEL, build_launch
from orbit.node._launch import container_env, container_gpu_ids
from orbit.runtimes import (
    CLUSTER_LABEL,
    CONTAINER_LABEL,
    POD_NAME_LABEL,
    POD_UID_LABEL,
    RESTART_COUNT_LABEL,
    PortBinding,
    RuntimeFailure,
)


def sources() -> Sources:
    return (
        Sources()
        .add(
            ConfigMap(
                metadata=ObjectMeta(name="cfg", namespace="default"), data={"a": "1", "b": "2"}
            )
        )
        .add(
            ConfigMap(
                metadata=ObjectMeta(name="more", namespace="default"),
                data={"b": "from-more"},
                binary_data={"bin": base64.b64encode(b"raw").decode()},
            )
        )
        .add(
            Secret(
                metadata=ObjectMeta(name="creds", namespace="default"), string_data={"pw": "s3cret"}
            )
        )
    )


def env_of(container: dict[str, object], **pod: object) -> dict[str, str]:
    spec = make_pod(containers=[{"name": "app", "image": "x", **container}], **pod)  # type: ignore[arg-type]
    return container_env(spec, spec.spec.containers[0], sources())


def test_env_from_then_env_in_order_later_sources_win_and_prefixes_apply() -> None:
    env = env_of(
        {
            "envFrom": [
                {"configMapRef": {"name": "cfg"}},
                {"configMapRef": {"name": "more"}},
                {"secretRef": {"name": "creds"}, "prefix": "S_"},
            ],
            "env": [{"name": "a", "value": "explicit"}],
        }
    )
    assert env == {"a": "explicit", "b": "from-more", "bin": "raw", "S_pw": "s3cret"}
    assert list(env) == ["a", "b", "bin", "S_pw"]


def test_value_from_config_map_and_secret_keys() -> None:
    env = env_of(
        {
            "env": [
                {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "a"}}},
                {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "pw"}}},
                {
                    "name": "GONE",
                    "valueFrom": {
                        "configMapKeyRef": {"name": "nope", "key": "x", "optional": True}
                    },
                },
                {
                    "name": "NOKEY",
                    "valueFrom": {"secretKeyRef": {"name": "creds", "key": "x", "optional": True}},
                },
            ]
        }
    )
    assert env == {"A": "1", "PW": "s3cret"}


@pytest.mark.parametrize(
    ("var", "message"),
    [
        ({"configMapKeyRef": {"name": "nope", "key": "a"}}, 'configmap "nope" not found'),
        (
            {"configMapKeyRef": {"name": "cfg", "key": "zz"}},
            "couldn't find key zz in ConfigMap default/cfg",
        ),
        ({"secretKeyRef": {"name": "nope", "key": "a"}}, 'secret "nope" not found'),
        (
            {"secretKeyRef": {"name": "creds", "key": "zz"}},
            "couldn't find key zz in Secret default/creds",
        ),
    ],
)
def test_missing_references_are_kubernetes_config_errors(
    var: dict[str, object], message: str
) -> None:
    with pytest.raises(RuntimeFailure) as caught:
        env_of({"env": [{"name": "X", "valueFrom": var}]})
    assert caught.value.reason == "CreateContainerConfigError"
    assert caught.value.message == message


def test_missing_env_from_source_is_an_error_unless_optional() -> None:
    assert env_of({"envFrom": [{"configMapRef": {"name": "nope", "optional": True}}]}) == {}
    with pytest.raises(RuntimeFailure, match='configmap "nope" not found'):
        env_of({"envFrom": [{"configMapRef": {"name": "nope"}}]})


def test_field_refs_read_the_pod() -> None:
    def field(path: str) -> dict[str, object]:
        return {"name": path, "valueFrom": {"fieldRef": {"fieldPath": path}}}

    paths = [
        "metadata.name",
        "metadata.namespace",
        "metadata.uid",
        "metadata.labels['app']",
        "metadata.annotations['note']",
        "spec.nodeName",
        "status.podIP",
    ]
    env = env_of(
        {"env": [field(p) for p in paths]},
        labels={"app": "web", "tier": "fe"},
        annotations={"note": "hi"},
    )
    assert env == {
        "metadata.name": "web",
        "metadata.namespace": "default",
        "metadata.uid": "uid-web",
        "metadata.labels['app']": "web",
        "metadata.annotations['note']": "hi",
        "spec.nodeName": "n1",
        "status.podIP": "127.0.0.1",
    }


def test_resource_field_refs_round_up_by_the_divisor_and_default_limits_to_the_node() -> None:
    def resource(name: str, what: str, divisor: str = "1") -> dict[str, object]:
        return {
            "name": name,
            "valueFrom": {"resourceFieldRef": {"resource": what, "divisor": divisor}},
        }

    spec = make_pod(
        containers=[
            {
                "name": "app",
                "image": "x",
                "resources": {
                    "requests": {"cpu": "250m", "memory": "100Mi"},
                    "limits": {"cpu": "1500m"},
                },
                "env": [
                    resource("CPU_LIMIT", "limits.cpu"),
                    resource("CPU_REQ_MILLI", "requests.cpu", "1m"),
                    resource("MEM_REQ_MI", "requests.memory", "1Mi"),
                    resource("MEM_LIMIT", "limits.memory"),
                ],
            }
        ]
    )
    env = container_env(
        spec, spec.spec.containers[0], sources(), allocatable=Context().node_allocatable
    )
    assert env == {
        "CPU_LIMIT": "2",
        "CPU_REQ_MILLI": "250",
        "MEM_REQ_MI": "100",
        "MEM_LIMIT": str(8 * 1024**3),
    }


def test_values_expand_earlier_variables_only_and_undefined_ones_stay() -> None:
    env = env_of(
        {
            "envFrom": [{"configMapRef": {"name": "cfg"}}],
            "env": [
                {"name": "FIRST", "value": "$(a)-$(SECOND)"},
                {"name": "SECOND", "value": "two"},
                {"name": "THIRD", "value": "$(SECOND)/$$(SECOND)/$(MISSING)"},
            ],
        }
    )
    assert env["FIRST"] == "1-$(SECOND)"
    assert env["THIRD"] == "two/$(SECOND)/$(MISSING)"


def test_ports_are_passed_in_and_win_over_the_users_own() -> None:
    ports = (
        PortBinding(name="http", container_port=8080, host_port=41000),
        PortBinding(name="metrics-port", container_port=9090, host_port=41001),
        PortBinding(container_port=7000, host_port=41002),
    )
    spec = make_pod(
        containers=[
            {
                "name": "app",
                "image": "x",
                "env": [
                    {"name": "PORT", "value": "1"},
                    {"name": "URL", "value": "http://x:$(PORT)"},
                ],
            }
        ]
    )
    env = container_env(spec, spec.spec.containers[0], sources(), ports=ports)
    assert env == {
        "PORT": "41000",
        "ORBIT_PORT_HTTP": "41000",
        "ORBIT_PORT_METRICS_PORT": "41001",
        "URL": "http://x:1",
    }
    bridged = container_env(spec, spec.spec.containers[0], sources(), ports=ports, network="bridge")
    assert (bridged["PORT"], bridged["ORBIT_PORT_METRICS_PORT"]) == ("8080", "9090")


def test_a_launch_holds_argv_expanded_resources_labels_and_mounts() -> None:
    pod = make_pod(
        containers=[
            {
                "name": "app",
                "image": "busybox:1.36",
                "command": ["sh", "-c"],
                "args": ["echo $(GREETING) on $(PORT)"],
                "workingDir": "/srv",
                "env": [{"name": "GREETING", "value": "hello"}],
                "resources": {
                    "requests": {"cpu": "250m", "memory": "64Mi"},
                    "limits": {"cpu": "1", "memory": "128Mi"},
                },
                "volumeMounts": [
                    {"name": "data", "mountPath": "/data"},
                    {
                        "name": "cfg",
                        "mountPath": "/etc/app.conf",
                        "subPath": "app.conf",
                        "readOnly": True,
                    },
                ],
            }
        ],
        volumes=[{"name": "data", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "cfg"}}],
    )
    launch = build_launch(
        pod,
        pod.spec.containers[0],
        sources(),
        Context(),
        ports=(PortBinding(container_port=80, host_port=40000),),
        volume_paths={"data": "/state/data", "cfg": "/state/cfg/"},
        restart_count=3,
        state_dir="/state",
    )
    assert launch.argv == ("sh", "-c", "echo hello on 40000")
    assert launch.working_dir == "/srv"
    assert (launch.cpu_request_millis, launch.cpu_limit_millis) == (250, 1000)
    assert (launch.memory_request_bytes, launch.memory_limit_bytes) == (64 * 2**20, 128 * 2**20)
    assert launch.image == "busybox:1.36"
    assert launch.image_pull_policy == "IfNotPresent"
    assert launch.restart_count == 3
    assert [(m.source, m.target, m.read_only, m.volume) for m in launch.mounts] == [
        ("/state/data", "/data", False, "data"),
        ("/state/cfg/app.conf", "/etc/app.conf", True, "cfg"),
    ]
    assert all(m.materialised for m in launch.mounts)  # orbit wrote both: not hostPaths
    assert launch.labels == {
        CLUSTER_LABEL: "c1",
        POD_UID_LABEL: "uid-web",
        POD_NAME_LABEL: "web",
        "orbit.dev/pod-namespace": "default",
        CONTAINER_LABEL: "app",
        NODE_LABEL: "n1",
        RESTART_COUNT_LABEL: "3",
    }
    assert launch.group_add == ()
    with pytest.raises(RuntimeFailure, match='volume "data" not found'):
        build_launch(pod, pod.spec.containers[0], sources(), Context(), volume_paths={})


def test_gpu_ids_are_cut_from_the_pods_devices_in_container_order() -> None:
    def gpus(n: int, name: str) -> dict[str, object]:
        return {"name": name, "image": "x", "resources": {"limits": {"nvidia.com/gpu": str(n)}}}

    pod = make_pod(
        containers=[gpus(1, "a"), {"name": "cpu-only", "image": "x"}, gpus(2, "b")],
        init=[gpus(2, "setup")],
        annotations={"orbit.dev/gpu-devices": "3,5,7"},
    )
    a, cpu_only, b = pod.spec.containers
    assert container_gpu_ids(pod, a) == ("3",)
    assert container_gpu_ids(pod, cpu_only) == ()
    assert container_gpu_ids(pod, b) == ("5", "7")
    assert container_gpu_ids(pod, pod.spec.init_containers[0]) == ("3", "5")
    bare = make_pod(containers=[gpus(1, "a")])
    assert container_gpu_ids(bare, bare.spec.containers[0]) == ()


def test_group_add_is_fs_group_then_supplemental_groups_for_every_container() -> None:
    pod = make_pod(
        containers=[{"name": "app", "image": "x"}],
        init=[{"name": "setup", "image": "x"}],
        securityContext={"fsGroup": 2000, "supplementalGroups": [3000, 2000, 4000]},
    )
    for container in (*pod.spec.init_containers, *pod.spec.containers):
        launch = build_launch(pod, container, sources(), Context())
        assert launch.group_add == (2000, 3000, 4000)  # the kubelet's order, no repeats
    only = make_pod(securityContext={"supplementalGroups": [5]})
    assert build_launch(only, only.spec.containers[0], sources(), Context()).group_add == (5,)


def test_host_paths_are_not_materialised_and_the_pod_ip_is_the_nodes_address() -> None:
    pod = make_pod(
        containers=[
            {
                "name": "app",
                "image": "x",
                "env": [{"name": "ME", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
                "volumeMounts": [
                    {"name": "host", "mountPath": "/host"},
                    {"name": "scratch", "mountPath": "/scratch"},
                ],
            }
        ],
        volumes=[
            {"name": "host", "hostPath": {"path": "/srv"}},
            {"name": "scratch", "emptyDir": {}},
        ],
    )
    launch = build_launch(
        pod,
        pod.spec.containers[0],
        sources(),
        Context(host_ip="10.0.0.5"),
        volume_paths={"host": "/srv", "scratch": "/state/scratch"},
    )
    assert [(m.volume, m.materialised) for m in launch.mounts] == [
        ("host", False),
        ("scratch", True),
    ]
    assert launch.env["ME"] == "10.0.0.5"
