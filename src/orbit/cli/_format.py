"""The small text habits every kubectl table shares, as pure functions: ages
(``5s``, ``3m2s``, ``2d3h``), tab-aligned columns, kubectl's names for objects.

Nothing here reads a clock: callers pass ``now`` (epoch seconds), so tests render
exact strings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from orbit.api import KindInfo

__all__ = [
    "format_labels",
    "human_duration",
    "kubectl_table",
    "qualified_kind",
    "qualified_resource",
    "resource_name",
    "since",
    "tabwrite",
]

_MIN_WIDTH = 6  # kubectl's printers.GetNewTabWriter: tabwriter minwidth 6, padding 3
_PADDING = 3


def human_duration(seconds: float) -> str:
    """A duration the way kubectl shows ages: apimachinery's
    ``util/duration.HumanDuration`` (``59s``, ``119s``, ``2m``, ``9m59s``, ``3h``,
    ``7h59m``, ``2d``, ``7d23h``, ``400d``, ``2y10d``). Up to a second in the future
    counts as now (clock skew); further is ``<invalid>``."""
    whole = int(seconds)  # Go's int(d.Seconds()) truncates toward zero
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 60 * 2:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        rest = whole % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = whole // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        rest = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if rest == 0 else f"{years}y{rest}d"
    return f"{hours // 24 // 365}y"


def since(when: datetime | None, now: float) -> str:
    """kubectl's ``translateTimestampSince``: the age of ``when`` at ``now``, or
    ``<unknown>`` when it is not set."""
    if when is None:
        return "<unknown>"
    return human_duration(now - when.timestamp())


def tabwrite(text: str, *, min_width: int = 0, padding: int = 1) -> str:
    """``text`` aligned as Go's ``text/tabwriter`` (flags 0, space padding) aligns it:
    a tab ends a cell, and consecutive lines with a cell in the same column form a
    block whose cells are padded to the block's widest cell plus ``padding`` (at
    least ``min_width``). The last cell of a line is never padded, and a line without
    that column ends the block (which is how ``kubectl describe`` lines up each
    section on its own)."""
    lines = [line.split("\t") for line in text.split("\n")]
    out: list[str] = []
    widths: list[int] = []

    def write(first: int, end: int) -> None:
        for cells in lines[first:end]:
            padded = [
                cell.ljust(widths[j]) if j < len(widths) else cell for j, cell in enumerate(cells)
            ]
            out.append("".join(padded))

    def block(first: int, end: int) -> None:
        column = len(widths)
        start = first
        this = first
        while this < end:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            write(start, this)
            start = this
            width = min_width
            while this < end and column < len(lines[this]) - 1:
                width = max(width, len(lines[this][column]) + padding)
                this += 1
            widths.append(width)
            block(start, this)
            widths.pop()
            start = this
        write(start, end)

    block(0, len(lines))
    return "\n".join(out)


def kubectl_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A ``kubectl get`` table: kubectl's tab writer (minwidth 6, padding 3) over the
    header and rows; each line ends in a newline."""
    text = "".join("\t".join(row) + "\n" for row in [list(header), *rows])
    return tabwrite(text, min_width=_MIN_WIDTH, padding=_PADDING)


def qualified_kind(info: KindInfo) -> str:
    """kubectl's lower-case ``kind.group`` (``deployment.apps``, ``pod``): how
    ``-o name``, ``apply`` and ``scale`` name an object."""
    kind = info.kind.lower()
    return f"{kind}.{info.group}" if info.group else kind


def qualified_resource(info: KindInfo) -> str:
    """kubectl's ``resource.group`` (``deployments.apps``, ``pods``): how server
    errors name a kind (``deployments.apps "web" not found``)."""
    return f"{info.plural}.{info.group}" if info.group else info.plural


def resource_name(info: KindInfo, name: str) -> str:
    """``deployment.apps/web``: an object as ``kubectl get -o name`` prints it."""
    return f"{qualified_kind(info)}/{name}"


def format_labels(labels: Mapping[str, str]) -> str:
    """apimachinery's ``labels.FormatLabels``: ``a=1,b=2`` sorted by key, or
    ``<none>``."""
    if not labels:
        return "<none>"
    return ",".join(f"{key}={labels[key]}" for key in sorted(labels))
