"""The service proxy's cost: the same HTTP server reached directly and through
``orbit.net.ServiceProxy``, side by side.

Run ``python benchmarks/proxy.py`` (about two minutes on 2 cores; both event loops when
uvloop is installed: ``pip install 'orbit[fast]'``) or with ``--quick`` for a smoke run
(about 10 s, one loop, one repeat). Prints a table and writes
``benchmarks/results/proxy.json``.

Three processes, as in a real deployment where the proxy lives in the cluster's
process and the pods and their clients are processes of their own: an HTTP/1.1
keep-alive server (the "pod"), the proxy (a ``MemoryStore`` holding a Service and its
Endpoints, and a running ``ServiceProxy``; no controllers), and the load generator (this
process). All three share this machine's cores, so the proxy's CPU is paid for out of
the same budget as the server's and the client's. Each process runs asyncio's default
loop or uvloop (``--loops``); server and client are asyncio Protocols, so the client is
not the bottleneck of the direct runs.

Measurements, each directly and through the proxy, for each loop, ``--repeat`` times
(5; direct and proxied runs alternate): a throughput is the best of the runs (other load
on the machine only ever slows a run down), a latency the median. Every run also
records the user and system CPU time of each process (from ``/proc``), reported per
request or per MiB: it shows where the proxy's cost goes.

1. **short requests, throughput**: ``--connections`` (32) keep-alive connections, each
   sending ``GET /`` and waiting for the 13-byte reply before the next, for
   ``--seconds`` (3; 1 with ``--quick``) after a warm-up: requests per second. Latency
   percentiles of this closed-loop run are recorded too (at saturation they are mostly
   queueing: concurrency / throughput).
2. **short requests, latency**: one connection, ``--pings`` (20,000; 3,000 with
   ``--quick``) requests one after the other: p50 and p99 of each request's round trip.
   The difference of the p99s is the latency the proxy adds.
3. **bulk transfer**: one connection downloads ``--bulk-mb`` (1,024; 128 with
   ``--quick``) MiB in one response: MiB per second.

Targets (issue 6, this machine): through the proxy >= 50% of direct requests/s for short
requests and >= 80% of direct MiB/s for bulk, and < 1 ms added p99 latency.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Coroutine
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from _bench import Row, write_results

RESULTS = Path(__file__).parent / "results" / "proxy.json"

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, world!"
REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
CHUNK = 1 << 20
BLOB = memoryview(bytes(CHUNK))
TARGETS = {"requests/s": 0.5, "MiB/s": 0.8}
ADDED_P99_TARGET_S = 0.001

Runs = dict[str, list[dict[str, Row]]]
"""Per target ("direct", "proxy"), each repeat's rows by measurement step."""


# -- event loops -------------------------------------------------------------------------


def available_loops() -> list[str]:
    try:
        import uvloop  # noqa: F401, PLC0415 - optional
    except ImportError:
        return ["asyncio"]
    return ["asyncio", "uvloop"]


def run(main: Coroutine[Any, Any, Any], loop: str) -> Any:
    """Run ``main`` on asyncio's default loop or on uvloop."""
    if loop == "uvloop":
        import uvloop  # noqa: PLC0415 - optional

        return uvloop.run(main)
    return asyncio.run(main)


# -- the server (a pod) ------------------------------------------------------------------


class HttpServer(asyncio.Protocol):
    """Minimal HTTP/1.1 keep-alive: ``GET /`` gets 13 bytes, ``GET /bulk/<n>`` gets n
    bytes, written as fast as the connection takes them."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.remaining = 0
        self.paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head, self.buffer = self.buffer[:end], self.buffer[end + 4 :]
            assert self.transport is not None
            if head.startswith(b"GET /bulk/"):
                size = int(head[10 : head.index(b" ", 10)])
                header = f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n"
                self.transport.write(header.encode())
                self.remaining = size
                self.pump()
            else:
                self.transport.write(RESPONSE)

    def pump(self) -> None:
        assert self.transport is not None
        while self.remaining and not self.paused:
            size = min(self.remaining, CHUNK)
            self.transport.write(BLOB[:size])
            self.remaining -= size

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        self.pump()


async def serve_http(conn: Connection) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(HttpServer, "127.0.0.1", 0, backlog=1024)
    conn.send(server.sockets[0].getsockname()[1])
    await asyncio.Event().wait()


def server_process(conn: Connection, loop: str) -> None:
    run(serve_http(conn), loop)


# -- the proxy (the cluster's process) ---------------------------------------------------


async def serve_proxy(conn: Connection, server_port: int) -> None:
    import anyio  # noqa: PLC0415 - imported in the child only

    from orbit.api import (  # noqa: PLC0415
        EndpointAddress,
        EndpointPort,
        Endpoints,
        EndpointSubset,
        ObjectMeta,
        Service,
        ServicePort,
        ServiceSpec,
    )
    from orbit.net import ServiceProxy  # noqa: PLC0415
    from orbit.store import MemoryStore  # noqa: PLC0415

    store = MemoryStore()
    meta = ObjectMeta(name="bench", namespace="default")
    store.create(Service(metadata=meta, spec=ServiceSpec(ports=(ServicePort(port=80),))))
    subset = EndpointSubset(
        addresses=(EndpointAddress(ip="127.0.0.1"),), ports=(EndpointPort(port=server_port),)
    )
    store.create(Endpoints(metadata=meta, subsets=(subset,)))
    proxy = ServiceProxy(store)
    async with anyio.create_task_group() as group:
        await group.start(proxy.run)
        conn.send(proxy.address("default", "bench")[1])
        await anyio.sleep_forever()


def proxy_process(conn: Connection, loop: str, server_port: int) -> None:
    run(serve_proxy(conn, server_port), loop)


# -- the load generator ------------------------------------------------------------------


class Requester(asyncio.Protocol):
    """One keep-alive connection sending ``GET /`` after each complete reply until the
    deadline, recording each round trip."""

    def __init__(self, samples: list[float], deadline: float, done: asyncio.Future[None]):
        self.samples = samples
        self.deadline = deadline
        self.done = done
        self.transport: asyncio.Transport | None = None
        self.pending = 0
        self.sent_at = 0.0
        self.limit = -1  # requests left when counting instead of timing

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.send()

    def send(self) -> None:
        assert self.transport is not None
        self.pending = len(RESPONSE)
        self.sent_at = time.perf_counter()
        self.transport.write(REQUEST)

    def data_received(self, data: bytes) -> None:
        self.pending -= len(data)
        if self.pending:
            return
        now = time.perf_counter()
        self.samples.append(now - self.sent_at)
        self.limit -= 1
        if now < self.deadline and self.limit != 0:
            self.send()
        elif not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(exc or ConnectionError("closed by the peer"))


async def short_requests(port: int, connections: int, seconds: float, warmup_s: float) -> Row:
    """Closed loop: ``connections`` connections busy for ``seconds``."""
    await _requests(port, connections, deadline_s=warmup_s)  # warm-up, not counted
    started = time.perf_counter()
    samples = await _requests(port, connections, deadline_s=seconds)
    elapsed = time.perf_counter() - started
    return {"value": len(samples) / elapsed, **_percentiles(samples)}


async def ping_latency(port: int, pings: int) -> Row:
    """One connection, ``pings`` requests one after the other."""
    await _requests(port, 1, count=max(100, pings // 10))  # warm-up
    samples = await _requests(port, 1, count=pings)
    return {"value": statistics.median(samples), **_percentiles(samples)}


async def _requests(
    port: int, connections: int, *, deadline_s: float = 3600.0, count: int = -1
) -> list[float]:
    loop = asyncio.get_running_loop()
    samples: list[float] = []
    deadline = time.perf_counter() + deadline_s
    transports = []
    waits = []
    for _ in range(connections):
        done: asyncio.Future[None] = loop.create_future()
        requester = Requester(samples, deadline, done)
        requester.limit = count
        transport, _ = await loop.create_connection(lambda r=requester: r, "127.0.0.1", port)
        transports.append(transport)
        waits.append(done)
    await asyncio.gather(*waits)
    for transport in transports:
        transport.close()
    return samples


class Downloader(asyncio.Protocol):
    def __init__(self, size: int, done: asyncio.Future[None]) -> None:
        self.remaining = size
        self.header = True
        self.done = done

    def data_received(self, data: bytes) -> None:
        if self.header:
            end = data.find(b"\r\n\r\n")
            data = data[end + 4 :]
            self.header = False
        self.remaining -= len(data)
        if self.remaining <= 0 and not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(exc or ConnectionError("closed before the end"))


async def bulk(port: int, mib: int) -> Row:
    """One connection downloads ``mib`` MiB; MiB per second (after a 16 MiB warm-up)."""
    await _download(port, 16 << 20)
    started = time.perf_counter()
    await _download(port, mib << 20)
    elapsed = time.perf_counter() - started
    return {"value": mib / elapsed, "seconds": elapsed, "mib": mib}


async def _download(port: int, size: int) -> None:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    transport, _ = await loop.create_connection(lambda: Downloader(size, done), "127.0.0.1", port)
    transport.write(f"GET /bulk/{size} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
    await done
    transport.close()


def _percentiles(samples: list[float]) -> Row:
    ordered = sorted(samples)
    return {
        "samples": len(ordered),
        "p50_s": statistics.median(ordered),
        "p99_s": ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))],
    }


# -- one loop ----------------------------------------------------------------------------


def start(target: Callable[..., None], *args: Any) -> tuple[multiprocessing.Process, int]:
    """Start a child process that sends back the port it listens on."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=target, args=(child, *args), daemon=True)
    process.start()
    if not parent.poll(30):
        process.terminate()
        raise RuntimeError(f"{target.__name__} did not start")
    port: int = parent.recv()
    return process, port


def cpu_s(pid: int) -> tuple[float, float]:
    """A process's user and system CPU seconds so far (Linux ``/proc``; zeros elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


async def measure(port: int, pids: dict[str, int], args: argparse.Namespace) -> dict[str, Row]:
    """The three measurements against ``port``; each row gets the CPU time every process
    spent during it (``cpu_s``: role -> [user, system])."""
    steps: dict[str, Callable[[], Coroutine[Any, Any, Row]]] = {
        "short": lambda: short_requests(port, args.connections, args.seconds, args.warmup),
        "ping": lambda: ping_latency(port, args.pings),
        "bulk": lambda: bulk(port, args.bulk_mb),
    }
    rows: dict[str, Row] = {}
    for name, step in steps.items():
        before = {role: cpu_s(pid) for role, pid in pids.items()}
        rows[name] = await step()
        rows[name]["cpu_s"] = {
            role: [round(a - b, 3) for a, b in zip(cpu_s(pid), before[role], strict=True)]
            for role, pid in pids.items()
        }
    return rows


def bench_loop(loop: str, args: argparse.Namespace) -> list[Row]:
    """Every measurement on ``loop``, ``--repeat`` times, direct and proxied in turn."""
    server, server_port = start(server_process, loop)
    proxy, proxy_port = start(proxy_process, loop, server_port)
    pids = {"server": server.pid or 0, "proxy": proxy.pid or 0, "client": os.getpid()}
    runs: Runs = {"direct": [], "proxy": []}
    try:
        for _ in range(args.repeat):
            runs["direct"].append(run(measure(server_port, pids, args), loop))
            runs["proxy"].append(run(measure(proxy_port, pids, args), loop))
    finally:
        for process in (proxy, server):
            process.terminate()
            process.join()
    return rows(loop, runs, args)


def rows(loop: str, runs: Runs, args: argparse.Namespace) -> list[Row]:
    short = f"short requests, {args.connections} connections"
    out = [
        _row(loop, f"{short}: requests/s", runs, "short", "value", "requests/s"),
        _row(loop, f"{short}: p99 ms", runs, "short", "p99_s", "ms"),
        _row(loop, "1 connection: p50 ms", runs, "ping", "p50_s", "ms"),
        _row(loop, "1 connection: p99 ms", runs, "ping", "p99_s", "ms"),
        _row(loop, f"bulk, {args.bulk_mb} MiB: MiB/s", runs, "bulk", "value", "MiB/s"),
    ]
    p99 = out[3]
    added_s = (p99["proxy"] - p99["direct"]) / 1000
    p99.update(
        added_p99_s=added_s,
        target=f"added < {ADDED_P99_TARGET_S * 1000:g} ms",
        met=added_s < ADDED_P99_TARGET_S,
    )
    return out


def _row(
    loop: str,
    measurement: str,
    runs: Runs,
    step: str,
    key: str,
    unit: str,
) -> Row:
    """Direct and proxied over the repeats, and their ratio: the best run for a
    throughput (other load on the machine only ever slows a run down), the median run
    for a latency; with the CPU each process spent per request (short requests) or per
    MiB (bulk)."""
    scale = 1000.0 if unit == "ms" else 1.0
    values = {t: [r[step][key] * scale for r in runs[t]] for t in runs}
    row: Row = {"loop": loop, "measurement": measurement, "unit": unit}
    pick = statistics.median if unit == "ms" else max
    row["direct"] = pick(values["direct"])
    row["proxy"] = pick(values["proxy"])
    row["ratio"] = row["proxy"] / row["direct"]
    row["repeats"] = values
    if unit in TARGETS:
        row["target"] = f"ratio >= {TARGETS[unit]:.0%}"
        row["met"] = row["ratio"] >= TARGETS[unit]
    if key == "value" and step in ("short", "bulk"):
        row["cpu_us_per_unit"] = {t: _cpu_per_unit(runs[t], step) for t in runs}
    return row


def _cpu_per_unit(runs: list[dict[str, Row]], step: str) -> dict[str, dict[str, float]]:
    """CPU microseconds (user, system) per request or per MiB, by process, summed over
    the repeats (the warm-ups' CPU is counted too, their work is not: a slight excess)."""
    units = sum(r[step]["samples"] if step == "short" else r[step]["mib"] for r in runs)
    roles = runs[0][step]["cpu_s"]
    return {
        role: {
            part: round(sum(r[step]["cpu_s"][role][i] for r in runs) / units * 1e6, 2)
            for i, part in enumerate(("user", "system"))
        }
        for role in roles
    }


# -- report ------------------------------------------------------------------------------


def report(all_rows: list[Row], load: tuple[float, ...], load_after: tuple[float, ...]) -> None:
    loads = " ".join(f"{value:.2f}" for value in load)
    loads_after = " ".join(f"{value:.2f}" for value in load_after)
    print(
        f"orbit service proxy vs direct, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs; load average before {loads}, after {loads_after}\n"
    )
    print(f"{'loop':<9}{'measurement':<46}{'direct':>11}{'proxy':>11}{'ratio':>8}  target")
    print("-" * 110)
    for row in all_rows:
        verdict = ""
        if "met" in row:
            verdict = f"{row['target']}: {'met' if row['met'] else 'MISSED'}"
        if "added_p99_s" in row:
            verdict = f"added {row['added_p99_s'] * 1000:.3f} ms; {verdict}"
        print(
            f"{row['loop']:<9}{row['measurement']:<46}{row['direct']:>11,.3f}"
            f"{row['proxy']:>11,.3f}{row['ratio']:>7.0%}  {verdict}"
        )
    print("\nCPU microseconds (user + system) per request / per MiB, by process:")
    for row in all_rows:
        cpu = row.get("cpu_us_per_unit")
        if not cpu:
            continue
        for target, roles in cpu.items():
            parts = "  ".join(
                f"{role} {used['user']:.1f} + {used['system']:.1f}"
                for role, used in roles.items()
                if used["user"] + used["system"] > 0
            )
            label = row["measurement"].split(":")[0]
            print(f"  {row['loop']:<8} {label:<34} {target:<7} {parts}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loops", nargs="+", choices=["asyncio", "uvloop"], default=None)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--pings", type=int, default=20_000)
    parser.add_argument("--bulk-mb", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=5, help="runs of each (best / median)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: shorter, smaller")
    parser.add_argument("--json", type=Path, default=RESULTS, help="where to write results")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    loops = args.loops or available_loops()
    if args.quick:
        args.seconds, args.warmup, args.pings, args.bulk_mb, args.repeat = 1.0, 0.2, 3000, 128, 1
        loops = args.loops or loops[-1:]
    load = os.getloadavg()
    all_rows: list[Row] = []
    for loop in loops:
        all_rows.extend(bench_loop(loop, args))
        print(f"  {loop}: done", file=sys.stderr)
    load_after = os.getloadavg()
    report(all_rows, load, load_after)
    write_results(
        args.json,
        "proxy",
        all_rows,
        load_average_before=load,
        load_average_after=load_after,
        connections=args.connections,
        seconds=args.seconds,
        pings=args.pings,
        bulk_mib=args.bulk_mb,
        repeat=args.repeat,
    )
    if args.check and any(row.get("met") is False for row in all_rows):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
