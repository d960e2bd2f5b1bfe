"""The simulation loop: virtual time jumps when every task waits, and nothing else changes."""

from __future__ import annotations

import asyncio
import sys
import time
import types

import anyio
import anyio.abc
import pytest
from sim_builders import vnow

from orbit.clock import RealClock, current_clock
from orbit.simulation import SIMULATION_START, SimulationLoop, VirtualClock, simulate

DAY = 86_400.0


def test_a_day_of_sleep_passes_in_virtual_time() -> None:
    async def main() -> float:
        await anyio.sleep(DAY)
        return vnow()

    began = time.monotonic()
    assert simulate(main) == DAY
    # a real day would meet the per-test timeout long before; this bound only names it
    assert time.monotonic() - began < 10


def test_simulate_passes_arguments_and_returns_the_result() -> None:
    async def main(a: int, b: str) -> str:
        await asyncio.sleep(1)  # noqa: TID251 - plain asyncio must jump too
        return f"{a}{b}@{vnow()}"

    assert simulate(main, 4, "x") == "4x@1.0"


def test_timers_fire_in_deadline_order_and_ties_in_scheduling_order() -> None:
    async def main() -> list[tuple[str, float]]:
        fired: list[tuple[str, float]] = []

        async def sleeper(name: str, seconds: float) -> None:
            await anyio.sleep(seconds)
            fired.append((name, vnow()))

        async with anyio.create_task_group() as tg:
            for name, seconds in [("c", 30.0), ("a", 10.0), ("b1", 20.0), ("b2", 20.0)]:
                tg.start_soon(sleeper, name, seconds)
        loop = asyncio.get_running_loop()
        loop.call_later(5, lambda: fired.append(("later", vnow())))
        loop.call_at(vnow() + 2, lambda: fired.append(("at", vnow())))
        await anyio.sleep(10)
        return fired

    assert simulate(main) == [
        ("a", 10.0),
        ("b1", 20.0),
        ("b2", 20.0),
        ("c", 30.0),
        ("at", 32.0),
        ("later", 35.0),
    ]


def test_move_on_after_and_fail_after_expire_exactly_at_their_deadline() -> None:
    async def main() -> tuple[bool, float, float]:
        with anyio.move_on_after(5) as scope:
            await anyio.sleep(3600)
        moved_at = vnow()
        with pytest.raises(TimeoutError):
            with anyio.fail_after(2.5):
                await anyio.sleep_forever()
        return scope.cancelled_caught, moved_at, vnow()

    assert simulate(main) == (True, 5.0, 7.5)


def test_asyncio_timeouts_use_virtual_time() -> None:
    async def main() -> float:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.Event().wait(), timeout=60)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(40):
                await asyncio.Event().wait()
        return vnow()

    assert simulate(main) == 100.0


def test_task_groups_wait_for_the_slowest_child() -> None:
    async def main() -> tuple[float, list[int]]:
        done: list[int] = []

        async def child(i: int) -> None:
            await anyio.sleep(i * 60)
            done.append(i)

        async with anyio.create_task_group() as tg:
            for i in (3, 1, 2):
                tg.start_soon(child, i)
        return vnow(), done

    assert simulate(main) == (180.0, [1, 2, 3])


def test_memory_streams_carry_items_at_their_virtual_times() -> None:
    async def main() -> list[tuple[int, float]]:
        send, receive = anyio.create_memory_object_stream[int]()
        got: list[tuple[int, float]] = []

        async def produce() -> None:
            async with send:
                for i in range(3):
                    await anyio.sleep(7)
                    await send.send(i)

        async with anyio.create_task_group() as tg:
            tg.start_soon(produce)
            async with receive:
                async for item in receive:
                    got.append((item, vnow()))
        return got

    assert simulate(main) == [(0, 7.0), (1, 14.0), (2, 21.0)]


def test_the_virtual_clock_is_the_running_loops_clock() -> None:
    async def main() -> tuple[object, float, float, float]:
        clock = current_clock()
        assert isinstance(clock, VirtualClock)
        first = clock.now()
        await clock.sleep(90)
        return clock, first, clock.now(), clock.monotonic()

    clock, first, later, monotonic = simulate(main, start=1_000.0)
    assert isinstance(clock, VirtualClock)
    assert (first, later, monotonic) == (1_000.0, 1_090.0, 90.0)


def test_the_default_start_is_2026() -> None:
    async def main() -> float:
        return current_clock().now()

    assert simulate(main) == SIMULATION_START == 1_767_225_600.0


def test_current_clock_is_real_outside_a_simulation() -> None:
    async def main() -> object:
        return current_clock()

    assert isinstance(current_clock(), RealClock)
    assert isinstance(asyncio.run(main()), RealClock)


def test_anyio_run_accepts_the_loop_as_a_factory() -> None:
    async def main() -> float:
        await anyio.sleep(DAY * 7)
        return current_clock().monotonic()

    assert anyio.run(main, backend_options={"loop_factory": SimulationLoop}) == DAY * 7


@pytest.mark.anyio
async def test_anyio_tests_here_run_in_virtual_time() -> None:
    before = vnow()
    await anyio.sleep(3600)
    assert vnow() - before == 3600
    assert isinstance(current_clock(), VirtualClock)


def _trace(seed: int) -> list[tuple[str, float]]:
    async def main() -> list[tuple[str, float]]:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, SimulationLoop)
        trace: list[tuple[str, float]] = []

        async def worker(name: str) -> None:
            for _ in range(20):
                await anyio.sleep(loop.random.uniform(0, 10))
                trace.append((name, vnow()))

        async with anyio.create_task_group() as tg:
            for name in "abcde":
                tg.start_soon(worker, name)
        return trace

    return simulate(main, seed=seed)


def test_the_same_seed_gives_the_same_run() -> None:
    assert _trace(7) == _trace(7)
    assert _trace(7) != _trace(8)


# --- real I/O inside a simulation ---------------------------------------------------------


async def _tick(ticks: list[float]) -> None:
    while True:
        await anyio.sleep(1)
        ticks.append(vnow())


def test_real_loopback_sockets_work_while_timers_jump() -> None:
    async def main() -> tuple[list[bytes], int]:
        ticks: list[float] = []
        replies: list[bytes] = []

        async def echo_upper(stream: anyio.abc.SocketStream) -> None:
            async with stream:
                async for data in stream:
                    await stream.send(data.upper())

        listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
        async with listener, anyio.create_task_group() as tg:
            tg.start_soon(_tick, ticks)
            tg.start_soon(listener.serve, echo_upper)
            port = listener.extra(anyio.abc.SocketAttribute.local_port)
            with anyio.fail_after(30):  # virtual: a lost message would jump here at once
                async with await anyio.connect_tcp("127.0.0.1", port) as stream:
                    for word in (b"ping", b"pong", b"orbit"):
                        await stream.send(word)
                        replies.append(await stream.receive())
            await anyio.sleep(10)
            tg.cancel_scope.cancel()
        return replies, len(ticks)

    replies, ticks = simulate(main)
    assert replies == [b"PING", b"PONG", b"ORBIT"]
    assert ticks >= 10  # the ticker kept running in virtual time around the exchange


def test_time_waits_for_a_child_process_in_wall_time() -> None:
    async def main() -> tuple[bytes, list[float]]:
        ticks: list[float] = []
        async with anyio.create_task_group() as tg:
            tg.start_soon(_tick, ticks)
            with anyio.fail_after(5):  # jumped over, this would expire before the child ends
                process = await asyncio.create_subprocess_exec(
                    sys.executable, "-c", "print('child')", stdout=asyncio.subprocess.PIPE
                )
                out, _ = await process.communicate()
            tg.cancel_scope.cancel()
        return out, ticks

    out, ticks = simulate(main)
    assert out.strip() == b"child"
    assert len(ticks) < 5


def test_time_waits_for_executor_work_in_wall_time() -> None:
    def compute() -> int:
        return sum(range(3_000_000))

    async def main() -> int:
        ticks: list[float] = []
        async with anyio.create_task_group() as tg:
            tg.start_soon(_tick, ticks)
            with anyio.fail_after(1):  # jumped over, this would expire at once
                result = await asyncio.get_running_loop().run_in_executor(None, compute)
            tg.cancel_scope.cancel()
        return result

    assert simulate(main) == sum(range(3_000_000))


def test_the_simulation_package_exports_what_it_names() -> None:
    import orbit.simulation  # noqa: PLC0415 - the module object itself is under test

    exported = orbit.simulation.__all__
    assert exported == sorted(exported)
    public = {
        name
        for name, value in vars(orbit.simulation).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert set(exported) == public


def test_a_cluster_takes_the_simulations_seed() -> None:
    """Inside ``simulate(seed=…)`` a Cluster without a seed of its own is seeded by it,
    so its uids (and SimRuntime jitter keyed by them) replay; another seed differs."""
    import orbit  # noqa: PLC0415

    async def uid_of_a_pod() -> str:
        async with orbit.Cluster(nodes=[]) as cluster:
            await cluster.apply(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": "p"},
                    "spec": {"containers": [{"name": "c", "image": "x"}]},
                }
            )
            pod = await cluster.get("pod", "p")
            return str(pod.metadata.uid)

    first = simulate(uid_of_a_pod, seed=7)
    assert simulate(uid_of_a_pod, seed=7) == first
    assert simulate(uid_of_a_pod, seed=8) != first
