"""Kubernetes' ``LabelSelector`` struct, its validation, and conversion to a Selector.

Manifests carry ``metav1.LabelSelector`` (``matchLabels`` plus ``matchExpressions``
with In / NotIn / Exists / DoesNotExist). This module holds that struct, checks it the
way Kubernetes does (every problem with its field path), and compiles it to the
immutable :class:`~orbit.api._labels.Selector` that matching and the store's label
index use. :func:`as_selector` accepts every form a caller may hand over: a Selector,
a LabelSelector, a kubectl string or a plain ``{key: value}`` mapping.

For convenience the compiled forms and the field selectors are re-exported here, so
``from orbit.api._selector import ...`` reaches everything about selection.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from orbit.errors import Issue, ValidationError

from ._fields import FieldRequirement, FieldSelector, as_field_selector, parse_field_selector
from ._labels import Requirement, Selector, SelectorOperator, parse_selector
from ._meta import EMPTY_MAP
from ._names import is_qualified_name, is_valid_label_value, validate_labels

__all__ = [
    "FieldRequirement",
    "FieldSelector",
    "LabelSelector",
    "LabelSelectorRequirement",
    "Requirement",
    "Selector",
    "SelectorOperator",
    "as_field_selector",
    "as_selector",
    "parse_field_selector",
    "parse_selector",
    "selector_from_label_selector",
    "validate_label_selector",
]


# --- the API struct (metav1.LabelSelector) -------------------------------------------


@attrs.frozen(kw_only=True)
class LabelSelectorRequirement:
    """One ``matchExpressions`` entry: ``key`` related to ``values`` by ``operator``
    (``In``, ``NotIn``, ``Exists`` or ``DoesNotExist``)."""

    key: str = ""
    operator: str = ""
    values: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class LabelSelector:
    """Kubernetes' ``LabelSelector``: every ``match_labels`` pair and every
    ``match_expressions`` entry must hold (AND).

    An empty selector matches every object; an absent one (``None`` where a field takes
    a selector) matches none, as in Kubernetes.
    """

    match_labels: Mapping[str, str] = EMPTY_MAP
    match_expressions: tuple[LabelSelectorRequirement, ...] = ()

    def to_selector(self) -> Selector:
        """Compile to a :class:`Selector`; ``ValidationError`` if the selector is
        invalid (see :func:`validate_label_selector`)."""
        return selector_from_label_selector(self)


# --- LabelSelector -> Selector, validation, coercion ---------------------------------

_LABEL_SELECTOR_OPERATORS: dict[str, SelectorOperator] = {
    "In": "in",
    "NotIn": "notin",
    "Exists": "exists",
    "DoesNotExist": "!",
}


def selector_from_label_selector(label_selector: LabelSelector | None) -> Selector:
    """Compile a ``LabelSelector``: ``None`` matches nothing, an empty one everything.

    Raises ``ValidationError`` (paths relative to the selector, e.g.
    ``matchExpressions[0].values``) when the selector is invalid.
    """
    if label_selector is None:
        return Selector.nothing()
    issues = validate_label_selector(label_selector, "")
    if issues:
        raise ValidationError(issues, subject="label selector")
    requirements = [
        Requirement(key, "=", frozenset((value,)))
        for key, value in label_selector.match_labels.items()
    ]
    requirements.extend(
        Requirement(expr.key, _LABEL_SELECTOR_OPERATORS[expr.operator], frozenset(expr.values))
        for expr in label_selector.match_expressions
    )
    return Selector(requirements) if requirements else Selector.everything()


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def validate_label_selector(label_selector: LabelSelector | None, path: str) -> list[Issue]:
    """Every problem with a ``LabelSelector`` at ``path`` (e.g. ``spec.selector``).

    Label keys must be qualified names and values valid label values; ``In`` and
    ``NotIn`` need values, ``Exists`` and ``DoesNotExist`` forbid them. ``None`` is
    valid (whether a selector is required is the caller's business).
    """
    if label_selector is None:
        return []
    issues = validate_labels(label_selector.match_labels, _join(path, "matchLabels"))
    for index, expr in enumerate(label_selector.match_expressions):
        issues.extend(_validate_requirement(expr, f"{_join(path, 'matchExpressions')}[{index}]"))
    return issues


def _validate_requirement(expr: LabelSelectorRequirement, path: str) -> list[Issue]:
    issues = []
    values_path = f"{path}.values"
    if expr.operator in ("In", "NotIn"):
        if not expr.values:
            message = "Required value: must be specified when `operator` is 'In' or 'NotIn'"
            issues.append(Issue(values_path, message))
    elif expr.operator in ("Exists", "DoesNotExist"):
        if expr.values:
            message = (
                "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
            )
            issues.append(Issue(values_path, message))
    else:
        message = (
            f'Unsupported value: "{expr.operator}": supported values: '
            '"DoesNotExist", "Exists", "In", "NotIn"'
        )
        issues.append(Issue(f"{path}.operator", message))
    issues.extend(
        Issue(f"{path}.key", f'Invalid value: "{expr.key}": {msg}')
        for msg in is_qualified_name(expr.key)
    )
    for index, value in enumerate(expr.values):
        issues.extend(
            Issue(f"{values_path}[{index}]", f'Invalid value: "{value}": {msg}')
            for msg in is_valid_label_value(value)
        )
    return issues


def as_selector(selector: Selector | LabelSelector | str | Mapping[str, str] | None) -> Selector:
    """Coerce what a caller may pass as a label selector: ``None`` selects everything,
    a string is parsed, a mapping demands each ``key=value`` pair."""
    if selector is None:
        return Selector.everything()
    if isinstance(selector, Selector):
        return selector
    if isinstance(selector, LabelSelector):
        return selector.to_selector()
    if isinstance(selector, str):
        return parse_selector(selector)
    if isinstance(selector, Mapping):
        return Selector(
            Requirement(key, "=", frozenset((value,))) for key, value in selector.items()
        )
    raise TypeError(f"cannot use a {type(selector).__name__} as a label selector")
