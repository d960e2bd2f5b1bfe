"""The simulator's behaviour model as pure functions: annotations in, plans out."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orbit.api import Probe, TCPSocketAction
from orbit.runtimes import ContainerLaunch, RuntimeFailure
from orbit.runtimes._sim_behaviour import (
    Behaviour,
    ExitPlan,
    behaviour_from_annotations,
    jittered,
    plan_exit,
    plan_stop,
    probe_outcome,
    usage_at,
)

P = "sim.orbit.dev/"
LAUNCH = ContainerLaunch(pod_uid="u", pod_name="p", namespace="default", name="app")
TCP = Probe(tcp_socket=TCPSocketAction(port=80))


def test_every_annotation_has_its_field() -> None:
    annotations = {
        P + "startup-seconds": "2",
        P + "run-seconds": "30.5",
        P + "exit-code": "3",
        P + "crash-after-seconds": "10",
        P + "crash-count": "2",
        P + "ready-after-seconds": "4",
        P + "unhealthy-after-seconds": "100",
        P + "cpu": "250m",
        P + "memory": "1Gi",
        P + "fail-image": "true",
        P + "ignore-sigterm": "yes",
        P + "shutdown-seconds": "5",
        P + "sigterm-exit-code": "0",
        P + "jitter": "0.1",
        P + "logs": "a\nb",
        "unrelated.example.com/x": "whatever",
    }
    assert behaviour_from_annotations(annotations, "app") == Behaviour(
        startup_s=2.0,
        run_s=30.5,
        exit_code=3,
        crash_after_s=10.0,
        crash_count=2,
        ready_after_s=4.0,
        unhealthy_after_s=100.0,
        cpu_cores=0.25,
        memory_bytes=1024**3,
        fail_image=True,
        ignore_sigterm=True,
        shutdown_s=5.0,
        sigterm_exit_code=0,
        jitter=0.1,
        log_lines=("a", "b"),
    )


def test_defaults_run_forever_except_for_init_containers() -> None:
    assert behaviour_from_annotations({}, "app") == Behaviour()
    assert behaviour_from_annotations({}, "setup", init=True).run_s == 0
    assert behaviour_from_annotations({P + "run-seconds": "9"}, "setup", init=True).run_s == 9
    assert behaviour_from_annotations({P + "run-seconds": "forever"}, "app").run_s is None


def test_a_container_key_wins_whatever_the_order() -> None:
    annotations = {P + "web.run-seconds": "1", P + "run-seconds": "2", P + "db.run-seconds": "3"}
    assert behaviour_from_annotations(annotations, "web").run_s == 1
    assert behaviour_from_annotations(annotations, "other").run_s == 2
    assert behaviour_from_annotations(annotations, "db").run_s == 3


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("startup-seconds", "nan"),
        ("run-seconds", "-3"),
        ("crash-after-seconds", "inf"),
        ("exit-code", "x"),
        ("cpu", "lots"),
        ("memory", "-1Gi"),
        ("fail-image", "maybe"),
        ("jitter", "2"),
        ("app.typo", "1"),
    ],
)
def test_a_bad_value_names_its_annotation(key: str, value: str) -> None:
    with pytest.raises(RuntimeFailure) as info:
        behaviour_from_annotations({P + key: value}, "app")
    assert info.value.reason == "CreateContainerError"
    assert f"annotation {P}{key}:" in info.value.message


def test_the_model_rejects_impossible_values() -> None:
    with pytest.raises(ValueError, match="run_s"):
        Behaviour(run_s=-1)
    with pytest.raises(ValueError, match="exit_code"):
        Behaviour(exit_code=300)
    with pytest.raises(ValueError, match="jitter"):
        Behaviour(jitter=1.5)


def test_exit_plans() -> None:
    assert plan_exit(Behaviour(), LAUNCH) is None
    assert plan_exit(Behaviour(run_s=5), LAUNCH) == ExitPlan(
        after_s=5, exit_code=0, reason="Completed"
    )
    assert plan_exit(Behaviour(run_s=5, crash_after_s=9), LAUNCH) == ExitPlan(
        after_s=5, exit_code=0, reason="Completed"
    )
    assert plan_exit(Behaviour(run_s=50, crash_after_s=9, exit_code=2), LAUNCH) == ExitPlan(
        after_s=9, exit_code=2, reason="Error"
    )
    limited = ContainerLaunch(
        pod_uid="u", pod_name="p", namespace="d", name="c", memory_limit_bytes=100
    )
    oom = plan_exit(Behaviour(memory_bytes=101), limited)
    assert oom is not None
    assert (oom.after_s, oom.exit_code, oom.reason) == (0, 137, "OOMKilled")
    assert plan_exit(Behaviour(memory_bytes=100), limited) is None


@given(
    st.booleans(),
    st.floats(0, 1e6, allow_nan=False),
    st.floats(-10, 1e6, allow_nan=False),
    st.integers(0, 255),
)
def test_a_stop_never_outlasts_the_grace_period(
    ignores: bool, shutdown: float, grace: float, code: int
) -> None:
    behaviour = Behaviour(ignore_sigterm=ignores, shutdown_s=shutdown, sigterm_exit_code=code)
    plan = plan_stop(behaviour, grace)
    assert 0 <= plan.after_s <= max(0.0, grace)
    killed = ignores or shutdown > max(0.0, grace)
    assert (plan.exit_code, plan.signal) == ((137, 9) if killed else (code, 15))


durations = st.none() | st.floats(0, 1e6, allow_nan=False)


@given(
    st.floats(0, 1, allow_nan=False),
    st.floats(0, 1e6, allow_nan=False),
    durations,
    durations,
    st.integers(),
)
def test_jitter_stays_within_its_fraction_and_follows_the_seed(
    fraction: float, startup: float, run: float | None, crash: float | None, seed: int
) -> None:
    behaviour = Behaviour(startup_s=startup, run_s=run, crash_after_s=crash, jitter=fraction)
    drawn = jittered(behaviour, random.Random(seed))
    assert drawn == jittered(behaviour, random.Random(seed))
    for before, after in [
        (startup, drawn.startup_s),
        (run, drawn.run_s),
        (crash, drawn.crash_after_s),
    ]:
        if before is None:
            assert after is None
        else:
            assert after is not None
            slack = before * 1e-12
            assert before * (1 - fraction) - slack <= after <= before * (1 + fraction) + slack


def test_probes_and_usage_over_time() -> None:
    behaviour = Behaviour(ready_after_s=10, unhealthy_after_s=20, cpu_cores=lambda t: -t)
    answers = [probe_outcome(behaviour, t, TCP).success for t in (0, 9.9, 10, 19.9, 20)]
    assert answers == [False, False, True, True, False]
    assert "connection refused" in probe_outcome(behaviour, 0, TCP).message
    assert usage_at(behaviour, 5, LAUNCH) == (0.0, 0)  # negative curves clamp to zero
