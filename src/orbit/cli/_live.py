"""``orbit up``'s two ways of showing a running cluster: a live status view (rich,
redrawn twice a second) or, without a terminal (``--no-view``), a log of events.

Both read the cluster in-process (``up`` owns it): :func:`take_snapshot` lists the
objects and asks the service proxy where each Service port is served, the pure
:func:`~orbit.cli._view.build_view` decides the rows, :func:`render` only lays them
out. The event log lists the events there are, then watches for new ones (a repeat
bumps an Event's count: it is printed again with its count), and prints each
Service's URL once the proxy serves it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

import anyio
from rich import box
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from orbit.api import Deployment, Event, HorizontalPodAutoscaler, Pod, Service
from orbit.cluster import Cluster
from orbit.errors import OrbitError, ResourceExpired

from ._view import (
    DEPLOYMENT_HEADER,
    EVENT_HEADER,
    HPA_HEADER,
    POD_HEADER,
    SERVICE_HEADER,
    Snapshot,
    View,
    build_view,
    event_line,
)

__all__ = ["REFRESH_S", "render", "run_event_log", "run_live_view", "take_snapshot"]

REFRESH_S = 0.5
"""How often the live view is redrawn (and the event log looks for new URLs)."""


Urls = dict[tuple[str, str], dict[str, str]]
"""Service URLs by (namespace, name), then port name."""


async def _urls(cluster: Cluster, services: Sequence[Service]) -> Urls:
    """Where the proxy serves each Service port now (ports not served yet are left out)."""
    found: Urls = {}
    if cluster.proxy is None:
        return found
    for service in services:
        meta = service.metadata
        for port in service.spec.ports:
            try:
                url = await cluster.service_url(
                    meta.name, port.name or None, namespace=meta.namespace, timeout_s=0
                )
            except (OrbitError, LookupError, TimeoutError):
                continue
            found.setdefault((meta.namespace, meta.name), {})[port.name] = url
    return found


async def take_snapshot(cluster: Cluster) -> Snapshot:
    """The objects of every namespace, the service URLs and the time, now."""
    store = cluster.store
    services = store.list(Service).items
    return Snapshot(
        now=cluster.clock.now(),
        deployments=store.list(Deployment).items,
        pods=store.list(Pod).items,
        services=services,
        hpas=store.list(HorizontalPodAutoscaler).items,
        events=store.list(Event).items,
        urls=await _urls(cluster, services),
    )


def _table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> Table:
    table = Table(
        title=title, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD, expand=False
    )
    for name in header:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


def render(view: View, header: str) -> RenderableType:
    """The view as rich tables under ``header``; empty sections are left out."""
    parts: list[RenderableType] = [Text(header, style="bold")]
    if view.deployments:
        parts.append(_table("Deployments", DEPLOYMENT_HEADER, view.deployments))
    parts.append(_table(f"Pods ({view.summary})", POD_HEADER, view.pods))
    if view.hidden_pods:
        parts.append(Text(f"  ... and {view.hidden_pods} more pods", style="dim"))
    for pod, reason in view.pending:
        parts.append(Text(f"  {pod}: {reason}", style="yellow"))
    if view.services:
        parts.append(_table("Services", SERVICE_HEADER, view.services))
    if view.hpas:
        parts.append(_table("HorizontalPodAutoscalers", HPA_HEADER, view.hpas))
    if view.events:
        parts.append(_table("Recent events", EVENT_HEADER, view.events))
    return Group(*parts)


async def run_live_view(cluster: Cluster, header: str, console: Console) -> None:
    """Redraw the status view every :data:`REFRESH_S` until cancelled (the last
    frame stays on the screen)."""
    with Live(console=console, auto_refresh=False, redirect_stderr=True) as live:
        while True:
            view = build_view(await take_snapshot(cluster))
            live.update(render(view, header), refresh=True)
            await anyio.sleep(REFRESH_S)


def _say(out: TextIO, line: str) -> None:
    out.write(line + "\n")
    out.flush()


async def _print_urls(cluster: Cluster, out: TextIO) -> None:
    """Print each Service port's URL once, when the proxy serves it."""
    printed: set[tuple[str, str, str]] = set()
    while True:
        services = cluster.store.list(Service).items
        for (namespace, name), urls in (await _urls(cluster, services)).items():
            for port, url in sorted(urls.items()):
                if (namespace, name, port) not in printed:
                    printed.add((namespace, name, port))
                    where = name if namespace == "default" else f"{namespace}/{name}"
                    port_shown = f" port {port}" if port else ""
                    _say(out, f"orbit: service/{where}{port_shown} at {url}")
        await anyio.sleep(REFRESH_S)


async def _print_events(cluster: Cluster, out: TextIO) -> None:
    """Print every event there is, then each new one (and each repeat) as it comes."""
    store = cluster.store
    printed: dict[str, int] = {}

    def show(event: Event) -> None:
        if printed.get(event.metadata.uid) != event.count:
            printed[event.metadata.uid] = event.count
            _say(out, event_line(event))

    listed = store.list(Event)
    version = listed.resource_version
    for event in sorted(listed.items, key=_revision):
        show(event)
    while True:
        try:
            async with store.watch(Event, resource_version=version) as watch:
                async for change in watch:
                    version = change.object.metadata.resource_version
                    if change.type != "DELETED":
                        show(change.object)
            return
        except ResourceExpired:
            listed = store.list(Event)
            version = listed.resource_version
            for event in listed.items:
                show(event)


def _revision(event: Event) -> int:
    version = event.metadata.resource_version
    return int(version) if version.isdigit() else 0


async def run_event_log(cluster: Cluster, out: TextIO | None = None) -> None:
    """Print events and service URLs as lines until cancelled."""
    out = out or sys.stdout
    async with anyio.create_task_group() as group:
        group.start_soon(_print_events, cluster, out)
        group.start_soon(_print_urls, cluster, out)
