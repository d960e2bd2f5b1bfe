"""``orbit up``: run a set of manifests in the foreground, like ``docker compose up``.

::

    orbit up -f FILE_OR_DIR [-f ...] [--runtime process|docker|sim] [--nodes N]
             [--scheduler PROFILE] [--socket PATH] [--no-view]

It reads and validates every manifest first (any issue: the list of them, exit 1,
nothing started), starts an :class:`orbit.Cluster` of ``--nodes`` nodes on the
runtime (``process``: local processes, one node named after the host by default;
``docker``: logical nodes on the local Docker engine; ``sim``: simulated nodes in real
time), applies the manifests in one all-or-nothing ``apply``, serves the control socket
(``orbit get pods`` and the other verbs talk to it) and shows the cluster live until
Ctrl-C or SIGTERM. Then it stops every pod and container it started, the service
proxy and the socket, and exits 0. A second signal while stopping only says it is
still stopping: leaving early would leave processes behind.

Without a terminal on stdout (or with ``--no-view``) the live view is replaced by a
log: one line per event and per Service URL.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import anyio
import anyio.abc
from rich.console import Console

import orbit
from orbit.api import decode_documents, read_documents
from orbit.control import ControlServer
from orbit.errors import Forbidden, Issue, OrbitError, ValidationError

from ._common import socket_path

if TYPE_CHECKING:
    from orbit.scheduling import Profile


def default_profiles() -> dict[str, Profile]:
    """orbit's scheduler profiles (loaded when ``up`` runs: the scheduler needs numpy)."""
    from orbit.scheduling import default_profiles as profiles  # noqa: PLC0415

    return profiles()


__all__ = ["MANIFEST_SUFFIXES", "manifest_files", "read_manifests", "register", "run_up"]

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
RUNTIMES = ("process", "docker", "sim")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``up`` to the ``orbit`` command."""
    parser = subparsers.add_parser(
        "up",
        help="run manifests in a cluster in the foreground, with a live view",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument(
        "-f",
        "--filename",
        action="append",
        required=True,
        metavar="FILE_OR_DIR",
        help="a manifest file or a directory of them (repeatable)",
    )
    parser.add_argument("--runtime", choices=RUNTIMES, default="process")
    parser.add_argument("--nodes", type=int, default=None, metavar="N", help="how many nodes")
    parser.add_argument(
        "--scheduler",
        default="default",
        metavar="PROFILE",
        help="the scheduler profile pods get by default (default, binpack, spread, optimal)",
    )
    parser.add_argument(
        "--socket",
        default=argparse.SUPPRESS,
        metavar="PATH",
        help="serve the control socket here (default: $ORBIT_SOCKET, else the socket of --cluster)",
    )
    parser.add_argument(
        "--cluster",
        default=argparse.SUPPRESS,
        metavar="NAME",
        help='the cluster\'s name: its socket is found by it (default: "default")',
    )
    parser.add_argument("--no-view", action="store_true", help="print events, not a live view")
    parser.set_defaults(func=run_up)


# -- manifests -------------------------------------------------------------------------


def manifest_files(sources: Sequence[str]) -> tuple[list[Path], list[Issue]]:
    """The files ``-f`` names: each file as given, each directory's manifests (``.yaml``,
    ``.yml``, ``.json``, sorted, not recursive: kubectl's ``-f DIR``); an issue for a
    path that does not exist or a directory without manifests."""
    files: list[Path] = []
    issues: list[Issue] = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in MANIFEST_SUFFIXES)
            if not found:
                issues.append(Issue(source, "no manifests (.yaml, .yml, .json) in this directory"))
            files += found
        elif path.exists():
            files.append(path)
        else:
            issues.append(Issue(source, "no such file or directory"))
    return files, issues


def read_manifests(sources: Sequence[str]) -> tuple[list[Any], list[Issue]]:
    """Every document of ``sources`` (dicts, in order) and every issue found decoding
    and validating them, each issue's path prefixed with its file's name."""
    files, issues = manifest_files(sources)
    documents: list[Any] = []
    for file in files:
        try:
            decoded = decode_documents(read_documents(file))
        except ValidationError as exc:
            issues += [Issue(_where(file, i.path), i.message) for i in exc.issues]
            continue
        for item in decoded:
            issues += [Issue(_where(file, i.path), i.message) for i in item.issues]
            documents.append(item.document.data)
    if not documents and not issues:
        issues.append(Issue("", "the manifests hold no documents"))
    return documents, issues


def _where(file: Path, path: str) -> str:
    return f"{file}: {path}" if path else str(file)


def _print_issues(issues: Sequence[Issue], out: TextIO, *, head: str) -> None:
    count = len(issues)
    out.write(f"error: {head} ({count} issue{'s' if count != 1 else ''}); nothing was applied:\n")
    for issue in issues:
        out.write(f"  {issue}\n")
    out.flush()


# -- the cluster -----------------------------------------------------------------------


def _nodes(runtime: str, count: int | None) -> list[orbit.Node] | None:
    """The nodes of ``--runtime`` / ``--nodes`` (None: the Cluster's default, one local
    process node named after the host)."""
    if runtime == "process":
        if count is None or count == 1:
            return None
        return [orbit.Node(f"local-{i}") for i in range(count)]
    if runtime == "docker":
        return [orbit.Node(f"docker-{i}", runtime=orbit.DockerRuntime()) for i in range(count or 1)]
    return [orbit.Node(f"sim-{i}", runtime=orbit.SimRuntime()) for i in range(count or 1)]


def _profiles(name: str) -> list[Profile]:
    """orbit's profiles, with ``name``'s plugins under ``default-scheduler`` (the
    scheduler name pods get when they name none)."""
    profiles = default_profiles()
    profiles["default-scheduler"] = profiles[name].renamed("default-scheduler")
    return list(profiles.values())


async def _serve(args: argparse.Namespace, documents: list[Any], console: Console) -> int:
    """Start the cluster, apply, serve the socket, show it; returns only on an error
    (a signal cancels it)."""
    from ._live import run_event_log, run_live_view  # noqa: PLC0415 - loads the Cluster

    err = sys.stderr
    cluster = orbit.Cluster(
        nodes=_nodes(args.runtime, args.nodes),
        scheduler_profiles=_profiles(args.scheduler),
        service_proxy=args.runtime != "sim",
    )
    async with cluster, anyio.create_task_group() as group:
        try:
            results = await cluster.apply(documents)
        except ValidationError as exc:
            _print_issues(exc.issues, err, head="the manifests are invalid")
            return 1
        except Forbidden as exc:
            err.write(f"error: {exc}; nothing was applied\n")
            return 1
        for result in results:
            _say(f"{result}")
        if args.runtime == "docker":
            await _check_images(cluster, images_of(documents), console)
        server = ControlServer(cluster, path=socket_path(args))
        try:
            await group.start(server.run)
        except OrbitError as exc:
            err.write(f"error: control socket: {exc}\n")
            return 1
        _say(f"orbit: control socket at {server.path}")
        _say(_try_hint(args, server.path))
        nodes = len(cluster.agents)
        header = (
            f"orbit up: cluster {cluster.cluster_id[:8]}, {nodes} {args.runtime} "
            f"node{'s' if nodes != 1 else ''}; Ctrl-C to stop"
        )
        if args.no_view or not sys.stdout.isatty():
            _say(header)
            await run_event_log(cluster)
        else:
            await run_live_view(cluster, header, console)
    return 0


def images_of(documents: Sequence[Any]) -> list[str]:
    """Every image the manifests' pods and pod templates name (init containers too), in
    order, once each: what a node will need. ``documents`` are manifest dicts."""
    found: dict[str, None] = {}
    for doc in documents:
        spec = doc.get("spec") if isinstance(doc, dict) else None
        if not isinstance(spec, dict):
            continue
        job = (spec.get("jobTemplate") or {}).get("spec") or {}
        template = spec.get("template") or job.get("template") or {}
        pod_spec = (
            template.get("spec") if template else (spec if doc.get("kind") == "Pod" else None)
        )
        if not isinstance(pod_spec, dict):
            continue
        for key in ("initContainers", "containers"):
            for container in pod_spec.get(key) or ():
                image = container.get("image") if isinstance(container, dict) else None
                if image:
                    found.setdefault(str(image), None)
    return list(found)


async def _check_images(cluster: orbit.Cluster, images: Sequence[str], console: Console) -> None:
    """Look up each image on the Docker engine (no registry is assumed), with progress,
    and say which are missing before their pods fail with ErrImagePull."""
    runtime = next(
        (agent.runtime for agent in cluster.agents.values() if agent.runtime.kind == "docker"),
        None,
    )
    if runtime is None or not images:
        return
    missing: list[str] = []
    with console.status("checking images...") as status:
        for i, image in enumerate(images, 1):
            status.update(f"checking images: {i}/{len(images)} {image}")
            try:
                present = await runtime.has_image(image)  # type: ignore[attr-defined]
            except OrbitError as exc:
                _say(f"orbit: image {image}: cannot check ({exc})")
                continue
            if not present:
                missing.append(image)
    for image in missing:
        _say(
            f"orbit: image {image} is not on the Docker engine: its pods will wait in "
            "ErrImagePull / ImagePullBackOff (build or load it: docker build, docker load)"
        )
    if not missing:
        _say(f"orbit: {len(images)} image{'s' if len(images) != 1 else ''} present")


def _try_hint(args: argparse.Namespace, path: str) -> str:
    """How to reach this cluster: plain ``orbit get pods`` finds the default socket."""
    plain = argparse.Namespace(**{k: v for k, v in vars(args).items() if k != "socket"})
    if socket_path(plain) == path:
        return "try: orbit get pods"
    return f"try: orbit get pods --socket {path}"


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def _stop_on_signal(
    signals: AsyncIterator[signal.Signals],
    scope: anyio.CancelScope,
    *,
    task_status: anyio.abc.TaskStatus[None],
) -> None:
    """Cancel ``scope`` on the first signal; later ones only say it is still stopping
    (the cluster is stopping its pods: leaving now would leave them running)."""
    task_status.started()
    async for signum in signals:
        if not scope.cancel_called:
            name = signal.Signals(signum).name
            _say(f"orbit: {name}: stopping every pod and container it started...")
            scope.cancel()
        else:
            _say("orbit: still stopping (waiting for pods to end their grace period)")


async def run_up(args: argparse.Namespace) -> int:
    """``orbit up``: exit 0 after a signal stopped it, 1 on invalid manifests or a
    failure to start."""
    documents, issues = read_manifests(args.filename)
    if issues:
        _print_issues(issues, sys.stderr, head="the manifests are invalid")
        return 1
    if args.nodes is not None and args.nodes < 1:
        sys.stderr.write("error: --nodes must be at least 1\n")
        return 1
    known = sorted(default_profiles())
    if args.scheduler not in known:
        sys.stderr.write(
            f"error: --scheduler {args.scheduler!r}: no such profile (orbit has: "
            f"{', '.join(known)})\n"
        )
        return 2
    console = Console()
    code = 0
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with anyio.create_task_group() as group:
            scope = anyio.CancelScope()
            await group.start(_stop_on_signal, signals, scope)
            with scope:
                try:
                    code = await _serve(args, documents, console)
                except OrbitError as exc:
                    sys.stderr.write(f"error: {exc}\n")
                    code = 1
            group.cancel_scope.cancel()
    if scope.cancel_called:
        _say("orbit: stopped")
    return code
