"""``orbit sim SCENARIO.yaml``: a what-if in virtual time, one run per HPA policy.

::

    orbit sim SCENARIO.yaml [--out DIR] [--seed N] [--jobs N] [--policy NAME ...]

The scenario file (its format: :mod:`orbit.whatif._scenario`) names simulated nodes
and node pools, the manifests, a day-shaped load, the duration and the HPA behavior
policies to compare. Each policy runs in its own simulated cluster under
:func:`orbit.simulate` (the same seeded load for each; ``--jobs`` of them at a time in
worker processes) while a progress bar shows the simulated hours each has done. Then
the table is printed (markdown), and ``report.md``, ``report.json`` and ``timeline.png`` (with
matplotlib) are written to ``--out`` (default ``<scenario>-report``).
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import anyio.to_thread
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from orbit.errors import OrbitError, ValidationError

if TYPE_CHECKING:
    from orbit.whatif import Day, WhatIf

__all__ = ["SimulationAborted", "register", "run_sim"]


class SimulationAborted(Exception):
    """Raised inside a running simulation to end it early (the command was stopped)."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``sim`` to the ``orbit`` command."""
    parser = subparsers.add_parser(
        "sim",
        help="run a what-if scenario in virtual time and write a report",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument("scenario", metavar="SCENARIO.yaml", help="the scenario file")
    parser.add_argument(
        "--out", type=Path, default=None, help="report directory (default: <scenario>-report)"
    )
    parser.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    parser.add_argument(
        "--jobs",
        type=int,
        default=min(4, os.cpu_count() or 1),
        help="policies run side by side in worker processes",
    )
    parser.add_argument(
        "--policy", action="append", default=None, metavar="NAME", help="run only these policies"
    )
    parser.set_defaults(func=run_sim)


def _print_issues(exc: ValidationError) -> None:
    sys.stderr.write(f"error: {exc.subject or 'the scenario'} is invalid:\n")
    for issue in exc.issues:
        sys.stderr.write(f"  {issue}\n")


def _chosen(whatif: WhatIf, wanted: list[str] | None) -> list[str]:
    """The policies to run, in the scenario's order; ``ValueError`` for unknown ones."""
    if not wanted:
        return list(whatif.policies)
    unknown = [name for name in wanted if name not in whatif.policies]
    if unknown:
        known = ", ".join(whatif.policies)
        raise ValueError(f"unknown policy {', '.join(unknown)} (the scenario has: {known})")
    return [name for name in whatif.policies if name in wanted]


def _run(
    whatif: WhatIf, names: list[str], jobs: int, console: Console, stop: threading.Event
) -> list[Day]:
    """Every policy, with a progress bar of simulated hours per policy (blocking: run
    it in a worker thread, where simulations may start their own event loops)."""
    hours = whatif.duration_s / 3600
    columns = (
        TextColumn("{task.description:<20}"),
        BarColumn(),
        TextColumn("{task.completed:6.1f}/{task.total:g} simulated h"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        tasks: dict[str, TaskID] = {name: progress.add_task(name, total=hours) for name in names}

        def advanced(policy: str, t: float) -> None:
            if stop.is_set():
                raise SimulationAborted
            progress.update(tasks[policy], completed=min(hours, t / 3600))

        def done(day: Day) -> None:
            progress.update(
                tasks[day.policy],
                completed=hours,
                description=f"{day.policy} ({day.wall_s:.1f} s)",
            )

        from orbit.whatif import run_policies  # noqa: PLC0415 - loads the Cluster

        return run_policies(whatif, names, jobs=jobs, progress=advanced, done=done)


async def run_sim(args: argparse.Namespace) -> int:
    """``orbit sim``: exit 0 with the report written, 1 on an invalid scenario or a
    failed run."""
    from orbit.whatif import load_scenario, markdown_table, write_report  # noqa: PLC0415

    try:
        whatif = load_scenario(args.scenario, seed=args.seed)
        names = _chosen(whatif, args.policy)
    except ValidationError as exc:
        _print_issues(exc)
        return 1
    except ValueError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    out: Path = args.out or Path(f"{Path(args.scenario).stem}-report")
    console = Console(stderr=True)
    console.print(
        f"orbit sim: {whatif.name}: {whatif.duration_s / 3600:g} virtual h x "
        f"{len(names)} polic{'ies' if len(names) != 1 else 'y'}, seed {whatif.seed}"
    )
    stop = threading.Event()
    run: Callable[[], list[Day]] = functools.partial(
        _run, whatif, names, max(1, args.jobs), console, stop
    )
    try:
        days = await anyio.to_thread.run_sync(run)
    except (OrbitError, ValueError) as exc:
        sys.stderr.write(f"error: a run failed: {exc}\n")
        return 1
    finally:
        stop.set()
    for line in markdown_table([day.summary for day in days]):
        sys.stdout.write(line + "\n")
    sys.stdout.flush()
    written = write_report(out, days, whatif)
    if not any(path.suffix == ".png" for path in written):
        sys.stderr.write(
            "orbit sim: matplotlib is not installed (pip install 'orbit[bench]'): "
            "no plots written\n"
        )
    sys.stderr.write(f"orbit sim: report written to {', '.join(map(str, written))}\n")
    return 0
