"""``orbit bench placement``: the placement benchmark, with a progress bar.

::

    orbit bench placement [--dataset NAME ...] [--strategy S ...] [--limit N]
                          [--time-limit S] [--seed N] [--data PATH] [--json PATH]

It runs ``benchmarks/placement.py`` of an orbit source checkout (the public datasets
live beside it, in ``benchmarks/data``; they are not part of the installed package):
every strategy of :func:`orbit.scheduling.pack` (or those named) on every dataset (or
those named), ``--limit`` instances per dataset spread over it, and prints the
script's table and its two targets. The checkout is found from the working directory
upwards, then from where orbit is installed from (an editable install); ``--data``
reads the datasets from elsewhere.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio.to_thread
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

import orbit

__all__ = ["BenchmarkNotFound", "find_benchmarks", "register", "run_bench_placement"]

SCRIPT = "placement.py"


class BenchmarkNotFound(Exception):
    """No orbit source checkout with ``benchmarks/placement.py`` was found."""


class _Stopped(Exception):
    """Raised from the progress callback to end the run early."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``bench`` (with its ``placement`` benchmark) to the ``orbit`` command."""
    bench = subparsers.add_parser("bench", help="run one of orbit's benchmarks")
    which = bench.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    parser = which.add_parser(
        "placement",
        help="placement quality of every strategy on the public bin-packing datasets",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument(
        "--dataset", action="append", metavar="NAME", help="a dataset (default: all)"
    )
    parser.add_argument(
        "--strategy",
        action="append",
        metavar="S",
        help="a strategy (default: all: balanced, best-fit, ffd, first-fit, optimal, spread)",
    )
    parser.add_argument("--limit", type=int, default=None, help="instances per dataset")
    parser.add_argument(
        "--time-limit", type=float, default=2.0, help="seconds per instance (optimal)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=None, help="the datasets' directory")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.set_defaults(func=run_bench_placement)


def find_benchmarks(start: Path | None = None) -> Path:
    """The ``benchmarks`` directory of an orbit checkout: from ``start`` (default the
    working directory) upwards, then from the installed package's source tree."""
    here = (start or Path.cwd()).resolve()
    installed = Path(orbit.__file__).resolve().parent
    for directory in (here, *here.parents, *installed.parents):
        candidate = directory / "benchmarks"
        if (candidate / SCRIPT).is_file():
            return candidate
    raise BenchmarkNotFound(
        "orbit bench needs an orbit source checkout (benchmarks/placement.py and "
        "benchmarks/data): run it inside one"
    )


def _load(benchmarks: Path) -> ModuleType:
    """The benchmark script as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("orbit_bench_placement", benchmarks / SCRIPT)
    if spec is None or spec.loader is None:
        raise BenchmarkNotFound(f"cannot load {benchmarks / SCRIPT}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # attrs and pickling look classes up by module
    spec.loader.exec_module(module)
    return module


def _options(args: argparse.Namespace, script: ModuleType, benchmarks: Path) -> Any:
    """The script's own option namespace, from ``args`` (``ValueError`` for unknown
    datasets or strategies)."""
    sets = list(script.all_sets())
    chosen = args.dataset or sets
    unknown = [name for name in chosen if name not in sets]
    if unknown:
        raise ValueError(f"unknown dataset {', '.join(unknown)}; known: {', '.join(sets)}")
    from orbit.scheduling import strategies  # noqa: PLC0415 - loads numpy: only when run

    names = list(args.strategy or strategies())
    wrong = [name for name in names if name not in strategies()]
    if wrong:
        known = ", ".join(strategies())
        raise ValueError(f"unknown strategy {', '.join(wrong)}; known: {known}")
    if "best-fit" not in names:
        names.append("best-fit")  # the trace's reference, as the script does
    return argparse.Namespace(
        sets=chosen,
        strategies=names,
        time_limit=args.time_limit,
        limit=args.limit,
        seed=args.seed,
        data=args.data or benchmarks / "data",
    )


def _prepare(args: argparse.Namespace) -> tuple[ModuleType, Any]:
    """The benchmark script and its options; ``ValueError`` when the datasets are
    missing or an option names nothing known."""
    benchmarks = find_benchmarks()
    script = _load(benchmarks)
    options = _options(args, script, benchmarks)
    if not Path(options.data).is_dir():
        raise ValueError(f"no datasets at {options.data} (see --data)")
    return script, options


def _run(script: ModuleType, options: Any, console: Console, stop: threading.Event) -> list[Any]:
    """Every chosen dataset's rows, a progress bar per dataset (blocking)."""
    columns = (
        TextColumn("{task.description:<16}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("instances"),
        TimeElapsedColumn(),
    )
    rows: list[Any] = []
    with Progress(*columns, console=console) as progress:
        sizes = {
            name: sum(1 for _ in script.instances_of(name, options.data, options.limit))
            for name in options.sets
        }
        tasks = {name: progress.add_task(name, total=sizes[name]) for name in options.sets}
        for name in options.sets:

            def advance(_line: str, task: Any = tasks[name]) -> None:
                if stop.is_set():
                    raise _Stopped
                progress.advance(task)

            rows += script.run_set(name, options, advance)
    return rows


async def run_bench_placement(args: argparse.Namespace) -> int:
    """``orbit bench placement``: exit 0 after printing the table, 1 when the
    benchmark or its data cannot be found or an option is wrong."""
    try:
        script, options = _prepare(args)
    except (BenchmarkNotFound, ValueError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    console = Console(stderr=True)
    stop = threading.Event()
    run: Callable[[], list[Any]] = functools.partial(_run, script, options, console, stop)
    try:
        rows = await anyio.to_thread.run_sync(run)
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    finally:
        stop.set()
    summary = script.summarise(rows)
    script.print_table(summary)
    for key, value in script.targets(summary, rows, options.time_limit).items():
        sys.stdout.write(f"{key}: {value}\n")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"summary": summary, "rows": rows}, indent=2) + "\n")
        sys.stderr.write(f"orbit bench: results written to {args.json}\n")
    sys.stdout.flush()
    return 0
