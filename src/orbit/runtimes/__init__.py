"""Container backends behind one protocol: processes (default), Docker, the simulator.

Only the node agent calls a runtime. See :mod:`orbit.runtimes._protocol`.
:class:`DockerRuntime` is loaded on first use, so ``import orbit`` never pays for
aiodocker (and aiohttp) when no Docker node exists.
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from ._process import ProcessRuntime as ProcessRuntime
from ._protocol import CLUSTER_LABEL as CLUSTER_LABEL
from ._protocol import CONTAINER_LABEL as CONTAINER_LABEL
from ._protocol import POD_NAME_LABEL as POD_NAME_LABEL
from ._protocol import POD_NAMESPACE_LABEL as POD_NAMESPACE_LABEL
from ._protocol import POD_UID_LABEL as POD_UID_LABEL
from ._protocol import RESTART_COUNT_LABEL as RESTART_COUNT_LABEL
from ._protocol import ContainerLaunch as ContainerLaunch
from ._protocol import ContainerReport as ContainerReport
from ._protocol import Mount as Mount
from ._protocol import NetworkMode as NetworkMode
from ._protocol import NodeResources as NodeResources
from ._protocol import PortBinding as PortBinding
from ._protocol import ProbeOutcome as ProbeOutcome
from ._protocol import Runtime as Runtime
from ._protocol import RuntimeFailure as RuntimeFailure
from ._protocol import Usage as Usage
from ._sim import BehaviourHook as BehaviourHook
from ._sim import SimRuntime as SimRuntime
from ._sim_behaviour import Behaviour as Behaviour
from ._sim_behaviour import behaviour_from_annotations as behaviour_from_annotations

if _TYPE_CHECKING:
    from ._docker import DockerRuntime as DockerRuntime

_LAZY = frozenset({"DockerRuntime"})


def __getattr__(name: str) -> _Any:
    """Import the Docker runtime (and aiodocker) only when someone asks for it."""
    if name == "DockerRuntime":
        from ._docker import DockerRuntime  # noqa: PLC0415 (lazy on purpose)

        return DockerRuntime
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Behaviour",
    "BehaviourHook",
    "CLUSTER_LABEL",
    "CONTAINER_LABEL",
    "ContainerLaunch",
    "ContainerReport",
    "DockerRuntime",
    "Mount",
    "NetworkMode",
    "NodeResources",
    "POD_NAMESPACE_LABEL",
    "POD_NAME_LABEL",
    "POD_UID_LABEL",
    "PortBinding",
    "ProbeOutcome",
    "ProcessRuntime",
    "RESTART_COUNT_LABEL",
    "Runtime",
    "RuntimeFailure",
    "SimRuntime",
    "Usage",
    "behaviour_from_annotations",
]
