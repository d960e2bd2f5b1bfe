"""node.status.nodeInfo from a runtime's facts (its keys are Kubernetes' JSON names)."""

from __future__ import annotations

from orbit.node._agent import _system_info


def test_runtime_facts_reach_node_info_with_normalised_arch_and_os() -> None:
    info = {
        "kernelVersion": "6.1.0",
        "osImage": "Debian GNU/Linux 12 (bookworm)",
        "containerRuntimeVersion": "docker://20.10.24",
        "architecture": "x86_64",
        "os": "Linux",
        "limits": "cgroup-v1",
    }
    result = _system_info(info, "docker", "amd64", "linux")
    assert result.kernel_version == "6.1.0"
    assert result.os_image == "Debian GNU/Linux 12 (bookworm)"
    assert result.container_runtime_version == "docker://20.10.24"
    assert result.architecture == "amd64"
    assert result.operating_system == "linux"
    assert result.kubelet_version == "orbit"


def test_missing_facts_fall_back_to_the_runtime_kind() -> None:
    result = _system_info({}, "process", "arm64", "linux")
    assert result.container_runtime_version == "process"
    assert result.architecture == "arm64"
    assert result.kernel_version  # this machine's release
