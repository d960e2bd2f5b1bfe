"""A ``Pods`` metric read straight from each pod's Prometheus endpoint.

In Kubernetes a Pods metric comes from the custom metrics API, usually
prometheus-adapter answering from Prometheus with a query such as
``sum(<metric>{<selector>,pod="web-1"}) by (pod)``. orbit cuts out the middle: it
scrapes the pod itself, where Prometheus' ``kubernetes_sd`` would, honouring the
conventional annotations:

- ``prometheus.io/port``: the container port to scrape, a number (a declared
  ``containerPort``) or a port's name; without it, the pod's first declared port (app
  containers before init containers);
- ``prometheus.io/path``: the path (default ``/metrics``);
- ``prometheus.io/scheme``: only ``http`` is supported.

The address is where orbit published that port (the ``orbit.dev/ports`` annotation's
host and host port; the pod's ``status.hostIP``, else ``127.0.0.1``, when the entry
names no host).

The page is parsed with prometheus-client's exposition parser (OpenMetrics when the
server says so). A series counts when its sample name equals the metric's name, or when
the metric names a counter family whose sample is ``<name>_total`` (the parser's
naming); and when its labels match the metric's selector. Several matching series are
summed, as the adapter's ``sum ... by (pod)`` does; the sum becomes milli-units as the
adapter converts it (``int64(value * 1000)``, truncated). No matching series, or a
non-finite sum, leaves the pod's metric missing: the replica calculator has rules for
missing pods. Counters are read as they are (a total, not a rate): use a gauge, or
query Prometheus through an Object / External metric for rates.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import attrs
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from orbit.api import PORTS_ANNOTATION, Pod, Selector, parse_port_addresses

from ._http import MetricsError, hostport, http_get

__all__ = [
    "DEFAULT_HOST",
    "PATH_ANNOTATION",
    "PORT_ANNOTATION",
    "SCHEME_ANNOTATION",
    "ScrapeTarget",
    "scrape_pod",
    "scrape_target",
    "select_value",
    "to_milli",
]

PORT_ANNOTATION = "prometheus.io/port"
PATH_ANNOTATION = "prometheus.io/path"
SCHEME_ANNOTATION = "prometheus.io/scheme"
DEFAULT_HOST = "127.0.0.1"

_ACCEPT = "text/plain;version=0.0.4;q=1,*/*;q=0.1"


@attrs.frozen
class ScrapeTarget:
    """Where one pod's metrics are served."""

    host: str
    port: int
    path: str = "/metrics"

    @property
    def url(self) -> str:
        return f"http://{hostport(self.host, self.port)}{self.path}"


def _declared_ports(pod: Pod) -> list[tuple[str, int]]:
    """(port key, containerPort) of every declared port, app containers first; the key
    is the one ``orbit.dev/ports`` uses (the name, else the number)."""
    return [
        (port.name or str(port.container_port), port.container_port)
        for container in (*pod.spec.containers, *pod.spec.init_containers)
        for port in container.ports
    ]


def _port_key(pod: Pod, who: str) -> str:
    declared = _declared_ports(pod)
    wanted = pod.metadata.annotations.get(PORT_ANNOTATION, "").strip()
    if not wanted:
        if not declared:
            raise MetricsError(f"pod {who} declares no container port to scrape")
        return declared[0][0]
    if wanted.isdigit():
        for key, number in declared:
            if number == int(wanted):
                return key
        raise MetricsError(
            f"pod {who}: {PORT_ANNOTATION} {wanted} is not a declared container port"
        )
    return wanted


def scrape_target(pod: Pod) -> ScrapeTarget:
    """Where to scrape ``pod`` (see the module docstring); :class:`MetricsError` when
    the annotations ask for https, name a port the pod does not declare, or orbit has
    not published the port yet."""
    meta = pod.metadata
    who = f"{meta.namespace}/{meta.name}"
    scheme = meta.annotations.get(SCHEME_ANNOTATION, "http").strip().lower()
    if scheme != "http":
        raise MetricsError(
            f'pod {who}: {SCHEME_ANNOTATION} "{scheme}" is not supported (only http)'
        )
    key = _port_key(pod, who)
    published = parse_port_addresses(meta.annotations.get(PORTS_ANNOTATION))
    if key not in published:
        raise MetricsError(f'pod {who}: port "{key}" has no host port yet ({PORTS_ANNOTATION})')
    host, port = published[key]
    path = meta.annotations.get(PATH_ANNOTATION, "").strip() or "/metrics"
    if not path.startswith("/"):
        path = "/" + path
    return ScrapeTarget(host or pod.status.host_ip or DEFAULT_HOST, port, path)


def to_milli(value: float) -> int:
    """A metric value in milli-units as prometheus-adapter builds it
    (``resource.NewMilliQuantity(int64(value * 1000))``: truncated toward zero)."""
    return int(value * 1000)


def _families(text: str, content_type: str) -> Iterable[Metric]:
    if content_type.startswith("application/openmetrics-text"):
        families: Iterable[Metric] = openmetrics_families(text)  # type: ignore[no-untyped-call]
        return families
    return text_string_to_metric_families(text)


def _wanted(family: Metric, sample_name: str, metric: str) -> bool:
    if sample_name == metric:
        return True
    return family.type == "counter" and family.name == metric and sample_name == metric + "_total"


def select_value(
    text: str, metric: str, selector: Selector, *, content_type: str = "text/plain"
) -> float | None:
    """The sum of the series of ``metric`` whose labels match ``selector`` in an
    exposition page; ``None`` when no series matches. ``MetricsError`` when the page
    does not parse."""
    total: float | None = None
    try:
        for family in _families(text, content_type):
            for sample in family.samples:
                if _wanted(family, sample.name, metric) and selector.matches(sample.labels):
                    total = (total or 0.0) + float(sample.value)
    except ValueError as exc:
        raise MetricsError(f"cannot parse the metrics page: {exc}") from exc
    return total


async def scrape_pod(pod: Pod, metric: str, selector: Selector, *, timeout_s: float) -> int | None:
    """Scrape ``pod`` and return ``metric``'s value (milli), or ``None`` when the page
    has no matching series (or its sum is NaN or infinite). ``MetricsError`` when the
    pod cannot be scraped."""
    target = scrape_target(pod)
    response = await http_get(
        target.host, target.port, target.path, timeout_s=timeout_s, headers={"Accept": _ACCEPT}
    )
    if response.status != 200:
        status = f"{response.status} {response.reason}".strip()
        raise MetricsError(f'Get "{target.url}": server returned HTTP status {status}')
    content_type = response.headers.get("content-type", "text/plain")
    text = response.body.decode("utf-8", errors="replace")
    try:
        value = select_value(text, metric, selector, content_type=content_type)
    except MetricsError as exc:
        raise MetricsError(f"{target.url}: {exc}") from exc
    if value is None or not math.isfinite(value):
        return None
    return to_milli(value)
