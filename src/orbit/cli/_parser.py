"""The ``orbit`` command line: argparse, shaped like kubectl's.

Global flags (``--socket``, ``--cluster``) and the namespace flags (``-n``, ``-A``)
may come before or after the verb, as kubectl allows (``orbit get pods -n team``).
Every verb's parser sets ``func``: an async callable taking the parsed arguments and
returning the exit status. ``orbit up``, ``sim`` and ``bench`` register themselves
from their own modules (``orbit.cli._up`` ... ``register(subparsers)``); when one is
missing the others still work.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

from . import _verbs, _verbs_change

__all__ = ["add_connection_flags", "build_parser", "parse_duration"]

_OPTIONAL_COMMANDS = ("_up", "_sim", "_bench")


def parse_duration(text: str) -> float:
    """A Go duration as kubectl's flags take it (``30s``, ``5m``, ``1h30m``,
    ``1.5s``, ``0``), in seconds; a bare number is seconds."""
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    rest = text.strip()
    if not rest:
        raise argparse.ArgumentTypeError('invalid duration "" (e.g. 30s, 5m, 1h)')
    try:
        return float(rest)
    except ValueError:
        pass
    total, number = 0.0, ""
    index = 0
    while index < len(rest):
        char = rest[index]
        if char.isdigit() or char == ".":
            number += char
            index += 1
            continue
        unit = next(
            (u for u in sorted(units, key=len, reverse=True) if rest.startswith(u, index)), None
        )
        if unit is None or not number:
            raise argparse.ArgumentTypeError(f"invalid duration {text!r} (e.g. 30s, 5m, 1h)")
        total += float(number) * units[unit]
        number, index = "", index + len(unit)
    if number:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}: missing unit")
    return total


def add_connection_flags(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    """``--socket`` and ``--cluster`` on ``parser``; on a verb's parser they default to
    nothing, so the values given before the verb stand unless repeated after it."""
    default = None if top else argparse.SUPPRESS
    parser.add_argument(
        "--socket",
        metavar="PATH",
        default=default,
        help="the cluster's control socket (default: $ORBIT_SOCKET, else the socket of --cluster)",
    )
    parser.add_argument(
        "--cluster",
        metavar="NAME",
        default=default,
        help='the cluster to talk to, by name (default: "default")',
    )


def _namespace_flags(parser: argparse.ArgumentParser, *, all_namespaces: bool = True) -> None:
    parser.add_argument("-n", "--namespace", help='the namespace (default: "default")')
    if all_namespaces:
        parser.add_argument(
            "-A",
            "--all-namespaces",
            action="store_true",
            help="list across all namespaces",
        )


def _verb(subparsers: Any, name: str, func: Any, help_text: str, **kwargs: Any) -> Any:
    parser = subparsers.add_parser(name, help=help_text, description=help_text, **kwargs)
    add_connection_flags(parser, top=False)
    parser.set_defaults(func=func, prog=parser.prog)
    return parser


def _add_reading(sub: Any) -> None:
    get = _verb(sub, "get", _verbs.get, "display one or many objects")
    get.add_argument("kind", metavar="KIND", help="a kind (pods, deploy, svc...), comma-separated")
    get.add_argument("names", metavar="NAME", nargs="*", help="objects to show (default: all)")
    get.add_argument("-o", "--output", choices=("wide", "yaml", "json", "name"))
    get.add_argument("-l", "--selector", help="a label selector (app=web,tier!=db)")
    get.add_argument(
        "-w", "--watch", action="store_true", help="after listing, print a row for each change"
    )
    _namespace_flags(get)

    describe = _verb(sub, "describe", _verbs.describe, "show details of an object and its events")
    describe.add_argument("kind", metavar="KIND")
    describe.add_argument("names", metavar="NAME", nargs="*")
    describe.add_argument("-l", "--selector")
    _namespace_flags(describe)

    logs = _verb(sub, "logs", _verbs.logs, "print the logs of a container in a pod")
    logs.add_argument("pod", metavar="POD")
    logs.add_argument("-c", "--container")
    logs.add_argument("-f", "--follow", action="store_true", help="stream new lines")
    logs.add_argument("--tail", type=int, default=-1, help="lines from the end (-1: all)")
    logs.add_argument("-p", "--previous", action="store_true", help="the previous instance")
    _namespace_flags(logs, all_namespaces=False)

    events = _verb(sub, "events", _verbs.events, "list events")
    events.add_argument("--for", dest="involved", metavar="KIND/NAME", help="only about it")
    _namespace_flags(events)

    top = _verb(sub, "top", _verbs.top, "show the cpu and memory use of pods or nodes")
    top.add_argument("what", choices=("pods", "pod", "po", "nodes", "node", "no"))
    _namespace_flags(top)


def _add_changing(sub: Any) -> None:
    apply = _verb(
        sub, "apply", _verbs_change.apply, "apply manifests from files, a directory or stdin"
    )
    apply.add_argument(
        "-f", "--filename", action="append", required=True, help="a file, a directory or -"
    )
    _namespace_flags(apply, all_namespaces=False)

    delete = _verb(
        sub, "delete", _verbs_change.delete, "delete objects by kind and name or by file"
    )
    delete.add_argument("kind", metavar="KIND", nargs="?")
    delete.add_argument("names", metavar="NAME", nargs="*")
    delete.add_argument("-f", "--filename", action="append")
    delete.add_argument("--ignore-not-found", action="store_true")
    _namespace_flags(delete, all_namespaces=False)

    scale = _verb(
        sub, "scale", _verbs_change.scale, "set the replicas of a Deployment or ReplicaSet"
    )
    scale.add_argument("target", metavar="KIND/NAME", nargs="+")
    scale.add_argument("--replicas", type=int, required=True)
    _namespace_flags(scale, all_namespaces=False)

    set_parser = sub.add_parser("set", help="change a field of an object")
    set_sub = set_parser.add_subparsers(dest="set_command", metavar="COMMAND", required=True)
    image = _verb(set_sub, "image", _verbs_change.set_image, "change container images")
    image.add_argument("target", metavar="KIND/NAME")
    image.add_argument("images", metavar="CONTAINER=IMAGE", nargs="+")
    _namespace_flags(image, all_namespaces=False)

    rollout = sub.add_parser("rollout", help="manage the rollout of a Deployment")
    rollout_sub = rollout.add_subparsers(dest="rollout_command", metavar="COMMAND", required=True)
    status = _verb(rollout_sub, "status", _verbs_change.rollout_status, "watch a rollout finish")
    status.add_argument("--timeout", type=parse_duration, default=0.0, help="0: no limit")
    status.add_argument(
        "-w", "--watch", action=argparse.BooleanOptionalAction, default=True, help="keep watching"
    )
    history = _verb(rollout_sub, "history", _verbs_change.rollout_history, "list revisions")
    undo = _verb(rollout_sub, "undo", _verbs_change.rollout_undo, "roll back to a revision")
    undo.add_argument("--to-revision", type=int, default=0, help="0: the previous revision")
    pause = _verb(rollout_sub, "pause", _verbs_change.rollout_pause, "pause a rollout")
    resume = _verb(rollout_sub, "resume", _verbs_change.rollout_resume, "resume a paused rollout")
    for parser in (status, history, undo, pause, resume):
        parser.add_argument("target", metavar="KIND/NAME", nargs="+")
        _namespace_flags(parser, all_namespaces=False)


def _add_nodes(sub: Any) -> None:
    cordon = _verb(sub, "cordon", _verbs_change.cordon, "mark a node unschedulable")
    uncordon = _verb(sub, "uncordon", _verbs_change.uncordon, "mark a node schedulable again")
    drain = _verb(sub, "drain", _verbs_change.drain, "cordon a node and evict its pods")
    for parser in (cordon, uncordon, drain):
        parser.add_argument("node", metavar="NODE")
    drain.add_argument("--force", action="store_true", help="also pods no controller manages")
    drain.add_argument(
        "--ignore-daemonsets", action="store_true", help="accepted; orbit runs no DaemonSets"
    )
    drain.add_argument("--delete-emptydir-data", action="store_true")
    drain.add_argument("--grace-period", type=int, default=-1, help="-1: each pod's own")
    drain.add_argument(
        "--timeout",
        type=parse_duration,
        default=0.0,
        help="0: 300s (orbit's default; kubectl waits forever)",
    )


def _add_optional(sub: Any) -> list[str]:
    """Let ``up``, ``sim`` and ``bench`` add themselves; the names of those missing."""
    missing = []
    for module_name in _OPTIONAL_COMMANDS:
        try:
            module = importlib.import_module(f"orbit.cli.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"orbit.cli.{module_name}":
                raise
            missing.append(module_name.lstrip("_"))
            continue
        module.register(sub)
    return missing


def build_parser() -> argparse.ArgumentParser:
    """The whole ``orbit`` command line."""
    parser = argparse.ArgumentParser(
        prog="orbit",
        description="Run and inspect an orbit cluster, as kubectl does a Kubernetes one.",
    )
    add_connection_flags(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_optional(sub)
    _add_reading(sub)
    _add_changing(sub)
    _add_nodes(sub)
    return parser
