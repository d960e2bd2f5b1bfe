"""Crash backoff: Kubernetes' sequence (0, 10, 20, 40... 300), its reset after a long
run, per-pod overrides, and Go's duration format in messages."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orbit.node import (
    BACKOFF_INITIAL_ANNOTATION,
    BACKOFF_MAX_ANNOTATION,
    BACKOFF_RESET_ANNOTATION,
    RestartBackoff,
)
from orbit.node._backoff import go_duration


def test_kubernetes_sequence_first_restart_at_once_then_doubling_to_300() -> None:
    backoff = RestartBackoff()
    delays = [backoff.delay_s(crashes) for crashes in range(1, 11)]
    assert delays == [0, 10, 20, 40, 80, 160, 300, 300, 300, 300]


def test_a_run_of_ten_minutes_resets_the_streak() -> None:
    backoff = RestartBackoff()
    streak = 0
    for _ in range(5):
        streak = backoff.streak_after(streak, ran_for_s=1.0)
    assert streak == 5
    assert backoff.delay_s(streak) == 80
    assert backoff.streak_after(streak, ran_for_s=599.9) == 6
    assert backoff.streak_after(streak, ran_for_s=600.0) == 1
    assert backoff.delay_s(backoff.streak_after(streak, ran_for_s=600.0)) == 0


@given(st.integers(min_value=1, max_value=10_000))
def test_delays_never_shrink_and_stay_within_the_cap(crashes: int) -> None:
    backoff = RestartBackoff(initial_s=0.5, max_s=7.0)
    assert 0 <= backoff.delay_s(crashes) <= backoff.delay_s(crashes + 1) <= 7.0


def test_pods_override_the_numbers_with_annotations_and_junk_is_ignored() -> None:
    base = RestartBackoff()
    custom = base.for_pod(
        {
            BACKOFF_INITIAL_ANNOTATION: "0.5",
            BACKOFF_MAX_ANNOTATION: "2",
            BACKOFF_RESET_ANNOTATION: "nonsense",
        }
    )
    assert custom == RestartBackoff(initial_s=0.5, max_s=2.0, reset_after_s=600.0)
    assert [custom.delay_s(n) for n in range(1, 6)] == [0, 0.5, 1.0, 2.0, 2.0]
    assert base.for_pod({}) is base
    assert base.for_pod({BACKOFF_MAX_ANNOTATION: "-1"}) is base


def test_negative_or_infinite_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="initial_s"):
        RestartBackoff(initial_s=-1)
    with pytest.raises(ValueError, match="max_s"):
        RestartBackoff(max_s=float("inf"))


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (10, "10s"),
        (80, "1m20s"),
        (300, "5m0s"),
        (3600, "1h0m0s"),
        (1.5, "1.5s"),
        (0.25, "250ms"),
        (90.5, "1m30.5s"),
    ],
)
def test_durations_read_as_go_prints_them(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text
