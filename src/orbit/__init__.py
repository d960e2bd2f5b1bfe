"""orbit: Kubernetes' control loop as an embeddable Python asyncio library.

``import orbit``, hand an :class:`orbit.Cluster` some Kubernetes-shaped manifests and
it stores, schedules, runs and heals them. The API types live in :mod:`orbit.api`;
what this module exports is the stable public surface.
"""

from importlib import import_module as _import_module
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from .api import ManifestWarning as ManifestWarning
from .api import Quantity as Quantity
from .api import dump as dump
from .api import load_manifests as load_manifests
from .api import parse_quantity as parse_quantity
from .errors import AlreadyExists as AlreadyExists
from .errors import Conflict as Conflict
from .errors import Forbidden as Forbidden
from .errors import Issue as Issue
from .errors import NotFound as NotFound
from .errors import OrbitError as OrbitError
from .errors import ResourceExpired as ResourceExpired
from .errors import RolloutFailed as RolloutFailed
from .errors import TooManyRequests as TooManyRequests
from .errors import UnsupportedKind as UnsupportedKind
from .errors import ValidationError as ValidationError

if _TYPE_CHECKING:
    from ._cluster_services import ServiceEndpoint as ServiceEndpoint
    from .autoscaling import DockerNodeProvider as DockerNodeProvider
    from .autoscaling import NodePool as NodePool
    from .autoscaling import NodeProvider as NodeProvider
    from .autoscaling import SimNodeProvider as SimNodeProvider
    from .cluster import ApplyResult as ApplyResult
    from .cluster import Cluster as Cluster
    from .node import Node as Node
    from .node import RestartBackoff as RestartBackoff
    from .runtimes import DockerRuntime as DockerRuntime
    from .runtimes import ProcessRuntime as ProcessRuntime
    from .runtimes import SimRuntime as SimRuntime
    from .simulation import simulate as simulate

_LAZY_FROM = {
    "ApplyResult": ".cluster",
    "Cluster": ".cluster",
    "DockerNodeProvider": ".autoscaling",
    "DockerRuntime": ".runtimes",
    "Node": ".node",
    "NodePool": ".autoscaling",
    "NodeProvider": ".autoscaling",
    "ProcessRuntime": ".runtimes",
    "RestartBackoff": ".node",
    "ServiceEndpoint": "._cluster_services",
    "SimNodeProvider": ".autoscaling",
    "SimRuntime": ".runtimes",
    "simulate": ".simulation",
}
_LAZY = frozenset(_LAZY_FROM)


def __getattr__(name: str) -> _Any:
    """The cluster, the runtimes and the autoscalers load on first use, so a program
    that needs only the API types and errors (the ``orbit`` command talking to a
    running cluster) starts fast; ``orbit.DockerRuntime`` loads aiodocker then too."""
    module = _LAZY_FROM.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY)


__all__ = [
    "AlreadyExists",
    "ApplyResult",
    "Cluster",
    "Conflict",
    "DockerNodeProvider",
    "DockerRuntime",
    "Forbidden",
    "Issue",
    "ManifestWarning",
    "Node",
    "NodePool",
    "NodeProvider",
    "NotFound",
    "OrbitError",
    "ProcessRuntime",
    "Quantity",
    "ResourceExpired",
    "RestartBackoff",
    "RolloutFailed",
    "ServiceEndpoint",
    "SimNodeProvider",
    "SimRuntime",
    "TooManyRequests",
    "UnsupportedKind",
    "ValidationError",
    "dump",
    "load_manifests",
    "parse_quantity",
    "simulate",
]

__version__ = "0.1.0"
