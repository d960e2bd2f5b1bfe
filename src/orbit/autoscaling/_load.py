"""A load model for what-if runs: demand over (virtual) time, served by ready pods.

The HPA reads each pod's cpu use from its runtime. In the simulator a pod's use is
whatever its :class:`~orbit.runtimes.Behaviour` says, so a what-if run needs a model
of *why* pods are busy: a demand of ``curve(t)`` cores (``t`` in seconds on the
cluster's clock, since the simulation start under :func:`orbit.simulate`) that a
Service spreads evenly over the **ready** pods a selector matches, as a load balancer
routes only to ready endpoints. More ready pods, less each; a pod that is not ready
(starting, failing its probe, terminating) serves nothing and idles. The sum of what
the serving pods use is the demand (as long as one is ready), which is what makes the
HPA's arithmetic ``ceil(current * usage / target)`` converge as it does in life.

:class:`SharedLoad` is that model; its :meth:`SharedLoad.behaviour` is a
:class:`~orbit.runtimes.SimRuntime` behaviour hook (also for the nodes a
:class:`~orbit.autoscaling.SimNodeProvider` makes). The curve builders are pure:
:func:`diurnal` is a day of traffic (a trough at night, a peak in the afternoon, a
little seeded noise) plus :class:`Spike` bursts, which :func:`random_spikes` draws
from a seed. Same seed, same day.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

import attrs

from orbit.api import Pod, Selector, parse_selector
from orbit.clock import Clock, current_clock
from orbit.errors import NotFound
from orbit.runtimes import Behaviour, ContainerLaunch, behaviour_from_annotations
from orbit.store import Store

__all__ = ["Curve", "Diurnal", "SharedLoad", "Spike", "diurnal", "is_serving", "random_spikes"]

Curve = Callable[[float], float]
"""Cores of demand at ``t`` seconds (since the simulation start)."""

DAY_S = 86_400.0


def is_serving(pod: Pod) -> bool:
    """Whether a load balancer would send ``pod`` traffic: Running, Ready and not
    terminating (the endpoints controller's rule for a ready address)."""
    if pod.metadata.deletion_timestamp is not None or pod.status.phase != "Running":
        return False
    ready = pod.status.condition("Ready")
    return ready is not None and ready.status == "True"


class SharedLoad:
    """``curve(t)`` cores of demand spread evenly over the ready pods ``selector`` matches.

    Each serving pod uses ``demand(t) / ready pods`` cores, split evenly over its app
    containers (or all on ``container`` when named); init containers and pods that do
    not serve keep their annotation behaviour, except that a matching pod which is not
    ready uses ``idle_cores``. Whether a pod serves is decided at each usage reading, so
    readiness changes and relabelled pods take effect at once.

    Args:
        selector: a label selector string (``"app=web"``) choosing the serving pods.
        curve: cores of demand, a constant or a function of ``t`` (see :data:`Curve`);
            settable later (``load.curve = 0.1``) to change the load mid-run.
        namespace: only pods of this namespace serve (None: every namespace).
        container: the container that takes the load (None: all of the pod's).
        idle_cores: what a matching pod that is not ready uses.
        store: where pods are read; or :meth:`bind` it once the cluster exists.
        clock: whose ``monotonic()`` is ``t`` (default: the running loop's clock,
            whose reading under :func:`orbit.simulate` is seconds since the start).
        origin_s: the clock reading that is ``t = 0`` (pass ``clock.monotonic()`` to
            start the curve now on a real clock).
    """

    def __init__(
        self,
        selector: str,
        curve: Curve | float,
        *,
        namespace: str | None = None,
        container: str | None = None,
        idle_cores: float = 0.0,
        store: Store | None = None,
        clock: Clock | None = None,
        origin_s: float = 0.0,
    ) -> None:
        if idle_cores < 0:
            raise ValueError("idle_cores must not be negative")
        self._selector = selector
        self._compiled: Selector = parse_selector(selector)
        self.curve = curve
        self.namespace = namespace
        self.container = container
        self.idle_cores = idle_cores
        self.store = store
        self.clock = clock
        self.origin_s = origin_s
        self._ready_at: tuple[str, int] = ("", 0)  # (store resourceVersion, ready pods)

    @property
    def selector(self) -> str:
        """The label selector choosing the serving pods (fixed at construction)."""
        return self._selector

    def bind(self, store: Store, clock: Clock | None = None) -> SharedLoad:
        """Read pods from ``store`` (and time from ``clock`` when given); returns self."""
        self.store = store
        if clock is not None:
            self.clock = clock
        return self

    def now(self) -> float:
        """``t``: seconds since ``origin_s`` on the clock."""
        return (self.clock or current_clock()).monotonic() - self.origin_s

    def demand(self, t: float) -> float:
        """Cores of demand at ``t`` (never negative)."""
        curve = self.curve
        value = curve(t) if callable(curve) else curve
        return max(0.0, float(value))

    def ready_pods(self) -> int:
        """How many pods serve now (counted once per store revision)."""
        store = self._bound()
        version = store.resource_version
        if self._ready_at[0] != version:
            pods = store.list(Pod, namespace=self.namespace, label_selector=self._selector).items
            self._ready_at = (version, sum(1 for pod in pods if is_serving(pod)))
        return self._ready_at[1]

    def per_pod(self, t: float | None = None) -> float:
        """Cores each serving pod uses at ``t`` (default: now): the demand over the
        ready pods, or the whole demand when none is ready (what one would get)."""
        return self.demand(self.now() if t is None else t) / max(1, self.ready_pods())

    def behaviour(self, launch: ContainerLaunch) -> Behaviour:
        """The SimRuntime behaviour hook: the annotations' behaviour, with cpu use
        following the load for an app container of a matching pod."""
        base = behaviour_from_annotations(launch.annotations, launch.name, init=launch.init)
        if launch.init or (self.container is not None and launch.name != self.container):
            return base
        if self.namespace is not None and launch.namespace != self.namespace:
            return base
        return attrs.evolve(base, cpu_cores=lambda elapsed: self._usage(launch, base, elapsed))

    def _usage(self, launch: ContainerLaunch, base: Behaviour, elapsed: float) -> float:
        try:
            pod = self._bound().get(Pod, launch.pod_name, launch.namespace)
        except NotFound:
            return self.idle_cores
        if pod.metadata.uid != launch.pod_uid or not self._compiled.matches(pod.metadata.labels):
            own = base.cpu_cores  # not (or no longer) a serving pod: its own behaviour
            if own is None:
                return launch.cpu_request_millis / 1000
            return own(elapsed) if callable(own) else own
        if not is_serving(pod):
            return self.idle_cores
        sharing = 1 if self.container is not None else max(1, len(pod.spec.containers))
        return self.per_pod() / sharing

    def _bound(self) -> Store:
        if self.store is None:
            raise RuntimeError("SharedLoad has no store: pass store= or call bind(store)")
        return self.store


@attrs.frozen
class Spike:
    """A burst of ``height`` extra cores from ``start_s`` for ``duration_s`` seconds."""

    start_s: float
    duration_s: float
    height: float

    def __call__(self, t: float) -> float:
        """The spike's cores at ``t``: ``height`` within ``[start, start + duration)``."""
        return self.height if self.start_s <= t < self.start_s + self.duration_s else 0.0


def random_spikes(
    seed: int,
    *,
    count: int,
    span_s: float = DAY_S,
    duration_s: tuple[float, float] = (120.0, 900.0),
    height: tuple[float, float] = (0.5, 2.0),
) -> tuple[Spike, ...]:
    """``count`` spikes drawn from ``random.Random(seed)``, sorted by start: each starts
    uniformly in ``[0, span_s)`` and has a uniform duration and height in the ranges."""
    if count < 0 or span_s <= 0:
        raise ValueError("count must be >= 0 and span_s > 0")
    rng = random.Random(seed)
    spikes = [
        Spike(rng.uniform(0, span_s), rng.uniform(*duration_s), rng.uniform(*height))
        for _ in range(count)
    ]
    return tuple(sorted(spikes, key=lambda s: s.start_s))


@attrs.frozen
class Diurnal:
    """A day of traffic; see :func:`diurnal`, which builds and documents it."""

    trough: float
    peak: float
    peak_hour: float = 15.0
    start_hour: float = 0.0
    day_s: float = DAY_S
    spikes: tuple[Spike, ...] = ()
    noise: float = 0.0
    noise_period_s: float = 60.0
    seed: int = 0

    def base(self, t: float) -> float:
        """The smooth day without noise or spikes: a raised cosine, ``peak`` at
        ``peak_hour`` and ``trough`` twelve hours away."""
        hour = self.start_hour + 24.0 * t / self.day_s
        phase = 2.0 * math.pi * (hour - self.peak_hour) / 24.0
        return self.trough + (self.peak - self.trough) * (1.0 + math.cos(phase)) / 2.0

    def wobble(self, t: float) -> float:
        """The noise factor at ``t``: ``1 + U(-noise, noise)``, one draw per
        ``noise_period_s`` slot, a pure function of (seed, slot)."""
        if self.noise <= 0:
            return 1.0
        slot = math.floor(t / self.noise_period_s)
        return 1.0 + random.Random(f"{self.seed}:{slot}").uniform(-self.noise, self.noise)

    def __call__(self, t: float) -> float:
        """Cores of demand at ``t``: the noisy base plus every spike under way."""
        spikes = sum(spike(t) for spike in self.spikes)
        return max(0.0, self.base(t) * self.wobble(t) + spikes)


def diurnal(
    trough: float,
    peak: float,
    *,
    peak_hour: float = 15.0,
    start_hour: float = 0.0,
    day_s: float = DAY_S,
    spikes: Sequence[Spike] = (),
    noise: float = 0.0,
    noise_period_s: float = 60.0,
    seed: int = 0,
) -> Diurnal:
    """A day-shaped demand curve (cores at ``t`` seconds since the start).

    The base is a raised cosine over 24 hours: ``peak`` cores at ``peak_hour`` (15:00,
    the afternoon), ``trough`` twelve hours away (03:00). ``start_hour`` is the hour
    of the day ``t = 0`` stands for; ``day_s`` the length of a day (shorter for quick
    runs). The base is multiplied by ``1 + U(-noise, noise)``, drawn once per
    ``noise_period_s`` from ``seed`` (request rates are never smooth), then every
    :class:`Spike` adds its height while it lasts. Negative totals read 0.
    """
    if not 0 <= trough <= peak:
        raise ValueError(f"need 0 <= trough ({trough}) <= peak ({peak})")
    if not 0 <= noise < 1:
        raise ValueError(f"noise must be within [0, 1), not {noise}")
    if day_s <= 0 or noise_period_s <= 0:
        raise ValueError("day_s and noise_period_s must be positive")
    return Diurnal(
        trough=trough,
        peak=peak,
        peak_hour=peak_hour,
        start_hour=start_hour,
        day_s=day_s,
        spikes=tuple(spikes),
        noise=noise,
        noise_period_s=noise_period_s,
        seed=seed,
    )
