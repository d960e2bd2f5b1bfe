"""Same seed, same timeline: a random workload on simulated nodes replays exactly."""

from __future__ import annotations

import anyio
from hypothesis import given, settings
from hypothesis import strategies as st
from sim_builders import make_launch, vnow

from orbit.runtimes import RuntimeFailure
from orbit.runtimes._sim import SimRuntime
from orbit.simulation import simulate

Event = tuple[float, str, str, int | None]

durations = st.integers(min_value=0, max_value=600).map(str)
pod_annotations = st.fixed_dictionaries(
    {"sim.orbit.dev/run-seconds": durations},
    optional={
        "sim.orbit.dev/startup-seconds": durations,
        "sim.orbit.dev/crash-after-seconds": durations,
        "sim.orbit.dev/jitter": st.sampled_from(["0.1", "0.5", "1"]),
        "sim.orbit.dev/ignore-sigterm": st.sampled_from(["true", "false"]),
        "sim.orbit.dev/fail-image": st.sampled_from(["false", "false", "true"]),
    },
)
workloads = st.lists(
    st.tuples(pod_annotations, st.integers(0, 300), st.none() | st.integers(1, 900)),
    min_size=1,
    max_size=12,
)


def run(workload: list[tuple[dict[str, str], int, int | None]], seed: int) -> list[Event]:
    """Each pod: start after its delay on node i % 3, restart up to twice on failure,
    stop after ``stop_at`` seconds if still running; record every transition."""

    async def main() -> list[Event]:
        nodes = [SimRuntime(seed=n) for n in range(3)]
        events: list[Event] = []

        async def pod(i: int, annotations: dict[str, str], delay: int, stop_at: int | None) -> None:
            runtime = nodes[i % 3]
            await anyio.sleep(delay)
            for restart in range(3):
                launch = make_launch(pod=f"p{i}", annotations=annotations, restart_count=restart)
                try:
                    report = await runtime.start(launch)
                except RuntimeFailure as failure:
                    events.append((vnow(), f"p{i}", failure.reason, None))
                    return
                events.append((vnow(), f"p{i}", "started", None))
                with anyio.move_on_after(stop_at if stop_at is not None else float("inf")):
                    report = await runtime.wait(report.id)
                if report.state != "terminated":
                    report = await runtime.stop(report.id, grace_s=30)
                events.append((vnow(), f"p{i}", report.reason, report.exit_code))
                if report.exit_code == 0:
                    return

        async with anyio.create_task_group() as tg:
            for i, (annotations, delay, stop_at) in enumerate(workload):
                tg.start_soon(pod, i, annotations, delay, stop_at)
        return events

    return simulate(main, seed=seed)


@settings(max_examples=40, deadline=None)
@given(workloads, st.integers(0, 2**32))
def test_the_same_seed_gives_the_same_timeline(
    workload: list[tuple[dict[str, str], int, int | None]], seed: int
) -> None:
    assert run(workload, seed) == run(workload, seed)


def test_jitter_draws_follow_the_seed() -> None:
    workload = [({"sim.orbit.dev/run-seconds": "100", "sim.orbit.dev/jitter": "0.5"}, 0, None)] * 4
    first = run(workload, seed=1)
    assert first == run(workload, seed=1)
    assert first != run(workload, seed=2)
    ends = [at for at, _, what, _ in first if what == "Completed"]
    assert len(ends) == 4
    assert all(50 <= at <= 150 for at in ends)
    assert len(set(ends)) == 4  # each pod draws its own jitter
