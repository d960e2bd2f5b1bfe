"""HPA stabilization and scaling policies, against Kubernetes' own expectations.

The tables are transcribed from kubernetes/kubernetes
``pkg/controller/podautoscaler/horizontal_test.go`` (TestNormalizeDesiredReplicas,
TestNormalizeDesiredReplicasWithBehavior, TestConvertDesiredReplicasWithRules,
TestScalingWithRules, TestStoreScaleEvents, TestCalculateScale{Up,Down}Limit...).
``generateScalingRules`` and ``generateEventsUniformDistribution`` are rebuilt as
:func:`rules` and :func:`spread`.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orbit.api import (
    DEFAULT_SCALE_DOWN_RULES,
    DEFAULT_SCALE_UP_RULES,
    HorizontalPodAutoscalerBehavior,
    HPAScalingPolicy,
    HPAScalingRules,
)
from orbit.autoscaling._behavior import (
    Limited,
    Recommendation,
    ScaleEvent,
    convert_desired_replicas_with_behavior_rate,
    convert_desired_replicas_with_rules,
    longest_policy_period,
    normalize,
    record_scale_event,
    replicas_change_per_period,
    scale_down_limit,
    scale_up_limit,
    stabilize_recommendation,
    stabilize_recommendation_with_behaviors,
)

NOW = 1_767_225_600.0
MINUTE = 60.0


def rules(
    pods: int = 0,
    pods_period: int = 0,
    percent: int = 0,
    percent_period: int = 0,
    window: int = 0,
    select: str = "Max",
) -> HPAScalingRules:
    """``generateScalingRules``: a Pods and / or a Percent policy."""
    policies = []
    if pods:
        policies.append(HPAScalingPolicy(type="Pods", value=pods, period_seconds=pods_period))
    if percent:
        policies.append(
            HPAScalingPolicy(type="Percent", value=percent, period_seconds=percent_period)
        )
    return HPAScalingRules(
        stabilization_window_seconds=window,
        select_policy=select,  # type: ignore[arg-type]
        policies=tuple(policies),
    )


def spread(changes: Sequence[int], period: int, *, sign: int = 1) -> list[ScaleEvent]:
    """``generateEventsUniformDistribution``: event i in the middle of the i-th of
    ``len(changes)`` equal segments of the last ``period`` seconds, oldest first."""
    segment = period / len(changes)
    return [
        ScaleEvent(sign * change, NOW - int(period - segment * (i + 1) + segment / 2))
        for i, change in enumerate(changes)
    ]


def recs(*pairs: tuple[int, float]) -> list[Recommendation]:
    """Recommendations given as (replicas, age in seconds)."""
    return [Recommendation(replicas, NOW - age) for replicas, age in pairs]


@pytest.mark.parametrize(
    ("history", "desired", "stabilized", "length"),
    [
        pytest.param([], 5, 5, 1, id="empty log"),
        pytest.param(recs((4, 2 * MINUTE), (5, MINUTE)), 3, 5, 3, id="stabilize"),
        pytest.param(recs((1, 2 * MINUTE), (2, MINUTE)), 3, 3, 3, id="no stabilize"),
        pytest.param(
            recs((10, 10 * MINUTE), (9, 9 * MINUTE)), 3, 3, 2, id="no stabilize, old ones"
        ),
        pytest.param(
            recs((10, 10 * MINUTE), (4, MINUTE), (5, 2 * MINUTE), (9, 9 * MINUTE)), 3, 5, 4,
            id="stabilize, old recommendations",
        ),
    ],
)  # fmt: skip
def test_stabilize_recommendation(
    history: list[Recommendation], desired: int, stabilized: int, length: int
) -> None:
    """TestNormalizeDesiredReplicas (a 5 minute downscale window)."""
    result, kept = stabilize_recommendation(history, desired, NOW, 5 * MINUTE)
    assert result == stabilized
    assert len(kept) == length
    assert Recommendation(desired, NOW) in kept


def test_stabilize_recommendation_window_is_inclusive() -> None:
    """Without behavior a recommendation exactly as old as the window still counts."""
    assert stabilize_recommendation(recs((9, 300.0)), 3, NOW, 300.0)[0] == 9
    assert stabilize_recommendation(recs((9, 300.5)), 3, NOW, 300.0)[0] == 3


@pytest.mark.parametrize(
    ("history", "current", "desired", "stabilized", "stored", "up_window", "down_window"),
    [
        pytest.param([], 100, 5, 5, [5], 0, 0, id="empty recommendations for scaling down"),
        pytest.param(
            recs((4, 2 * MINUTE), (5, MINUTE)), 100, 3, 5, [4, 5, 3], 0, 3 * MINUTE,
            id="simple scale down stabilization",
        ),
        pytest.param(
            recs((4, 2 * MINUTE), (5, MINUTE)), 1, 7, 4, [4, 5, 7], 5 * MINUTE, 0,
            id="simple scale up stabilization",
        ),
        pytest.param(
            recs((1, 2 * MINUTE), (2, MINUTE)), 100, 3, 3, [1, 2, 3], 5 * MINUTE, 0,
            id="no scale down stabilization",
        ),
        pytest.param(
            recs((4, 2 * MINUTE), (5, MINUTE)), 1, 3, 3, [4, 5, 3], 0, 5 * MINUTE,
            id="no scale up stabilization",
        ),
        pytest.param(
            recs((10, 10 * MINUTE), (9, 9 * MINUTE)), 100, 3, 3, [10, 3], 0, 0,
            id="no scale down stabilization, reuse recommendation element",
        ),
        pytest.param(
            recs((10, 10 * MINUTE), (9, 9 * MINUTE)), 1, 100, 100, [10, 100], 0, 0,
            id="no scale up stabilization, reuse recommendation element",
        ),
        pytest.param(
            recs((10, 10 * MINUTE), (4, MINUTE), (5, 2 * MINUTE), (9, 9 * MINUTE)),
            100, 3, 5, [10, 4, 5, 3], 0, 3 * MINUTE,
            id="scale down stabilization, reuse one of obsolete recommendation element",
        ),
        pytest.param(
            recs((10, 100 * MINUTE), (6, MINUTE), (5, 2 * MINUTE), (9, 3 * MINUTE)),
            1, 100, 5, [100, 6, 5, 9], 300, 0,
            id="scale up stabilization, reuse one of obsolete recommendation element",
        ),
        pytest.param(
            recs((2, 100 * MINUTE), (3, 3 * MINUTE)), 2, 1, 2, None, 300, 300,
            id="do not scale up when prenormalized rec goes down",
        ),
        pytest.param(
            recs((2, 100 * MINUTE), (1, 3 * MINUTE)), 2, 3, 2, None, 300, 300,
            id="do not scale down when prenormalized rec goes up",
        ),
    ],
)  # fmt: skip
def test_stabilize_recommendation_with_behaviors(
    history: list[Recommendation],
    current: int,
    desired: int,
    stabilized: int,
    stored: list[int] | None,
    up_window: float,
    down_window: float,
) -> None:
    """TestNormalizeDesiredReplicasWithBehavior."""
    result, _, _, kept = stabilize_recommendation_with_behaviors(
        history, current, desired, NOW, up_window_s=up_window, down_window_s=down_window
    )
    assert result == stabilized
    if stored is not None:
        assert [r.replicas for r in kept] == stored


def test_behavior_windows_are_exclusive() -> None:
    """With behavior a recommendation counts while strictly younger than the window
    (``After(cutoff)``), and is reused only once strictly older than both windows: one
    exactly at the cutoff neither counts nor is replaced."""
    at_cutoff = recs((2, 60.0))
    result, _, _, kept = stabilize_recommendation_with_behaviors(
        at_cutoff, 1, 7, NOW, up_window_s=60.0, down_window_s=60.0
    )
    assert result == 7
    assert [r.replicas for r in kept] == [2, 7]
    result, _, _, kept = stabilize_recommendation_with_behaviors(
        recs((2, 59.5)), 1, 7, NOW, up_window_s=60.0, down_window_s=60.0
    )
    assert result == 2
    _, _, _, kept = stabilize_recommendation_with_behaviors(
        recs((2, 60.5)), 1, 7, NOW, up_window_s=60.0, down_window_s=60.0
    )
    assert [r.replicas for r in kept] == [7]


@pytest.mark.parametrize(
    ("current", "desired", "min_replicas", "max_replicas", "expected", "reason"),
    [
        pytest.param(5, 7, 3, 8, 7, "DesiredWithinRange", id="within range"),
        pytest.param(3, 1, 2, 8, 2, "TooFewReplicas", id="less than minReplicas"),
        pytest.param(1, 0, 0, 10, 0, "DesiredWithinRange", id="zero within range"),
        pytest.param(20, 1000, 1, 10, 10, "TooManyReplicas", id="maxReplicas below scaleUpLimit"),
        pytest.param(3, 1000, 1, 2000, 6, "ScaleUpLimit", id="scaleUpLimit below maxReplicas"),
        pytest.param(1, 1000, 1, 2000, 4, "ScaleUpLimit", id="scaleUpLimit is at least 4"),
    ],
)
def test_convert_desired_replicas_with_rules(
    current: int, desired: int, min_replicas: int, max_replicas: int, expected: int, reason: str
) -> None:
    """TestConvertDesiredReplicasWithRules: scaleUpLimit = max(2*current, 4)."""
    replicas, got_reason, _ = convert_desired_replicas_with_rules(
        current, desired, min_replicas, max_replicas
    )
    assert (replicas, got_reason) == (expected, reason)


E3 = (1, 5, 9)
ALTERNATING = (8, 12, 9, 11)

# (name, up events, down events, min, max, up rules, down rules, current, desired,
#  expected, reason): TestScalingWithRules
SCALING_WITH_RULES = [
    ("within range", [], [], 3, 8, None, None, 5, 7, 7, "DesiredWithinRange"),
    ("desired < minReplicas", [], [], 2, 8, None, None, 3, 1, 2, "TooFewReplicas"),
    ("within range when minReplicas is 0", [], [], 0, 10, None, None, 1, 0, 0,
     "DesiredWithinRange"),
    ("maxReplicas < scaleUpLimit", [], [], 1, 10, None, None, 20, 1000, 10, "TooManyReplicas"),
    ("desired is more than maxReplicas", [], [], 100, 150, None, None, 100, 1000, 150,
     "TooManyReplicas"),
    ("scaleUpLimit < maxReplicas with user policies", [], [], 1, 2000, rules(percent=1,
     percent_period=60), None, 3, 1000, 4, "ScaleUpLimit"),
    ("scaleDownLimit > minReplicas with user policies", [], [], 3, 2000, None,
     rules(pods=20, pods_period=60), 1000, 3, 980, "ScaleDownLimit"),
    ("scaleUp with default behavior", [], [], 1, 1000, None, None, 10, 50, 20, "ScaleUpLimit"),
    ("scaleUp with pods policy larger than percent policy", [], [], 1, 1000,
     rules(100, 60, 100, 60), None, 10, 500, 110, "ScaleUpLimit"),
    ("scaleUp with percent policy larger than pods policy", [], [], 1, 1000,
     rules(2, 60, 100, 60), None, 10, 500, 20, "ScaleUpLimit"),
    ("scaleUp with large pod policy", [], [], 1, 1000, rules(100, 60), None, 10, 50, 50,
     "DesiredWithinRange"),
    ("scaleUp with large percent policy", [], [], 1, 1000, rules(10000, 60), None, 10, 50, 50,
     "DesiredWithinRange"),
    ("scaleUp with pod policy limitation", [], [], 1, 1000, rules(30, 60), None, 10, 50, 40,
     "ScaleUpLimit"),
    ("scaleUp with percent policy limitation", [], [], 1, 1000, rules(0, 0, 200, 60), None,
     10, 50, 30, "ScaleUpLimit"),
    ("scaleDown with percent policy larger than pod policy", [], [], 1, 1000, None,
     rules(20, 60, 1, 60, 300), 100, 2, 80, "ScaleDownLimit"),
    ("scaleDown with pod policy larger than percent policy", [], [], 1, 1000, None,
     rules(2, 60, 1, 60, 300), 100, 2, 98, "ScaleDownLimit"),
    ("scaleDown with MinReplicas limitation with large pod policy", [], [], 1, 1000, None,
     rules(100, 60, window=300), 10, 0, 1, "TooFewReplicas"),
    ("scaleDown with MinReplicas limitation with large percent policy", [], [], 5, 1000, None,
     rules(0, 0, 100, 60, 300), 10, 2, 5, "TooFewReplicas"),
    ("scaleDown with pod policy limitation", [], [], 1, 1000, None, rules(5, 60, window=300),
     10, 2, 5, "ScaleDownLimit"),
    ("scaleDown with percent policy limitation", [], [], 1, 1000, None,
     rules(0, 0, 50, 60, 300), 10, 5, 5, "DesiredWithinRange"),
    ("scaleUp with MaxReplicas limitation with large pod policy and events", spread(E3, 120),
     [], 1, 200, rules(300, 60), None, 100, 500, 200, "TooManyReplicas"),
    ("scaleUp with MaxReplicas limitation with large percent policy and events",
     spread(E3, 120), [], 1, 200, rules(0, 0, 10000, 60), None, 100, 500, 200,
     "TooManyReplicas"),
    ("scaleUp with currentReplicas limitation with a lot of recent scale up events",
     spread(E3, 120), [], 1, 1000, rules(5, 120), None, 100, 500, 100, "ScaleUpLimit"),
    ("scaleUp with pod policy and previous scale up events", spread(E3, 120), [], 1, 1000,
     rules(150, 120), None, 100, 500, 235, "ScaleUpLimit"),
    ("scaleUp with percent policy and previous scale up events", spread(E3, 120), [], 1, 1000,
     rules(0, 0, 200, 120), None, 100, 500, 255, "ScaleUpLimit"),
    ("scaleUp with percent policy and previous scale up and down events", spread([4], 120),
     spread([2], 120, sign=-1), 1, 1000, rules(0, 0, 300, 300), None, 6, 24, 16,
     "ScaleUpLimit"),
    ("scaleDown with default policy and previous events", [], spread(E3, 120, sign=-1), 1,
     1000, None, None, 10, 5, 5, "DesiredWithinRange"),
    ("scaleDown with MinReplicas=nil limitation with large pod policy and previous events",
     [], spread(E3, 120, sign=-1), 1, 1000, None, rules(115, 120, window=300), 100, 0, 1,
     "TooFewReplicas"),
    ("scaleDown with MinReplicas limitation with large pod policy and previous events", [],
     spread(E3, 120, sign=-1), 5, 1000, None, rules(130, 120, window=300), 100, 0, 5,
     "TooFewReplicas"),
    ("scaleDown with MinReplicas limitation with large percent policy and previous events",
     [], spread(E3, 120, sign=-1), 5, 1000, None, rules(0, 0, 100, 120, 300), 100, 2, 5,
     "TooFewReplicas"),
    ("scaleDown with pod policy limitation and previous events", [],
     spread(E3, 120, sign=-1), 1, 1000, None, rules(5, 120, window=300), 100, 2, 100,
     "ScaleDownLimit"),
    ("scaleDown with percent policy limitation and previous events", [],
     spread((2, 4, 6), 120, sign=-1), 1, 1000, None, rules(0, 0, 50, 120, 300), 100, 0, 56,
     "ScaleDownLimit"),
    ("scaleDown with percent policy and previous scale up and down events", spread([2], 120),
     spread([4], 120, sign=-1), 1, 1000, None, rules(0, 0, 50, 180), 10, 1, 6,
     "ScaleDownLimit"),
    ("scaleDown with previous events preventing further scale down", [],
     spread((10, 10, 10), 120, sign=-1), 1, 1000, None, rules(0, 0, 10, 120, 300), 100, 0,
     100, "ScaleDownLimit"),
    ("scaleDown with previous events still allowing more scale down", [],
     spread((10, 10, 10), 120, sign=-1), 1, 1000, None, rules(0, 0, 1000, 120, 300), 10, 5,
     5, "DesiredWithinRange"),
    ("'outdated' events for one behavior for up", spread(ALTERNATING, 120), [], 1, 1000,
     rules(1000, 60), None, 100, 200, 200, "DesiredWithinRange"),
    ("events not 'outdated' for two policies for up", spread(ALTERNATING, 120), [], 1, 1000,
     rules(1000, 120, 100, 60), None, 100, 200, 200, "DesiredWithinRange"),
    ("events 'outdated' for two policies for up", spread(ALTERNATING, 120), [], 1, 1000,
     rules(1000, 30, 100, 60), None, 100, 200, 200, "DesiredWithinRange"),
    ("'outdated' events for one behavior for down", [], spread(ALTERNATING, 120, sign=-1), 1,
     1000, None, rules(1000, 60, window=300), 100, 5, 5, "DesiredWithinRange"),
    ("events not 'outdated' for two policies for down", [],
     spread(ALTERNATING, 120, sign=-1), 1, 1000, None, rules(1000, 120, 100, 60, 300), 100,
     5, 5, "DesiredWithinRange"),
    ("events 'outdated' for two policies for down", [], spread(ALTERNATING, 120, sign=-1), 1,
     1000, None, rules(1000, 30, 100, 60, 300), 100, 5, 5, "DesiredWithinRange"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("up_events", "down_events", "min_r", "max_r", "up", "down", "current", "desired",
     "expected", "reason"),
    [pytest.param(*case[1:], id=case[0]) for case in SCALING_WITH_RULES],
)  # fmt: skip
def test_scaling_with_rules(
    up_events: list[ScaleEvent],
    down_events: list[ScaleEvent],
    min_r: int,
    max_r: int,
    up: HPAScalingRules | None,
    down: HPAScalingRules | None,
    current: int,
    desired: int,
    expected: int,
    reason: str,
) -> None:
    """TestScalingWithRules (convertDesiredReplicasWithBehaviorRate; unset rules are
    Kubernetes' defaults, as GenerateHPAScale{Up,Down}Rules fills them in)."""
    replicas, got_reason, _ = convert_desired_replicas_with_behavior_rate(
        current,
        desired,
        min_replicas=min_r,
        max_replicas=max_r,
        scale_up=up or DEFAULT_SCALE_UP_RULES,
        scale_down=down or DEFAULT_SCALE_DOWN_RULES,
        scale_up_events=up_events,
        scale_down_events=down_events,
        now=NOW,
    )
    assert (replicas, got_reason) == (expected, reason)


def test_select_policy_min() -> None:
    """TestCalculateScale{Up,Down}Limit*: ``Min`` picks the smallest change."""
    min_rules = rules(2, 60, 50, 60, 300, select="Min")
    assert scale_up_limit(1, [], [], min_rules, NOW) == 2
    assert scale_down_limit(5, [], [], min_rules, NOW) == 3


def test_select_policy_disabled_holds_current() -> None:
    disabled = rules(100, 15, select="Disabled")
    assert scale_up_limit(7, [], [], disabled, NOW) == 7
    assert scale_down_limit(7, [], [], disabled, NOW) == 7
    replicas, reason, _ = convert_desired_replicas_with_behavior_rate(
        7,
        20,
        min_replicas=1,
        max_replicas=50,
        scale_up=disabled,
        scale_down=DEFAULT_SCALE_DOWN_RULES,
        scale_up_events=[],
        scale_down_events=[],
        now=NOW,
    )
    assert (replicas, reason) == (7, "ScaleUpLimit")


def test_event_counts_while_strictly_younger_than_the_period() -> None:
    """getReplicasChangePerPeriod: ``timestamp.After(now - period)``."""
    events = [ScaleEvent(4, NOW - 15.0), ScaleEvent(2, NOW - 14.999), ScaleEvent(1, NOW)]
    assert replicas_change_per_period(15, events, NOW) == 3
    assert replicas_change_per_period(16, events, NOW) == 7
    down = [ScaleEvent(-4, NOW - 10.0)]
    assert replicas_change_per_period(15, down, NOW) == 4  # a size, whatever the sign


def test_default_scale_up_is_four_pods_or_double_per_15s() -> None:
    """Kubernetes' default scale-up: max(+4 pods, +100 %) from the count 15 s ago."""
    assert scale_up_limit(1, [], [], DEFAULT_SCALE_UP_RULES, NOW) == 5
    assert scale_up_limit(10, [], [], DEFAULT_SCALE_UP_RULES, NOW) == 20
    recent = [ScaleEvent(10, NOW - 10.0)]  # 10 -> 20 ten seconds ago
    assert scale_up_limit(20, recent, [], DEFAULT_SCALE_UP_RULES, NOW) == 20
    assert scale_up_limit(20, recent, [], DEFAULT_SCALE_UP_RULES, NOW + 5.0) == 40


# (name, change, previous events (change, age, outdated), rules, expected change in the
# last 60 s before storing, expected events after (change, outdated)): TestStoreScaleEvents
STORE_SCALE_EVENTS = [
    ("empty entries with default behavior", 5, [], None, 0, []),
    ("empty entries with two-policy-behavior", 5, [], rules(10, 60, 100, 60), 0, [(5, False)]),
    ("one outdated entry to be kept untouched without behavior", 5, [(7, 61)], None, 0,
     [(7, False)]),
    ("one outdated entry to be replaced with behavior", 5, [(7, 61)], rules(10, 60, 100, 60), 0,
     [(5, False)]),
    ("one actual entry to be not touched with behavior", 5, [(7, 58)], rules(10, 60, 100, 60), 7,
     [(7, False), (5, False)]),
    ("two entries, one of them to be replaced", 5, [(7, 61), (6, 59)], rules(10, 60), 6,
     [(5, False), (6, False)]),
    ("replace one entry, use policies with different periods", 5,
     [(8, 29), (6, 59), (7, 61), (9, 61)], rules(10, 60, 100, 30), 14,
     [(8, False), (6, False), (7, True), (5, False)]),
    ("two entries, both actual", 5, [(7, 58), (6, 59)], rules(10, 120, 100, 30), 13,
     [(7, False), (6, False), (5, False)]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "previous", "direction_rules", "in_last_minute", "after"),
    [pytest.param(*case[1:], id=case[0]) for case in STORE_SCALE_EVENTS],
)
@pytest.mark.parametrize("up", [True, False], ids=["up", "down"])
def test_record_scale_event(
    change: int,
    previous: list[tuple[int, float]],
    direction_rules: HPAScalingRules | None,
    in_last_minute: int,
    after: list[tuple[int, bool]],
    up: bool,
) -> None:
    sign = 1 if up else -1
    events = [ScaleEvent(sign * c, NOW - age) for c, age in previous]
    assert replicas_change_per_period(60, events, NOW) == in_last_minute
    behavior = None
    if direction_rules is not None:
        behavior = (
            HorizontalPodAutoscalerBehavior(scale_up=direction_rules)
            if up
            else HorizontalPodAutoscalerBehavior(scale_down=direction_rules)
        )
    stored = record_scale_event(behavior, events, sign * change, NOW)
    assert [(abs(e.change), e.outdated) for e in stored] == after
    if behavior is not None:
        assert stored[[abs(e.change) for e in stored].index(change)].at == NOW


def test_longest_policy_period() -> None:
    assert longest_policy_period(rules(1, 30, 1, 90)) == 90
    assert longest_policy_period(HPAScalingRules()) == 0


def test_normalize_without_behavior() -> None:
    """normalizeDesiredReplicas: the downscale window holds the highest recent
    recommendation (ScaleDownStabilized), then min/max and the 2x/4 limit apply."""
    history = recs((8, 100.0))
    limited, kept = normalize(10, 4, 2, 20, None, history, [], [], NOW)
    assert limited == Limited(
        8,
        False,
        "DesiredWithinRange",
        "the desired count is within the acceptable range",
        "ScaleDownStabilized",
        "recent recommendations were higher than current one, applying the highest recent "
        "recommendation",
    )
    assert kept == [*history, Recommendation(4, NOW)]
    # After the window the low recommendation wins, limited by minReplicas.
    limited, _ = normalize(10, 1, 2, 20, None, kept, [], [], NOW + 301.0)
    assert (limited.replicas, limited.limited, limited.reason) == (2, True, "TooFewReplicas")
    assert limited.message == "the desired replica count is less than the minimum replica count"
    limited, _ = normalize(3, 50, 1, 20, None, [], [], [], NOW)
    assert (limited.replicas, limited.reason) == (6, "ScaleUpLimit")
    assert limited.message == (
        "the desired replica count is increasing faster than the maximum scale rate"
    )
    assert (limited.able_reason, limited.able_message) == (
        "ReadyForNewScale",
        "recommended size matches current size",
    )


def test_normalize_with_behavior_uses_the_flag_window_for_an_unset_scale_down() -> None:
    """maybeInitScaleDownStabilizationWindow: behavior without a scale-down window gets
    the controller's ``downscale_stabilization_s``."""
    behavior = HorizontalPodAutoscalerBehavior()
    assert behavior.scale_down.stabilization_window_seconds is None
    history = recs((9, 100.0))
    limited, _ = normalize(10, 3, 1, 20, behavior, history, [], [], NOW)
    assert (limited.replicas, limited.able_reason) == (9, "ScaleDownStabilized")
    limited, _ = normalize(
        10, 3, 1, 20, behavior, history, [], [], NOW, downscale_stabilization_s=60.0
    )
    assert (limited.replicas, limited.reason, limited.limited) == (3, "DesiredWithinRange", False)


def test_normalize_with_behavior_rate_limits_scale_up() -> None:
    """Default scale-up policies from 2 replicas: at most max(+4, +100 %) = 6."""
    behavior = HorizontalPodAutoscalerBehavior()
    limited, _ = normalize(2, 30, 1, 100, behavior, [], [], [], NOW)
    assert (limited.replicas, limited.limited, limited.reason) == (6, True, "ScaleUpLimit")
    up_window = HorizontalPodAutoscalerBehavior(scale_up=rules(100, 15, window=60))
    limited, _ = normalize(2, 30, 1, 100, up_window, recs((4, 30.0)), [], [], NOW)
    assert (limited.replicas, limited.able_reason) == (4, "ScaleUpStabilized")
    assert limited.able_message == (
        "recent recommendations were lower than current one, applying the lowest recent "
        "recommendation"
    )


# -- properties -----------------------------------------------------------------------

policy = st.builds(
    HPAScalingPolicy,
    type=st.sampled_from(["Pods", "Percent"]),
    value=st.integers(min_value=1, max_value=300),
    period_seconds=st.integers(min_value=1, max_value=1800),
)
direction = st.builds(
    HPAScalingRules,
    stabilization_window_seconds=st.one_of(st.none(), st.integers(min_value=0, max_value=3600)),
    select_policy=st.sampled_from(["Max", "Min", "Disabled"]),
    policies=st.lists(policy, min_size=1, max_size=3).map(tuple),
)
behaviors = st.one_of(
    st.none(), st.builds(HorizontalPodAutoscalerBehavior, scale_up=direction, scale_down=direction)
)
ages = st.floats(min_value=0.0, max_value=4000.0)
history_st = st.lists(
    st.builds(lambda r, a: Recommendation(r, NOW - a), st.integers(0, 200), ages), max_size=6
)
events_st = st.lists(
    st.builds(lambda c, a: ScaleEvent(c, NOW - a), st.integers(1, 50), ages), max_size=5
)


@given(
    bounds=st.tuples(st.integers(0, 100), st.integers(0, 100), st.integers(0, 100)).map(sorted),
    proposal=st.integers(0, 500),
    behavior=behaviors,
    history=history_st,
    up_events=events_st,
    down_events=events_st,
)
def test_normalize_stays_within_min_and_max(
    bounds: list[int],
    proposal: int,
    behavior: HorizontalPodAutoscalerBehavior | None,
    history: list[Recommendation],
    up_events: list[ScaleEvent],
    down_events: list[ScaleEvent],
) -> None:
    """From a count within [minReplicas, maxReplicas], the HPA never leaves it, and it
    only reports ScalingLimited when the count differs from the stabilized one."""
    min_replicas, current, max_replicas = bounds
    down = [ScaleEvent(-e.change, e.at) for e in down_events]
    limited, kept = normalize(
        current, proposal, min_replicas, max_replicas, behavior, history, up_events, down, NOW
    )
    assert min_replicas <= limited.replicas <= max_replicas
    assert limited.limited == (limited.reason != "DesiredWithinRange")
    assert Recommendation(proposal, NOW) in kept
    assert len(kept) <= len(history) + 1


@given(
    current=st.integers(1, 200),
    proposal=st.integers(0, 400),
    history=history_st,
    window=st.integers(0, 3600),
)
def test_scale_down_window_never_goes_below_recent_recommendations(
    current: int, proposal: int, history: list[Recommendation], window: int
) -> None:
    """Without behavior the result is at least every recommendation of the window
    (unless maxReplicas or the scale-up limit cut it)."""
    limited, _ = normalize(current, proposal, 0, 10_000, None, history, [], [], NOW, window)
    recent = [r.replicas for r in history if r.at >= NOW - window] + [proposal]
    assert limited.replicas == min(max(recent), max(2 * current, 4))
