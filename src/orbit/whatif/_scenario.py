"""Scenario files: a what-if written as YAML (what ``orbit sim SCENARIO.yaml`` runs).

::

    name: web-day                  # a title for the report (default: the file's name)
    duration: 24h                  # virtual time per policy: 90s, 15m, 2h, 1d, 1h30m or seconds
    seed: 0                        # same seed, same day
    sample: 30s                    # how often the run is sampled (default 30s)
    nodes:                         # fixed simulated nodes, <name>-0, <name>-1...
      - name: base
        count: 1
        capacity: {cpu: "2", memory: 8Gi}
        costPerHour: 0.096         # optional, for the cost column
        labels: {}                 # optional
        gpus: 0                    # optional: GPU devices of each node
    nodePools:                     # optional: grown and shrunk by the node-pool autoscaler
      - name: pool
        capacity: {cpu: "2", memory: 8Gi}
        maxNodes: 5
        minNodes: 0
        costPerHour: 0.096
        bootDelay: 60s
        labels: {}
    expander: least-waste          # optional: least-waste, fewest-nodes, cheapest, most-pods
    manifests:                     # paths (files or directories, relative to this file)
      - web.yaml                   # or inline manifests
      - apiVersion: autoscaling/v2
        kind: HorizontalPodAutoscaler
        ...
    load:                          # orbit.autoscaling.diurnal over the pods the selector picks
      selector: app=web
      namespace: default
      trough: 0.6                  # cores at 03:00 (or `cores: 2` for a flat load)
      peak: 4.2                    # cores at peakHour
      peakHour: 15
      startHour: 0                 # the hour of the day the run starts at
      day: 24h                     # the day's length (shorter compresses the day)
      noise: 0.1                   # +-10 % per noisePeriod (default 60s)
      spikes:                      # seeded random spikes over the run...
        count: 6
        cores: [1.0, 2.5]
        duration: [2m, 15m]
      # spikes: [{at: 10h, duration: 5m, cores: 2}]   # ...or a list
    hpa: web                       # the HPA the policies change (default: the only one)
    policies:                      # HPA behavior blocks to compare, by name
      kubernetes-default: null     # null: the manifest's behavior as written
      fast:
        scaleDown: {stabilizationWindowSeconds: 60}

Every problem is reported at once as a :class:`~orbit.ValidationError` whose issue
paths name the scenario field (``load.peak``, ``manifests[1].spec.replicas``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from orbit.api import decode_documents, parse_selector, read_documents
from orbit.autoscaling import EXPANDERS, Diurnal, Spike, diurnal, random_spikes
from orbit.errors import Issue, ValidationError

from ._spec import Load, NodeGroup, PoolSpec, WhatIf, hpa_manifest, scale_target

__all__ = ["load_scenario", "parse_duration"]

_T = TypeVar("_T")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_TOP = {
    "name", "duration", "seed", "sample", "nodes", "nodePools", "expander", "manifests",
    "load", "hpa", "policies",
}  # fmt: skip
_NODE = {"name", "count", "capacity", "costPerHour", "labels", "gpus"}
_POOL = {"name", "capacity", "maxNodes", "minNodes", "costPerHour", "bootDelay", "labels"}
_LOAD = {
    "selector", "namespace", "trough", "peak", "cores", "peakHour", "startHour", "day",
    "noise", "noisePeriod", "spikes",
}  # fmt: skip


def parse_duration(value: Any) -> float:
    """Seconds from a number or a Go-style duration (``90s``, ``15m``, ``1h30m``,
    ``2d``); ``ValueError`` otherwise, and for negative values."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = str(value).strip()
        parts = _DURATION.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise ValueError(f"not a duration: {value!r} (use 90s, 15m, 2h, 1d or seconds)")
        seconds = sum(float(number) * _UNITS[unit] for number, unit in parts)
    if seconds < 0:
        raise ValueError(f"a duration must not be negative: {value!r}")
    return seconds


class _Reader:
    """Reads fields of a mapping, collecting every issue instead of stopping."""

    def __init__(self) -> None:
        self.issues: list[Issue] = []

    def fail(self, path: str, message: str) -> None:
        self.issues.append(Issue(path, message))

    def mapping(self, value: Any, path: str, allowed: set[str]) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            self.fail(path, "must be a mapping")
            return {}
        for key in sorted(set(map(str, value)) - allowed):
            self.fail(f"{path}.{key}" if path else key, "unknown field")
        return value

    def get(
        self,
        data: Mapping[str, Any],
        path: str,
        key: str,
        convert: Callable[[Any], _T],
        default: _T | None = None,
    ) -> _T | None:
        where = f"{path}.{key}" if path else key
        if key not in data or data[key] is None:
            if default is None:
                self.fail(where, "required")
            return default
        try:
            return convert(data[key])
        except (TypeError, ValueError) as exc:
            self.fail(where, str(exc))
            return default


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"must be a whole number >= 0, not {value!r}")
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number, not {value!r}")
    return float(value)


def _strings(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ValueError("must be a mapping of names to values")
    return {str(k): str(v) for k, v in value.items()}


def _range(convert: Callable[[Any], float]) -> Callable[[Any], tuple[float, float]]:
    def pair(value: Any) -> tuple[float, float]:
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise ValueError("must be a [low, high] pair")
        low, high = convert(value[0]), convert(value[1])
        if low > high:
            raise ValueError(f"low ({value[0]}) is above high ({value[1]})")
        return low, high

    return pair


def _nodes(read: _Reader, value: Any) -> tuple[NodeGroup, ...]:
    groups = []
    for i, item in enumerate(value if isinstance(value, list) else []):
        path = f"nodes[{i}]"
        data = read.mapping(item, path, _NODE)
        groups.append(
            NodeGroup(
                prefix=read.get(data, path, "name", str) or "node",
                count=read.get(data, path, "count", _count, 1) or 0,
                capacity=read.get(data, path, "capacity", _strings) or {},
                labels=read.get(data, path, "labels", _strings, {}) or {},
                cost_per_hour=read.get(data, path, "costPerHour", _number, 0.0) or 0.0,
                gpus=read.get(data, path, "gpus", _count, 0) or 0,
            )
        )
    if not isinstance(value, list):
        read.fail("nodes", "must be a list of node groups")
    return tuple(groups)


def _pools(read: _Reader, value: Any) -> tuple[PoolSpec, ...]:
    if not isinstance(value, list):
        read.fail("nodePools", "must be a list of node pools")
        return ()
    pools = []
    for i, item in enumerate(value):
        path = f"nodePools[{i}]"
        data = read.mapping(item, path, _POOL)
        pools.append(
            PoolSpec(
                name=read.get(data, path, "name", str) or "pool",
                capacity=read.get(data, path, "capacity", _strings) or {},
                max_nodes=read.get(data, path, "maxNodes", _count) or 0,
                min_nodes=read.get(data, path, "minNodes", _count, 0) or 0,
                cost_per_hour=read.get(data, path, "costPerHour", _number, 0.0) or 0.0,
                boot_delay_s=read.get(data, path, "bootDelay", parse_duration, 60.0) or 0.0,
                labels=read.get(data, path, "labels", _strings, {}) or {},
            )
        )
    return tuple(pools)


def _spikes(read: _Reader, value: Any, seed: int, span_s: float) -> tuple[Spike, ...]:
    if value is None:
        return ()
    if isinstance(value, list):
        spikes = []
        for i, item in enumerate(value):
            path = f"load.spikes[{i}]"
            data = read.mapping(item, path, {"at", "duration", "cores"})
            spikes.append(
                Spike(
                    read.get(data, path, "at", parse_duration) or 0.0,
                    read.get(data, path, "duration", parse_duration) or 0.0,
                    read.get(data, path, "cores", _number) or 0.0,
                )
            )
        return tuple(sorted(spikes, key=lambda s: s.start_s))
    data = read.mapping(value, "load.spikes", {"count", "cores", "duration"})
    return random_spikes(
        seed,
        count=read.get(data, "load.spikes", "count", _count) or 0,
        span_s=span_s,
        duration_s=read.get(data, "load.spikes", "duration", _range(parse_duration), (120.0, 900.0))
        or (120.0, 900.0),
        height=read.get(data, "load.spikes", "cores", _range(_number), (0.5, 2.0)) or (0.5, 2.0),
    )


def _curve(read: _Reader, data: Mapping[str, Any], seed: int, span_s: float) -> Diurnal | None:
    flat = read.get(data, "load", "cores", _number, -1.0)
    if flat is not None and flat >= 0:
        trough = peak = flat
    else:
        trough = read.get(data, "load", "trough", _number) or 0.0
        peak = read.get(data, "load", "peak", _number) or 0.0
    spikes = _spikes(read, data.get("spikes"), seed, span_s)
    try:
        return diurnal(
            trough,
            peak,
            peak_hour=read.get(data, "load", "peakHour", _number, 15.0) or 0.0,
            start_hour=read.get(data, "load", "startHour", _number, 0.0) or 0.0,
            day_s=read.get(data, "load", "day", parse_duration, 86400.0) or 86400.0,
            spikes=spikes,
            noise=read.get(data, "load", "noise", _number, 0.0) or 0.0,
            noise_period_s=read.get(data, "load", "noisePeriod", parse_duration, 60.0) or 60.0,
            seed=seed,
        )
    except ValueError as exc:
        read.fail("load", str(exc))
        return None


def _load(read: _Reader, value: Any, seed: int, span_s: float) -> Load | None:
    data = read.mapping(value, "load", _LOAD)
    selector = read.get(data, "load", "selector", str) or ""
    try:
        parse_selector(selector)
    except ValueError as exc:
        read.fail("load.selector", str(exc))
    curve = _curve(read, data, seed, span_s)
    namespace = read.get(data, "load", "namespace", str, "default") or "default"
    return None if curve is None else Load(selector=selector, curve=curve, namespace=namespace)


def _manifests(read: _Reader, value: Any, base: Path) -> tuple[dict[str, Any], ...]:
    if not isinstance(value, list) or not value:
        read.fail("manifests", "must be a non-empty list of paths or manifests")
        return ()
    found: list[dict[str, Any]] = []
    for i, item in enumerate(value):
        path = f"manifests[{i}]"
        try:
            docs = read_documents(Path(base, item) if isinstance(item, str) else item)
        except ValidationError as exc:
            read.issues += [Issue(_join(path, issue.path), issue.message) for issue in exc.issues]
            continue
        for decoded in decode_documents(docs):
            # issue paths already start with the document's index in a multi-document file
            read.issues += [Issue(_join(path, i.path), i.message) for i in decoded.issues]
            found.append(dict(decoded.document.data))
    return tuple(found)


def _join(path: str, sub: str) -> str:
    """``path`` followed by the field path ``sub`` (``[1].spec`` or ``spec``)."""
    if not sub:
        return path
    return f"{path}{sub}" if sub.startswith("[") else f"{path}.{sub}"


def _policies(read: _Reader, value: Any) -> dict[str, Mapping[str, Any] | None]:
    if value is None:
        return {"as-written": None}
    if not isinstance(value, Mapping) or not value:
        read.fail("policies", "must map policy names to HPA behavior blocks (or null)")
        return {}
    policies: dict[str, Mapping[str, Any] | None] = {}
    for name, behavior in value.items():
        if behavior is not None and not isinstance(behavior, Mapping):
            read.fail(f"policies.{name}", "must be an HPA behavior block (or null)")
            continue
        policies[str(name)] = behavior
    return policies


def _checked(read: _Reader, whatif: WhatIf) -> None:
    """Issues only a whole scenario shows: the HPA, its target, names, sizes."""
    try:
        hpa_manifest(whatif)
        name, namespace = scale_target(whatif)
    except ValueError as exc:
        read.fail("hpa", str(exc))
    else:
        kinds = {(m.get("kind"), (m.get("metadata") or {}).get("name")) for m in whatif.manifests}
        if ("Deployment", name) not in kinds:
            read.fail("manifests", f"the HPA scales Deployment {namespace}/{name}: not found")
    if not whatif.nodes and not whatif.pools:
        read.fail("nodes", "a scenario needs nodes or node pools")
    prefixes = [g.prefix for g in whatif.nodes] + [p.name for p in whatif.pools]
    for prefix in sorted({p for p in prefixes if prefixes.count(p) > 1}):
        read.fail("nodes", f"two node groups or pools are named {prefix!r}")
    if whatif.duration_s <= 0 or whatif.sample_s <= 0:
        read.fail("duration", "duration and sample must be positive")


def load_scenario(path: str | Path, *, seed: int | None = None) -> WhatIf:
    """The :class:`WhatIf` a scenario file describes (``seed`` overrides its seed);
    :class:`~orbit.ValidationError` listing every problem otherwise."""
    file = Path(path)
    try:
        raw = yaml.safe_load(file.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ValidationError([("", str(exc))], subject=f"scenario {file}") from exc
    read = _Reader()
    data = read.mapping(raw, "", _TOP)
    chosen_seed = seed if seed is not None else read.get(data, "", "seed", _count, 0) or 0
    duration_s = read.get(data, "", "duration", parse_duration) or 0.0
    load = _load(read, data.get("load"), chosen_seed, duration_s)
    expander = read.get(data, "", "expander", str, "least-waste") or "least-waste"
    if expander not in EXPANDERS:
        read.fail("expander", f"unknown expander {expander!r}; known: {', '.join(EXPANDERS)}")
    whatif = WhatIf(
        name=read.get(data, "", "name", str, file.stem) or file.stem,
        manifests=_manifests(read, data.get("manifests"), file.parent),
        load=load or Load(selector="", curve=diurnal(0, 0)),
        nodes=_nodes(read, data.get("nodes", [])),
        pools=_pools(read, data.get("nodePools", [])),
        duration_s=duration_s,
        policies=_policies(read, data.get("policies")),
        hpa=read.get(data, "", "hpa", str, "") or "",
        seed=chosen_seed,
        sample_s=read.get(data, "", "sample", parse_duration, 30.0) or 0.0,
        expander=expander,
    )
    if whatif.manifests:
        _checked(read, whatif)
    if read.issues:
        raise ValidationError(read.issues, subject=f"scenario {file}")
    return whatif
