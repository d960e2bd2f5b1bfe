"""The simulator's behaviour model: what a simulated container does, as pure data.

A :class:`Behaviour` says how long a container takes to start, how long it runs and
how it ends (exit code, a crash, OOMKilled), when it answers probes, what cpu and memory
it uses over time, whether its image is missing, how it reacts to SIGTERM and what it
logs. :class:`~orbit.runtimes.SimRuntime` reads one per container, from the pod's
``sim.orbit.dev/*`` annotations (:func:`behaviour_from_annotations`) or from a Python
hook, and turns it into timers; the functions here answer the questions the runtime asks
(when does it end, what does a probe say, what is its usage at ``t``) from the data
alone, so they are unit-testable without a loop or a clock.

Annotations (values are strings; ``<c>`` is a container name; a per-container key
``sim.orbit.dev/<c>.<field>`` wins over ``sim.orbit.dev/<field>``)::

    startup-seconds          delay before the container runs            (default 0)
    run-seconds              run time, then exit; "forever" = until stopped
                             (default: forever; 0 for init containers)
    exit-code                exit code at the end of run-seconds        (default 0)
    crash-after-seconds      exit with exit-code (1 if that is 0) after N seconds
    crash-count              crash only on the first N starts (restartCount < N)
    ready-after-seconds      probes fail until N seconds after start    (default 0)
    unhealthy-after-seconds  probes fail from N seconds after start (a hang)
    cpu                      cores in use, a quantity ("250m")          (default: request)
    memory                   bytes in use, a quantity ("300Mi")         (default: request);
                             above the memory limit: OOMKilled (137) at start
    fail-image               "true": the image cannot be pulled (ErrImagePull)
    ignore-sigterm           "true": stop waits the grace period, then kills (137)
    shutdown-seconds         time to exit after SIGTERM (beyond the grace: killed)
    sigterm-exit-code        exit code when it exits on SIGTERM          (default 143)
    jitter                   fraction 0..1: durations scaled by 1 + U(-j, j)
    logs                     the container's output, lines separated by newlines
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from decimal import Decimal

import attrs

from orbit.api import Probe, parse_quantity
from orbit.errors import ValidationError

from ._protocol import ContainerLaunch, ProbeOutcome, RuntimeFailure

__all__ = [
    "ANNOTATION_PREFIX",
    "Behaviour",
    "ExitPlan",
    "behaviour_from_annotations",
    "jittered",
    "plan_exit",
    "plan_stop",
    "probe_outcome",
    "usage_at",
]

ANNOTATION_PREFIX = "sim.orbit.dev/"

CpuCurve = float | Callable[[float], float]
"""Cores in use: a constant, or a function of seconds since the container started."""
MemoryCurve = int | Callable[[float], int]
"""Bytes in use: a constant, or a function of seconds since the container started."""


def _non_negative(_: object, attribute: attrs.Attribute[float], value: float | None) -> None:
    if value is not None and not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"{attribute.name} must be a finite number >= 0, not {value!r}")


def _exit_code(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not 0 <= value <= 255:
        raise ValueError(f"{attribute.name} must be within 0..255, not {value!r}")


def _fraction(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0 <= value <= 1:
        raise ValueError(f"{attribute.name} must be within 0..1, not {value!r}")


@attrs.frozen(kw_only=True)
class Behaviour:
    """What one simulated container does; every duration in seconds after its start.

    ``run_s=None`` runs until stopped. ``crash_after_s`` ends it earlier with
    ``exit_code`` (1 when that is 0), only while the launch's ``restart_count`` is below
    ``crash_count`` when that is set. Probes (liveness, readiness and startup alike)
    succeed from ``ready_after_s`` until ``unhealthy_after_s``. ``cpu_cores`` and
    ``memory_bytes`` default to the container's requests; a constant memory above the
    memory limit is OOMKilled at start (a curve is reported, never OOM-checked).
    """

    startup_s: float = attrs.field(default=0.0, validator=_non_negative)
    run_s: float | None = attrs.field(default=None, validator=_non_negative)
    exit_code: int = attrs.field(default=0, validator=_exit_code)
    crash_after_s: float | None = attrs.field(default=None, validator=_non_negative)
    crash_count: int | None = None
    ready_after_s: float = attrs.field(default=0.0, validator=_non_negative)
    unhealthy_after_s: float | None = attrs.field(default=None, validator=_non_negative)
    cpu_cores: CpuCurve | None = None
    memory_bytes: MemoryCurve | None = None
    fail_image: bool = False
    ignore_sigterm: bool = False
    shutdown_s: float = attrs.field(default=0.0, validator=_non_negative)
    sigterm_exit_code: int = attrs.field(default=143, validator=_exit_code)
    jitter: float = attrs.field(default=0.0, validator=_fraction)
    log_lines: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class ExitPlan:
    """How a container ends on its own: ``after_s`` seconds after it started."""

    after_s: float
    exit_code: int
    reason: str
    signal: int = 0
    message: str = ""


# --- annotations -------------------------------------------------------------------------


def _seconds(key: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (value >= 0 and math.isfinite(value)):
        raise _bad(key, text, "a number of seconds >= 0")
    return value


def _run_seconds(key: str, text: str) -> float | None:
    if text.strip().lower() in {"forever", "inf", "infinity", "never"}:
        return None
    return _seconds(key, text)


def _integer(low: int, high: int) -> Callable[[str, str], int]:
    def parse(key: str, text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise _bad(key, text, f"an integer within {low}..{high}") from None
        if not low <= value <= high:
            raise _bad(key, text, f"an integer within {low}..{high}")
        return value

    return parse


def _boolean(key: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"true", "yes", "1"}:
        return True
    if lowered in {"false", "no", "0", ""}:
        return False
    raise _bad(key, text, '"true" or "false"')


def _quantity(key: str, text: str) -> Decimal:
    try:
        value = parse_quantity(text)
    except ValidationError:
        raise _bad(key, text, 'a quantity such as "250m" or "256Mi"') from None
    if value < 0:
        raise _bad(key, text, "a quantity >= 0")
    return value


def _fraction_text(key: str, text: str) -> float:
    value = _seconds(key, text) if text.strip() else 0.0
    if value > 1:
        raise _bad(key, text, "a fraction within 0..1")
    return value


def _bad(key: str, text: str, expected: str) -> RuntimeFailure:
    return RuntimeFailure("CreateContainerError", f"annotation {key}: {text!r} is not {expected}")


_FIELDS: dict[str, tuple[str, Callable[[str, str], object]]] = {
    "startup-seconds": ("startup_s", _seconds),
    "run-seconds": ("run_s", _run_seconds),
    "exit-code": ("exit_code", _integer(0, 255)),
    "crash-after-seconds": ("crash_after_s", _seconds),
    "crash-count": ("crash_count", _integer(0, 2**31 - 1)),
    "ready-after-seconds": ("ready_after_s", _seconds),
    "unhealthy-after-seconds": ("unhealthy_after_s", _seconds),
    "cpu": ("cpu_cores", lambda k, t: float(_quantity(k, t))),
    "memory": ("memory_bytes", lambda k, t: int(_quantity(k, t))),
    "fail-image": ("fail_image", _boolean),
    "ignore-sigterm": ("ignore_sigterm", _boolean),
    "shutdown-seconds": ("shutdown_s", _seconds),
    "sigterm-exit-code": ("sigterm_exit_code", _integer(0, 255)),
    "jitter": ("jitter", _fraction_text),
    "logs": ("log_lines", lambda _k, t: tuple(t.splitlines())),
}


def behaviour_from_annotations(
    annotations: Mapping[str, str], container: str, *, init: bool = False
) -> Behaviour:
    """The behaviour the pod's ``sim.orbit.dev/*`` annotations give ``container``.

    A key naming a container (``sim.orbit.dev/<container>.<field>``) wins over the
    pod-wide key. An init container without ``run-seconds`` completes at once (an init
    container that ran forever would hold its pod back for good).

    Raises:
        RuntimeFailure: ``CreateContainerError`` naming the annotation when a value does
            not parse or a ``sim.orbit.dev/`` key names no known field.
    """
    shared: dict[str, object] = {}
    own: dict[str, object] = {}
    for key, text in annotations.items():
        if not key.startswith(ANNOTATION_PREFIX):
            continue
        target, _, field = key[len(ANNOTATION_PREFIX) :].rpartition(".")
        if field not in _FIELDS:
            known = ", ".join(sorted(_FIELDS))
            message = f"annotation {key}: unknown simulator field {field!r} (known: {known})"
            raise RuntimeFailure("CreateContainerError", message)
        attribute, parse = _FIELDS[field]
        value = parse(key, text)
        if not target:
            shared[attribute] = value
        elif target == container:
            own[attribute] = value
    values = {**shared, **own}
    if init and "run_s" not in values:
        values["run_s"] = 0.0
    return Behaviour(**values)  # type: ignore[arg-type]


# --- the model ---------------------------------------------------------------------------


def jittered(behaviour: Behaviour, rng: random.Random) -> Behaviour:
    """``behaviour`` with each duration scaled by its own draw of ``1 + U(-j, j)``.

    Draws happen in a fixed order (startup, run, crash, ready), one per duration even
    when unset, so the same ``rng`` state always gives the same result.
    """
    j = behaviour.jitter
    if j <= 0:
        return behaviour
    factors = [1.0 + rng.uniform(-j, j) for _ in range(4)]

    def scale(value: float | None, factor: float) -> float | None:
        return None if value is None else value * factor

    return attrs.evolve(
        behaviour,
        startup_s=behaviour.startup_s * factors[0],
        run_s=scale(behaviour.run_s, factors[1]),
        crash_after_s=scale(behaviour.crash_after_s, factors[2]),
        ready_after_s=behaviour.ready_after_s * factors[3],
    )


def plan_exit(behaviour: Behaviour, launch: ContainerLaunch) -> ExitPlan | None:
    """How and when the container ends on its own, or None if it runs until stopped."""
    memory = behaviour.memory_bytes
    limit = launch.memory_limit_bytes
    if isinstance(memory, int) and limit and memory > limit:
        message = f"simulated memory use {memory} bytes exceeds the limit of {limit}"
        return ExitPlan(after_s=0.0, exit_code=137, reason="OOMKilled", signal=9, message=message)
    plan = None
    if behaviour.run_s is not None:
        code = behaviour.exit_code
        plan = ExitPlan(after_s=behaviour.run_s, exit_code=code, reason=_reason(code))
    crash = behaviour.crash_after_s
    if behaviour.crash_count is not None and launch.restart_count >= behaviour.crash_count:
        crash = None
    if crash is not None and (plan is None or crash < plan.after_s):
        code = behaviour.exit_code or 1
        plan = ExitPlan(after_s=crash, exit_code=code, reason="Error")
    return plan


def plan_stop(behaviour: Behaviour, grace_s: float) -> ExitPlan:
    """How the container ends when sent SIGTERM now, with ``grace_s`` before SIGKILL."""
    grace_s = max(0.0, grace_s)
    if behaviour.ignore_sigterm or behaviour.shutdown_s > grace_s:
        return ExitPlan(after_s=grace_s, exit_code=137, reason="Error", signal=9)
    code = behaviour.sigterm_exit_code
    return ExitPlan(after_s=behaviour.shutdown_s, exit_code=code, reason=_reason(code), signal=15)


def probe_outcome(behaviour: Behaviour, elapsed_s: float, probe: Probe) -> ProbeOutcome:
    """A probe's answer ``elapsed_s`` after start: healthy from ready-after to unhealthy-after.

    Liveness, readiness and startup probes get the same answer (the runtime is not told
    which it runs); a slow starter fails liveness too until it is ready, as in life.
    """
    if elapsed_s < behaviour.ready_after_s:
        return ProbeOutcome(success=False, message=_failure(probe, "not ready yet"))
    unhealthy = behaviour.unhealthy_after_s
    if unhealthy is not None and elapsed_s >= unhealthy:
        return ProbeOutcome(success=False, message=_failure(probe, "unhealthy"))
    return ProbeOutcome(success=True)


def usage_at(behaviour: Behaviour, elapsed_s: float, launch: ContainerLaunch) -> tuple[float, int]:
    """(cores, bytes) in use ``elapsed_s`` after start; the requests when not modelled."""
    cpu = behaviour.cpu_cores
    memory = behaviour.memory_bytes
    cores = launch.cpu_request_millis / 1000 if cpu is None else cpu
    used = launch.memory_request_bytes if memory is None else memory
    cores = cores(elapsed_s) if callable(cores) else cores
    used = used(elapsed_s) if callable(used) else used
    return max(0.0, float(cores)), max(0, int(used))


def _reason(exit_code: int) -> str:
    return "Completed" if exit_code == 0 else "Error"


def _failure(probe: Probe, state: str) -> str:
    if probe.http_get is not None:
        return f"HTTP probe failed with statuscode: 503 (simulated: {state})"
    if probe.tcp_socket is not None:
        return f"dial tcp: connect: connection refused (simulated: {state})"
    if probe.exec is not None:
        return f"command exited with 1 (simulated: {state})"
    return f"probe failed (simulated: {state})"
