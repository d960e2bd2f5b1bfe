"""Semantic validation: every rule Kubernetes enforces that types alone cannot.

``validate(obj)`` returns every issue at once, each with its field path. Validators are
registered per kind with :func:`validator`; the per-kind rules live in the
``_validate_*`` modules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from orbit.errors import Issue

__all__ = ["validate", "validator"]

_Validator = Callable[[Any], list[Issue]]
_VALIDATORS: dict[type[Any], list[_Validator]] = {}
_F = TypeVar("_F", bound=_Validator)


def validator(cls: type[Any]) -> Callable[[_F], _F]:
    """Register a function ``(obj) -> list[Issue]`` that validates objects of ``cls``."""

    def register(func: _F) -> _F:
        _VALIDATORS.setdefault(cls, []).append(func)
        return func

    return register


def validate(obj: Any) -> list[Issue]:
    """Every issue with ``obj``, in field order; empty when it is valid."""
    issues: list[Issue] = []
    for func in _VALIDATORS.get(type(obj), ()):
        issues.extend(func(obj))
    return issues
