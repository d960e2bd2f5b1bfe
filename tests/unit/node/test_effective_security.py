"""The pod's securityContext fills what the container's leaves unset (kubelet rules)."""

from __future__ import annotations

from orbit.api import load_manifests
from orbit.node._launch import effective_security


def _pod(pod_level: dict[str, object] | None, own: dict[str, object] | None) -> object:
    container: dict[str, object] = {"name": "c", "image": "x"}
    if own is not None:
        container["securityContext"] = own
    spec: dict[str, object] = {"containers": [container]}
    if pod_level is not None:
        spec["securityContext"] = pod_level
    return load_manifests(
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}
    )[0]


def test_pod_level_user_and_group_apply_where_the_container_says_nothing() -> None:
    pod = _pod({"runAsUser": 1000, "runAsGroup": 2000, "runAsNonRoot": True}, None)
    merged = effective_security(pod, pod.spec.containers[0])  # type: ignore[attr-defined]
    assert merged is not None
    assert (merged.run_as_user, merged.run_as_group, merged.run_as_non_root) == (1000, 2000, True)


def test_the_containers_own_settings_win() -> None:
    pod = _pod(
        {"runAsUser": 1000, "runAsGroup": 2000}, {"runAsUser": 0, "readOnlyRootFilesystem": True}
    )
    merged = effective_security(pod, pod.spec.containers[0])  # type: ignore[attr-defined]
    assert merged is not None
    assert (merged.run_as_user, merged.run_as_group) == (0, 2000)
    assert merged.read_only_root_filesystem is True


def test_nothing_set_anywhere_is_none() -> None:
    pod = _pod({"fsGroup": 5}, None)
    assert effective_security(pod, pod.spec.containers[0]) is None  # type: ignore[attr-defined]
    bare = _pod(None, None)
    assert effective_security(bare, bare.spec.containers[0]) is None  # type: ignore[attr-defined]
