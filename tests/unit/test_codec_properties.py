"""Property tests for the manifest codec: any object survives encode -> decode."""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, get_args, get_origin

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import orbit
from orbit.api import Quantity, all_kinds
from orbit.api._codec import DecodeContext, decode_into, encode

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_quantities = st.builds(
    lambda units, suffix: Quantity.parse(f"{units}{suffix}"),
    st.integers(min_value=0, max_value=10**6),
    st.sampled_from(["", "m", "k", "M", "Ki", "Mi", "Gi"]),
)
_times = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@functools.cache
def strategy_for(hint: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    if hint is str:
        return _text
    if hint is int:
        return st.integers(min_value=-(2**31), max_value=2**31)
    if hint is bool:
        return st.booleans()
    if hint is float:
        return st.floats(allow_nan=False, allow_infinity=False)
    if hint is Quantity:
        return _quantities
    if hint is datetime:
        return _times
    origin = get_origin(hint)
    if origin is Literal:
        return st.sampled_from(get_args(hint))
    if origin in (typing.Union, types.UnionType):
        return st.one_of([strategy_for(a, depth) for a in get_args(hint)])
    if hint is type(None):
        return st.none()
    if origin is tuple:
        if depth > 3:
            return st.just(())
        return st.lists(strategy_for(get_args(hint)[0], depth + 1), max_size=2).map(tuple)
    if origin in (Mapping, dict):
        return st.dictionaries(_text, strategy_for(get_args(hint)[1], depth + 1), max_size=2)
    if attrs.has(hint):
        if depth > 4:
            return st.just(hint())
        hints = typing.get_type_hints(hint)
        fields = {f.name: strategy_for(hints[f.name], depth + 1) for f in attrs.fields(hint)}
        return st.fixed_dictionaries({}, optional=fields).map(lambda kw: hint(**kw))
    raise TypeError(hint)


def roundtrip(obj: Any) -> Any:
    ctx = DecodeContext()
    result = decode_into(type(obj), encode(obj), "", ctx)
    assert ctx.issues == []
    assert ctx.warnings == []
    return result


@pytest.mark.parametrize("info", all_kinds(), ids=lambda info: info.kind)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_encode_then_decode_is_stable(info: Any, data: st.DataObject) -> None:
    """Decoding an encoded object gives an equal object once it is in canonical form.

    Canonical: an optional struct that Kubernetes defaults (``rollingUpdate`` with a
    RollingUpdate strategy) cannot be "explicitly absent", so the first round trip
    may fill it in; after that, every round trip is exact.
    """
    obj = data.draw(strategy_for(info.cls))
    canonical = roundtrip(obj)
    assert roundtrip(canonical) == canonical
    assert encode(canonical) == encode(roundtrip(canonical))


names = st.from_regex(r"[a-z]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
label_values = st.from_regex(r"([A-Za-z0-9]([A-Za-z0-9_.-]{0,10}[A-Za-z0-9])?)?", fullmatch=True)
cpu = st.builds(lambda m: f"{m}m", st.integers(min_value=1, max_value=64_000))
memory = st.builds(lambda n, u: f"{n}{u}", st.integers(1, 4096), st.sampled_from(["Mi", "Gi", "M"]))


@st.composite
def deployments(draw: st.DrawFn) -> dict[str, Any]:
    labels = draw(st.dictionaries(names, label_values, min_size=1, max_size=3))
    container = {
        "name": draw(names),
        "image": draw(st.sampled_from(["nginx", "nginx:1.27", "busybox:latest", "r:5000/a/b:c"])),
        "resources": {"requests": {"cpu": draw(cpu), "memory": draw(memory)}},
    }
    if draw(st.booleans()):
        container["ports"] = [{"name": "http", "containerPort": draw(st.integers(1, 65535))}]
    spec: dict[str, Any] = {
        "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
    }
    if draw(st.booleans()):
        spec["replicas"] = draw(st.integers(0, 100))
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": draw(names), "labels": labels},
        "spec": spec,
    }


@settings(max_examples=60, deadline=None)
@given(manifest=deployments())
def test_valid_manifests_load_dump_load(manifest: dict[str, Any]) -> None:
    (obj,) = orbit.load_manifests(manifest)
    assert orbit.load_manifests(orbit.dump(obj)) == [obj]


def test_quantity_decimal_strategy_sanity() -> None:
    assert Quantity.parse("1Ki").value == Decimal(1024)


def _reachable_classes() -> set[type[Any]]:
    seen: set[type[Any]] = set()

    def walk(hint: Any) -> None:
        if attrs.has(hint) and hint not in seen:
            seen.add(hint)
            for field_hint in typing.get_type_hints(hint).values():
                walk(field_hint)
        for arg in get_args(hint):
            walk(arg)

    for info in all_kinds():
        walk(info.cls)
    return seen


def test_every_api_class_has_a_default_for_every_field() -> None:
    """Like Go's zero values: decoding never fails to build an object, so validation
    can report every problem (a missing name is a validation issue, not a crash)."""
    required = [
        f"{cls.__name__}.{field.name}"
        for cls in _reachable_classes()
        for field in attrs.fields(cls)
        if field.default is attrs.NOTHING
    ]
    assert required == []
