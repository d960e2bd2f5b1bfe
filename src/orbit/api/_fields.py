"""Field selectors: kubectl's ``spec.nodeName=node-1,status.phase!=Failed``.

They follow ``k8s.io/apimachinery/pkg/fields``: equality and inequality only, terms
joined by commas, ``\\`` escaping ``,``, ``=`` and ``\\`` in values. Which fields may be
selected on, and how an object's field is read, is the caller's business (the store
passes a getter), so this module knows nothing of kinds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Literal, NamedTuple

import attrs

from orbit.errors import ValidationError

__all__ = [
    "FieldRequirement",
    "FieldSelector",
    "as_field_selector",
    "parse_field_selector",
]


# --- field selectors -----------------------------------------------------------------


class FieldRequirement(NamedTuple):
    """``field`` compared with ``value``: ``=`` (equal) or ``!=`` (not equal)."""

    field: str
    operator: Literal["=", "!="]
    value: str

    def matches(self, get: Callable[[str], str]) -> bool:
        """Whether the object whose fields ``get`` reads satisfies this term."""
        return (get(self.field) == self.value) == (self.operator == "=")

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")
        return f"{self.field}{self.operator}{escaped}"


def _sorted_terms(terms: Iterable[FieldRequirement]) -> tuple[FieldRequirement, ...]:
    return tuple(sorted(terms))


@attrs.frozen
class FieldSelector:
    """A compiled field selector: the AND of ``requirements``, kept sorted."""

    requirements: tuple[FieldRequirement, ...] = attrs.field(default=(), converter=_sorted_terms)

    @classmethod
    def everything(cls) -> FieldSelector:
        """The field selector that matches every object."""
        return _EVERY_FIELD

    @property
    def empty(self) -> bool:
        """True when the selector matches every object."""
        return not self.requirements

    def matches(self, get: Callable[[str], str]) -> bool:
        """Whether the object whose fields ``get`` reads satisfies every term; ``get``
        maps a field path such as ``spec.nodeName`` to its value as a string."""
        return all(term.matches(get) for term in self.requirements)

    def requires_exact_match(self, field: str) -> str | None:
        """The value ``field`` must equal for a match, if a term pins it."""
        for term in self.requirements:
            if term.field == field and term.operator == "=":
                return term.value
        return None

    def __str__(self) -> str:
        return ",".join(str(term) for term in self.requirements)


_EVERY_FIELD = FieldSelector()
_FIELD_OPERATORS = ("!=", "==", "=")


def _split_unescaped_commas(text: str) -> list[str]:
    parts, start, escaped = [], 0, False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


def _parse_field_term(text: str, term: str) -> FieldRequirement:
    def fail(problem: str) -> ValidationError:
        return ValidationError([("", f'invalid field selector "{text}": {problem}')])

    for index in range(len(term)):
        operator = next((op for op in _FIELD_OPERATORS if term.startswith(op, index)), None)
        if operator is not None:
            break
    else:
        raise fail(f"can't understand '{term}' (expected field=value or field!=value)")
    field, raw = term[:index], term[index + len(operator) :]
    if not field:
        raise fail(f"missing field name in '{term}'")
    value: list[str] = []
    escaped = False
    for char in raw:
        if escaped:
            if char not in "\\,=":
                raise fail(f"invalid escape sequence: \\{char}")
            value.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in ",=":
            raise fail(f"unescaped character in value: {char!r} in '{term}'")
        else:
            value.append(char)
    if escaped:
        raise fail("invalid escape sequence: \\")
    return FieldRequirement(field, "!=" if operator == "!=" else "=", "".join(value))


def parse_field_selector(text: str) -> FieldSelector:
    """Parse kubectl's field selector string (``spec.nodeName=node-1,status.phase!=Failed``).

    ``==`` is accepted for ``=``; ``\\`` escapes ``,``, ``=`` and ``\\`` in values; empty
    terms are skipped, so ``""`` selects everything.
    """
    terms = [_parse_field_term(text, term) for term in _split_unescaped_commas(text) if term != ""]
    return FieldSelector(terms) if terms else _EVERY_FIELD


def as_field_selector(selector: FieldSelector | str | Mapping[str, str] | None) -> FieldSelector:
    """Coerce what a caller may pass as a field selector: ``None`` selects everything,
    a string is parsed, a mapping demands each ``field=value`` pair."""
    if selector is None:
        return _EVERY_FIELD
    if isinstance(selector, FieldSelector):
        return selector
    if isinstance(selector, str):
        return parse_field_selector(selector)
    if isinstance(selector, Mapping):
        return FieldSelector(
            FieldRequirement(field, "=", value) for field, value in selector.items()
        )
    raise TypeError(f"cannot use a {type(selector).__name__} as a field selector")
