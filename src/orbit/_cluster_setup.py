"""What a new :class:`orbit.Cluster` starts with, as kube-apiserver and
kube-controller-manager start with their defaults: the admission chain, orbit's
controllers and the ``--controllers`` selection among them, the seed, the cluster id
and the local node's name. ``Cluster.__init__`` (:mod:`orbit.cluster`) calls these.
"""

from __future__ import annotations

import asyncio
import random
import socket
import uuid
from collections.abc import Iterable, Sequence

from orbit.admission import default_admission
from orbit.clock import Clock
from orbit.controllers import (
    CronJobController,
    DefaultTolerationSeconds,
    DeploymentController,
    DisruptionController,
    EndpointsController,
    GarbageCollector,
    JobController,
    NamespaceController,
    PodGCController,
    Reconciler,
    ReplicaSetController,
    ResourceQuotaController,
    TaintEvictionController,
)
from orbit.store import AdmissionPlugin, Store

__all__ = [
    "in_simulation",
    "admission_chain",
    "default_controllers",
    "host_name",
    "new_cluster_id",
    "selected",
    "simulation_seed",
]


def admission_chain(default_toleration_seconds: int | None) -> list[AdmissionPlugin]:
    """orbit's admission plugins, with DefaultTolerationSeconds before ResourceQuota
    (which charges the object last, as it will be stored) unless it is off (None)."""
    plugins = list(default_admission())
    if default_toleration_seconds is not None:
        at = next((i for i, p in enumerate(plugins) if p.name == "ResourceQuota"), len(plugins))
        plugins.insert(at, DefaultTolerationSeconds(default_toleration_seconds))
    return plugins


def default_controllers(
    store: Store,
    clock: Clock,
    *,
    default_toleration_seconds: int | None,
    terminated_pod_gc_threshold: int,
) -> list[Reconciler]:
    """Every controller orbit runs unless ``controllers=`` leaves it out."""
    return [
        ReplicaSetController(store, clock),
        DeploymentController(store, clock),
        GarbageCollector(store, clock),
        NamespaceController(store, clock),
        JobController(store, clock, collect_orphans=False),
        CronJobController(store, clock),
        ResourceQuotaController(store, clock),
        TaintEvictionController(
            store, clock, default_toleration_seconds=default_toleration_seconds
        ),
        PodGCController(store, clock, terminated_pod_threshold=terminated_pod_gc_threshold),
        DisruptionController(store, clock),
        EndpointsController(store, clock),
    ]


def _controller_key(name: str) -> str:
    """``job-controller``, ``job`` and ``Job`` all name the same controller;
    ``garbage-collector`` and ``garbagecollector`` too."""
    return name.lower().removesuffix("-controller").replace("-", "")


def selected(defaults: Sequence[Reconciler], wanted: Iterable[str]) -> list[Reconciler]:
    """The default controllers ``wanted`` names (kube-controller-manager's rules)."""
    wanted = list(wanted)
    known = {_controller_key(r.name): r for r in defaults}
    chosen: set[str] = set()
    for item in wanted:
        off = item.startswith("-")
        key = _controller_key(item.lstrip("-"))
        if key == "*":
            if off:
                raise ValueError('"-*" is not a controller selection; leave "*" out instead')
            chosen.update(known)
            continue
        if key not in known:
            names = ", ".join(sorted(known))
            raise ValueError(f'no controller named "{item.lstrip("-")}" (orbit has: {names})')
        (chosen.discard if off else chosen.add)(key)
    for item in wanted:  # "-x" wins over "*" wherever it stands
        if item.startswith("-"):
            chosen.discard(_controller_key(item[1:]))
    return [r for r in defaults if _controller_key(r.name) in chosen]


def in_simulation() -> bool:
    """Whether the running loop is orbit's simulation loop (duck-typed: it carries
    ``orbit_clock``)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return False
    return getattr(loop, "orbit_clock", None) is not None


def simulation_seed() -> int | None:
    """The running simulation loop's seed (duck-typed: ``orbit_seed``), else None."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    seed = getattr(loop, "orbit_seed", None)
    return seed if isinstance(seed, int) else None


def new_cluster_id(seed: int | None) -> str:
    """A new uuid4, derived from ``seed`` when there is one (a seeded run replays)."""
    if seed is None:
        return str(uuid.uuid4())
    return str(uuid.UUID(int=random.Random(seed).getrandbits(128), version=4))


def host_name() -> str:
    """The local node's name: the host's name, lower-cased (node names are DNS names)."""
    return socket.gethostname().lower() or "localhost"
