"""Crash backoff, as the kubelet computes it: pure arithmetic over a crash streak.

A container that exits and is to be restarted (its pod's restartPolicy says so) is
restarted at once the first time, then after 10 s, 20 s, 40 s... doubling up to 300 s.
A container that ran for 10 minutes before it exited starts a new streak (its next
restart is immediate again). The same delays pace retries of an image pull
(``ImagePullBackOff``) and of a container that could not be created.

The numbers are a :class:`RestartBackoff` (``Cluster(restart_backoff=...)``); a pod may
override them with annotations (tests and demos want short delays without touching the
cluster)::

    orbit.dev/restart-backoff-initial-seconds: "1"     # the second restart's delay
    orbit.dev/restart-backoff-max-seconds: "5"         # the cap
    orbit.dev/restart-backoff-reset-seconds: "60"      # run this long to reset the streak
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import attrs

__all__ = [
    "BACKOFF_INITIAL_ANNOTATION",
    "BACKOFF_MAX_ANNOTATION",
    "BACKOFF_RESET_ANNOTATION",
    "RestartBackoff",
    "go_duration",
]

BACKOFF_INITIAL_ANNOTATION = "orbit.dev/restart-backoff-initial-seconds"
BACKOFF_MAX_ANNOTATION = "orbit.dev/restart-backoff-max-seconds"
BACKOFF_RESET_ANNOTATION = "orbit.dev/restart-backoff-reset-seconds"


def _non_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"{attribute.name} must be a finite number >= 0, not {value!r}")


@attrs.frozen(kw_only=True)
class RestartBackoff:
    """How long a crashing container waits before its next restart.

    Attributes:
        initial_s: the delay before the second restart of a streak (the first is
            immediate); Kubernetes: 10 s.
        max_s: the cap the doubling stops at; Kubernetes: 300 s.
        reset_after_s: a container that ran at least this long before exiting starts a
            new streak; Kubernetes: 10 minutes.
    """

    initial_s: float = attrs.field(default=10.0, validator=_non_negative)
    max_s: float = attrs.field(default=300.0, validator=_non_negative)
    reset_after_s: float = attrs.field(default=600.0, validator=_non_negative)

    def delay_s(self, crashes: int) -> float:
        """The wait before the restart that follows the ``crashes``-th exit of a streak
        (1-based): 0, initial, 2*initial, 4*initial... capped at ``max_s``."""
        if crashes <= 1:
            return 0.0
        exponent = min(crashes - 2, 64)  # 2**64 * anything > any sane cap
        return min(self.max_s, self.initial_s * 2.0**exponent)

    def streak_after(self, crashes: int, ran_for_s: float) -> int:
        """The streak length once a container that ran ``ran_for_s`` exits, given the
        streak before (``crashes``): a long enough run resets it to 1."""
        if ran_for_s >= self.reset_after_s:
            return 1
        return crashes + 1

    def for_pod(self, annotations: Mapping[str, str]) -> RestartBackoff:
        """This policy with the pod's ``orbit.dev/restart-backoff-*`` overrides; values
        that are not non-negative numbers are ignored."""
        changes: dict[str, float] = {}
        for key, field in (
            (BACKOFF_INITIAL_ANNOTATION, "initial_s"),
            (BACKOFF_MAX_ANNOTATION, "max_s"),
            (BACKOFF_RESET_ANNOTATION, "reset_after_s"),
        ):
            raw = annotations.get(key)
            if raw is None:
                continue
            try:
                value = float(raw)
            except ValueError:
                continue
            if value >= 0 and math.isfinite(value):
                changes[field] = value
        return attrs.evolve(self, **changes) if changes else self


def go_duration(seconds: float) -> str:
    """``seconds`` the way Go prints a ``time.Duration`` (``10s``, ``1m20s``, ``5m0s``,
    ``1h0m0s``, ``500ms``), as Kubernetes' messages show it."""
    nanos = round(seconds * 1e9)
    if nanos == 0:
        return "0s"
    sign = "-" if nanos < 0 else ""
    nanos = abs(nanos)
    if nanos < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if nanos >= size:
                return f"{sign}{_trim(nanos / size)}{unit}"
    hours, rest = divmod(nanos, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    secs = _trim(rest / 1e9)
    if hours:
        return f"{sign}{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{sign}{minutes}m{secs}s"
    return f"{sign}{secs}s"


def _trim(value: float) -> str:
    text = f"{value:.9f}".rstrip("0").rstrip(".")
    return text or "0"
