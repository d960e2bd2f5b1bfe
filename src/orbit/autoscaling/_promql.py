"""Object and External metrics: a PromQL instant query against a Prometheus server.

In Kubernetes these metrics come from the custom and external metrics APIs, which
prometheus-adapter answers by running PromQL. orbit runs the query itself through
Prometheus' HTTP API (``GET /api/v1/query?query=...``) and reads the answer the way
the HPA reads the external metrics API's:

- an instant vector: the sum of every series' value, each converted to milli-units
  first (``int64(value * 1000)``, as the adapter builds quantities; the HPA then adds
  their ``MilliValue()``s); its timestamp is the first series';
- a scalar: its value;
- an empty vector: :class:`MetricsError` ``query returned no data: <query>`` (the HPA
  shows it in its ScalingActive condition);
- ``status: "error"``: Prometheus' ``errorType`` and ``error``;
- NaN or an infinity: :class:`MetricsError` (no replica count can follow from it).

Which query a metric runs is :func:`promql_for`'s business.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from orbit.api import PROMQL_ANNOTATION_PREFIX, LabelSelector, MetricIdentifier

from ._http import BaseUrl, MetricsError, http_get
from ._scrape import to_milli

__all__ = ["PROMQL_ANNOTATION_PREFIX", "instant_query", "parse_query_response", "promql_for"]


_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_RE2_SPECIAL = re.compile(r"([\\.+*?()|\[\]{}^$])")


def _string(value: str) -> str:
    """A PromQL double-quoted string literal."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _alternatives(values: tuple[str, ...]) -> str:
    """A regex (RE2, anchored by Prometheus) matching exactly one of ``values``."""
    return "|".join(_RE2_SPECIAL.sub(r"\\\1", value) for value in sorted(set(values)))


def _label(key: str) -> str:
    if not _LABEL_NAME.fullmatch(key):
        raise MetricsError(f"selector key {key!r} is not a Prometheus label name")
    return key


def _matchers(selector: LabelSelector) -> list[str]:
    found = [f"{_label(k)}={_string(v)}" for k, v in sorted(selector.match_labels.items())]
    for expr in selector.match_expressions:
        key = _label(expr.key)
        if expr.operator == "In":
            found.append(f"{key}=~{_string(_alternatives(expr.values))}")
        elif expr.operator == "NotIn":
            found.append(f"{key}!~{_string(_alternatives(expr.values))}")
        elif expr.operator == "Exists":
            found.append(f'{key}!=""')
        elif expr.operator == "DoesNotExist":
            found.append(f'{key}=""')
        else:
            raise MetricsError(f"selector operator {expr.operator!r} is not supported")
    return found


def promql_for(metric: MetricIdentifier, annotations: Mapping[str, str]) -> str:
    """The PromQL an Object or External ``metric`` of an HPA with ``annotations`` runs.

    1. The HPA annotation ``autoscaling.orbit.dev/promql.<metric name>``, as written.
    2. Else a plain metric name (``queue_depth``) becomes a selector expression: the
       metric's ``matchLabels`` as ``k="v"`` matchers, its ``matchExpressions`` as
       ``In`` ``k=~"a|b"``, ``NotIn`` ``k!~"a|b"``, ``Exists`` ``k!=""``,
       ``DoesNotExist`` ``k=""`` (``queue_depth{queue="jobs"}``).
    3. Else the name is taken as a PromQL expression itself (Kubernetes allows any
       metric name without ``/`` or ``%``); a selector cannot apply to it.

    :class:`MetricsError` when a selector key is no Prometheus label name, or a
    selector comes with an expression.
    """
    annotated = annotations.get(PROMQL_ANNOTATION_PREFIX + metric.name, "").strip()
    if annotated:
        return annotated
    selector = metric.selector
    has_selector = selector is not None and bool(
        selector.match_labels or selector.match_expressions
    )
    if not _METRIC_NAME.fullmatch(metric.name):
        if has_selector:
            raise MetricsError(
                f"metric {metric.name!r} is not a Prometheus metric name, so its selector "
                "cannot become label matchers; give its query in the annotation "
                f"{PROMQL_ANNOTATION_PREFIX}{metric.name}"
                f" (write the matchers in the expression, or use the annotation"
                f" {PROMQL_ANNOTATION_PREFIX}<name>)"
            )
        return metric.name
    if selector is None or not has_selector:
        return metric.name
    return f"{metric.name}{{{','.join(_matchers(selector))}}}"


def _number(raw: object, query: str) -> float:
    try:
        value = float(str(raw))
    except ValueError:
        raise MetricsError(f"query returned a malformed value {raw!r}: {query}") from None
    if not math.isfinite(value):
        raise MetricsError(f"query returned a non-finite value {raw}: {query}")
    return value


def _point(pair: object, query: str) -> tuple[float, float]:
    """(timestamp, value) of a ``[<unix time>, "<value>"]`` pair."""
    if not isinstance(pair, list) or len(pair) != 2 or isinstance(pair[0], (str, bool)):
        raise MetricsError(f"malformed query result {pair!r}: {query}")
    try:
        timestamp = float(pair[0])
    except (TypeError, ValueError):
        raise MetricsError(f"malformed query result {pair!r}: {query}") from None
    return timestamp, _number(pair[1], query)


def parse_query_response(status: int, body: bytes, query: str) -> tuple[int, float]:
    """(value milli, timestamp) from an ``/api/v1/query`` answer (see the module
    docstring); :class:`MetricsError` for an error, no data or a non-finite value."""
    try:
        document: Any = json.loads(body)
    except ValueError:
        shown = body[:200].decode("utf-8", errors="replace").strip()
        raise MetricsError(f"Prometheus answered HTTP {status}: {shown!r}") from None
    if not isinstance(document, dict):
        raise MetricsError(f"Prometheus answered HTTP {status} with no API response")
    if document.get("status") != "success":
        kind = document.get("errorType", "unknown")
        raise MetricsError(f"query failed ({kind}): {document.get('error', '')}: {query}")
    data = document.get("data")
    if not isinstance(data, dict):
        raise MetricsError(f"malformed query response (no data object): {query}")
    kind = data.get("resultType")
    result = data.get("result")
    if kind == "scalar":
        timestamp, value = _point(result, query)
        return to_milli(value), timestamp
    if kind != "vector":
        raise MetricsError(f"query returned a {kind}, not an instant vector or scalar: {query}")
    if not result:
        raise MetricsError(f"query returned no data: {query}")
    if not isinstance(result, list):
        raise MetricsError(f"malformed query response (result is no list): {query}")
    points = [
        _point(series.get("value") if isinstance(series, dict) else series, query)
        for series in result
    ]
    return sum(to_milli(value) for _, value in points), points[0][0]


async def instant_query(server: BaseUrl, query: str, *, timeout_s: float) -> tuple[int, float]:
    """Run ``query`` on the Prometheus at ``server``: (value milli, sample timestamp).

    The server's own evaluation is bounded too (the ``timeout`` parameter), so a slow
    query fails with Prometheus' message rather than a bare client timeout.
    """
    path = server.path(f"/api/v1/query?query={quote(query, safe='')}&timeout={timeout_s:g}")
    response = await http_get(server.host, server.port, path, timeout_s=timeout_s)
    return parse_query_response(response.status, response.body, query)
