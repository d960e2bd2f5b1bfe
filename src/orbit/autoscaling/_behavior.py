"""From a metric's proposal to the replica count the HPA sets: stabilization and rate limits.

The HPA controller (``._hpa``) calls :func:`normalize` once per sync with the largest
metric proposal and its in-memory history of recommendations and scale events, as
kube-controller-manager keeps them per HPA; it records each rescale with
:func:`record_scale_event`. Everything here is a pure function of its arguments
(``now`` included), so a day of HPA decisions can be replayed in a test.

Two regimes, as in Kubernetes' ``horizontal.go``:

- no ``spec.behavior``: the highest recommendation of the last
  ``downscale_stabilization_s`` (the controller flag, 300 s) wins, then the count is
  clamped to ``[minReplicas, min(maxReplicas, max(2*current, 4))]``;
- with ``spec.behavior``: the recommendation is held between the lowest of the
  scale-up window and the highest of the scale-down window, then each direction's
  policies limit how far it may move from the replica count at the start of each
  policy's period (``Pods``: that many pods; ``Percent``: that share, rounded up when
  growing and down when shrinking), combined by ``selectPolicy`` ``Max`` / ``Min`` /
  ``Disabled``. A scale event counts for a period while it is strictly younger than
  the period.

The reasons and messages are Kubernetes', for the ``AbleToScale`` and
``ScalingLimited`` conditions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import attrs

from orbit.api import HorizontalPodAutoscalerBehavior, HPAScalingRules

__all__ = [
    "Limited",
    "Recommendation",
    "ScaleEvent",
    "convert_desired_replicas_with_behavior_rate",
    "convert_desired_replicas_with_rules",
    "longest_policy_period",
    "normalize",
    "record_scale_event",
    "replicas_change_per_period",
    "scale_down_limit",
    "scale_up_limit",
    "stabilize_recommendation",
    "stabilize_recommendation_with_behaviors",
]

_MAX_INT32 = 2**31 - 1
_MIN_INT32 = -(2**31)
_READY = ("ReadyForNewScale", "recommended size matches current size")
_WITHIN = ("DesiredWithinRange", "the desired count is within the acceptable range")
_TOO_FEW = ("TooFewReplicas", "the desired replica count is less than the minimum replica count")
_TOO_MANY = ("TooManyReplicas", "the desired replica count is more than the maximum replica count")
_UP_LIMIT = (
    "ScaleUpLimit",
    "the desired replica count is increasing faster than the maximum scale rate",
)
_DOWN_LIMIT = (
    "ScaleDownLimit",
    "the desired replica count is decreasing faster than the maximum scale rate",
)
_UP_STABILIZED = (
    "ScaleUpStabilized",
    "recent recommendations were lower than current one, applying the lowest recent recommendation",
)
_DOWN_STABILIZED = (
    "ScaleDownStabilized",
    "recent recommendations were higher than current one, applying the highest recent "
    "recommendation",
)


@attrs.frozen
class Recommendation:
    """An unstabilized replica count the HPA computed at ``at`` (epoch seconds)."""

    replicas: int
    at: float


@attrs.frozen
class ScaleEvent:
    """A rescale at ``at``: ``change`` is new minus previous replicas (positive on the
    scale-up list, negative on the scale-down list; only its size is used).
    ``outdated`` marks an event older than the longest policy period at the last
    :func:`record_scale_event`, whose slot the next event may take."""

    change: int
    at: float
    outdated: bool = False


@attrs.frozen
class Limited:
    """The replica count to set, and why.

    ``limited``, ``reason`` and ``message`` are the ``ScalingLimited`` condition
    (``TooFewReplicas``, ``TooManyReplicas``, ``ScaleUpLimit``, ``ScaleDownLimit`` or
    ``DesiredWithinRange``); ``able_reason`` and ``able_message`` the ``AbleToScale``
    condition's (``ReadyForNewScale``, ``ScaleUpStabilized`` or
    ``ScaleDownStabilized``).
    """

    replicas: int
    limited: bool
    reason: str
    message: str
    able_reason: str = _READY[0]
    able_message: str = _READY[1]


def normalize(  # noqa: PLR0917 -- the design note's positional signature
    current: int,
    proposal: int,
    min_replicas: int,
    max_replicas: int,
    behavior: HorizontalPodAutoscalerBehavior | None,
    recommendations: Sequence[Recommendation],
    scale_up_events: Sequence[ScaleEvent],
    scale_down_events: Sequence[ScaleEvent],
    now: float,
    downscale_stabilization_s: float = 300.0,
) -> tuple[Limited, list[Recommendation]]:
    """The replica count for ``proposal`` (the largest metric proposal) at ``current``
    replicas, and the recommendation history to keep for the next sync.

    Ports ``normalizeDesiredReplicas`` (``behavior`` ``None``) and
    ``normalizeDesiredReplicasWithBehaviors``. A ``scaleDown`` without a
    ``stabilizationWindowSeconds`` uses ``downscale_stabilization_s``
    (``maybeInitScaleDownStabilizationWindow``). ``ScalingLimited`` is true when the
    result differs from the stabilized recommendation.
    """
    if behavior is None:
        stabilized, history = stabilize_recommendation(
            recommendations, proposal, now, downscale_stabilization_s
        )
        able = _DOWN_STABILIZED if stabilized != proposal else _READY
        replicas, reason, message = convert_desired_replicas_with_rules(
            current, stabilized, min_replicas, max_replicas
        )
    else:
        up_window = behavior.scale_up.stabilization_window_seconds or 0
        down_window = behavior.scale_down.stabilization_window_seconds
        stabilized, stab_reason, stab_message, history = stabilize_recommendation_with_behaviors(
            recommendations,
            current,
            proposal,
            now,
            up_window_s=up_window,
            down_window_s=downscale_stabilization_s if down_window is None else down_window,
        )
        able = (stab_reason, stab_message) if stabilized != proposal else _READY
        replicas, reason, message = convert_desired_replicas_with_behavior_rate(
            current,
            stabilized,
            min_replicas=min_replicas,
            max_replicas=max_replicas,
            scale_up=behavior.scale_up,
            scale_down=behavior.scale_down,
            scale_up_events=scale_up_events,
            scale_down_events=scale_down_events,
            now=now,
        )
    limited = Limited(replicas, replicas != stabilized, reason, message, able[0], able[1])
    return limited, history


def _record(
    history: Sequence[Recommendation], old_index: int | None, new: Recommendation
) -> list[Recommendation]:
    """Store ``new`` in the slot of the last obsolete recommendation, or append it."""
    kept = list(history)
    if old_index is None:
        kept.append(new)
    else:
        kept[old_index] = new
    return kept


def stabilize_recommendation(
    recommendations: Sequence[Recommendation], desired: int, now: float, window_s: float
) -> tuple[int, list[Recommendation]]:
    """The highest of ``desired`` and the recommendations at most ``window_s`` old, and
    the history with ``desired`` recorded (``stabilizeRecommendation``: it takes the
    slot of the last recommendation older than the window, older ones stay)."""
    cutoff = now - window_s
    highest = desired
    old_index: int | None = None
    for index, rec in enumerate(recommendations):
        if rec.at < cutoff:
            old_index = index
        elif rec.replicas > highest:
            highest = rec.replicas
    return highest, _record(recommendations, old_index, Recommendation(desired, now))


def stabilize_recommendation_with_behaviors(
    recommendations: Sequence[Recommendation],
    current: int,
    desired: int,
    now: float,
    *,
    up_window_s: float,
    down_window_s: float,
) -> tuple[int, str, str, list[Recommendation]]:
    """``current`` brought within ``[lowest of the scale-up window, highest of the
    scale-down window]``, both including ``desired``; with the ``AbleToScale`` reason
    and message to use if that differs from ``desired``, and the history with
    ``desired`` recorded (``stabilizeRecommendationWithBehaviors``). A recommendation
    counts while strictly younger than a window, and its slot is reused once it is
    older than both."""
    up_cutoff = now - up_window_s
    down_cutoff = now - down_window_s
    up_recommendation = down_recommendation = desired
    old_index: int | None = None
    for index, rec in enumerate(recommendations):
        if rec.at > up_cutoff:
            up_recommendation = min(rec.replicas, up_recommendation)
        if rec.at > down_cutoff:
            down_recommendation = max(rec.replicas, down_recommendation)
        if rec.at < up_cutoff and rec.at < down_cutoff:
            old_index = index
    recommendation = min(max(current, up_recommendation), down_recommendation)
    reason, message = _UP_STABILIZED if desired >= current else _DOWN_STABILIZED
    history = _record(recommendations, old_index, Recommendation(desired, now))
    return recommendation, reason, message, history


def convert_desired_replicas_with_rules(
    current: int, desired: int, min_replicas: int, max_replicas: int
) -> tuple[int, str, str]:
    """``desired`` clamped to ``[min_replicas, min(max_replicas, max(2*current, 4))]``,
    with the ``ScalingLimited`` reason and message (``convertDesiredReplicasWithRules``:
    the scale-up limit guards against bogus usage reports)."""
    scale_up_limit = int(max(2.0 * float(current), 4.0))
    if max_replicas > scale_up_limit:
        maximum, limit = scale_up_limit, _UP_LIMIT
    else:
        maximum, limit = max_replicas, _TOO_MANY
    if desired < min_replicas:
        return min_replicas, *_TOO_FEW
    if desired > maximum:
        return maximum, *limit
    return desired, *_WITHIN


def convert_desired_replicas_with_behavior_rate(
    current: int,
    desired: int,
    *,
    min_replicas: int,
    max_replicas: int,
    scale_up: HPAScalingRules,
    scale_down: HPAScalingRules,
    scale_up_events: Sequence[ScaleEvent],
    scale_down_events: Sequence[ScaleEvent],
    now: float,
) -> tuple[int, str, str]:
    """``desired`` limited by the policies of its direction and by
    ``[min_replicas, max_replicas]``, with the ``ScalingLimited`` reason and message
    (``convertDesiredReplicasWithBehaviorRate``). A limit never goes past ``current``
    the wrong way: recent events can stop scaling, not reverse it."""
    if desired > current:
        limit = max(
            scale_up_limit(current, scale_up_events, scale_down_events, scale_up, now), current
        )
        maximum, why = (limit, _UP_LIMIT) if max_replicas > limit else (max_replicas, _TOO_MANY)
        if desired > maximum:
            return maximum, *why
    elif desired < current:
        limit = min(
            scale_down_limit(current, scale_up_events, scale_down_events, scale_down, now), current
        )
        minimum, why = (limit, _DOWN_LIMIT) if min_replicas < limit else (min_replicas, _TOO_FEW)
        if desired < minimum:
            return minimum, *why
    return desired, *_WITHIN


def replicas_change_per_period(
    period_seconds: float, events: Sequence[ScaleEvent], now: float
) -> int:
    """How many replicas the events strictly younger than ``period_seconds`` added (or
    removed) in all (``getReplicasChangePerPeriod``)."""
    cutoff = now - period_seconds
    return sum(abs(event.change) for event in events if event.at > cutoff)


def _limit(
    current: int,
    scale_up_events: Sequence[ScaleEvent],
    scale_down_events: Sequence[ScaleEvent],
    rules: HPAScalingRules,
    now: float,
    *,
    up: bool,
) -> int:
    """The shared loop of Kubernetes' two limit functions: each policy proposes a
    bound from the replica count at the start of its period; ``selectPolicy`` picks."""
    if rules.select_policy == "Disabled":
        return current
    # "Max" means the largest change: the highest bound up, the lowest bound down.
    select: Callable[[int, int], int] = max if (rules.select_policy == "Min") != up else min
    result = _MIN_INT32 if select is max else _MAX_INT32
    proposed = 0
    for policy in rules.policies:
        added = replicas_change_per_period(policy.period_seconds, scale_up_events, now)
        deleted = replicas_change_per_period(policy.period_seconds, scale_down_events, now)
        start = current - added + deleted
        if policy.type == "Pods":
            proposed = start + policy.value if up else start - policy.value
        elif policy.type == "Percent":
            if up:  # rounded up, or a small target could never grow
                proposed = math.ceil(float(start) * (1 + float(policy.value) / 100))
            else:
                proposed = int(float(start) * (1 - float(policy.value) / 100))
        result = select(result, proposed)
    return result


def scale_up_limit(
    current: int,
    scale_up_events: Sequence[ScaleEvent],
    scale_down_events: Sequence[ScaleEvent],
    rules: HPAScalingRules,
    now: float,
) -> int:
    """The most replicas the scale-up policies allow now
    (``calculateScaleUpLimitWithScalingRules``)."""
    return _limit(current, scale_up_events, scale_down_events, rules, now, up=True)


def scale_down_limit(
    current: int,
    scale_up_events: Sequence[ScaleEvent],
    scale_down_events: Sequence[ScaleEvent],
    rules: HPAScalingRules,
    now: float,
) -> int:
    """The fewest replicas the scale-down policies allow now
    (``calculateScaleDownLimitWithBehaviors``)."""
    return _limit(current, scale_up_events, scale_down_events, rules, now, up=False)


def longest_policy_period(rules: HPAScalingRules) -> int:
    """The longest ``periodSeconds`` of the rules' policies, 0 without policies
    (``getLongestPolicyPeriod``)."""
    return max((policy.period_seconds for policy in rules.policies), default=0)


def record_scale_event(
    behavior: HorizontalPodAutoscalerBehavior | None,
    events: Sequence[ScaleEvent],
    change: int,
    now: float,
    *,
    up: bool | None = None,
) -> list[ScaleEvent]:
    """The scale-up (``up``; by default ``change > 0``) or scale-down event list after
    a rescale by ``change`` replicas at ``now`` (``storeScaleEvent``).

    Without ``behavior`` nothing is stored: only policies read events. Otherwise the
    events older than the direction's longest policy period are marked outdated and
    the new event takes the last outdated slot, or is appended; outdated events stay
    (they count again if a policy's period is lengthened), as in Kubernetes.
    """
    if behavior is None:
        return list(events)
    is_up = change > 0 if up is None else up
    rules = behavior.scale_up if is_up else behavior.scale_down
    cutoff = now - longest_policy_period(rules)
    kept = [attrs.evolve(e, outdated=True) if e.at < cutoff else e for e in events]
    new = ScaleEvent(change, now)
    outdated = [index for index, event in enumerate(kept) if event.outdated]
    if outdated:
        kept[outdated[-1]] = new
    else:
        kept.append(new)
    return kept
