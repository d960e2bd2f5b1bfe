"""orbit: Kubernetes' control loop as an embeddable Python asyncio library.

``import orbit``, hand an :class:`orbit.Cluster` some Kubernetes-shaped manifests and
it stores, schedules, runs and heals them. The API types live in :mod:`orbit.api`;
what this module exports is the stable public surface.
"""

from .api import ManifestWarning as ManifestWarning
from .api import Quantity as Quantity
from .api import dump as dump
from .api import load_manifests as load_manifests
from .api import parse_quantity as parse_quantity
from .cluster import ApplyResult as ApplyResult
from .cluster import Cluster as Cluster
from .errors import AlreadyExists as AlreadyExists
from .errors import Conflict as Conflict
from .errors import Issue as Issue
from .errors import NotFound as NotFound
from .errors import OrbitError as OrbitError
from .errors import ResourceExpired as ResourceExpired
from .errors import UnsupportedKind as UnsupportedKind
from .errors import ValidationError as ValidationError

__all__ = [
    "AlreadyExists",
    "ApplyResult",
    "Cluster",
    "Conflict",
    "Issue",
    "ManifestWarning",
    "NotFound",
    "OrbitError",
    "Quantity",
    "ResourceExpired",
    "UnsupportedKind",
    "ValidationError",
    "dump",
    "load_manifests",
    "parse_quantity",
]

__version__ = "0.1.0"
