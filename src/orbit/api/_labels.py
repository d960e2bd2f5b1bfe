"""Compiled label selectors and kubectl's string form of them.

A :class:`Selector` is an immutable conjunction of :class:`Requirement`\\ s kept in a
canonical order (by key), so two selectors that say the same thing compare equal and
print the same. It is what matching, the store's label index and ``str()`` work from;
manifests' ``LabelSelector`` structs and kubectl strings both compile to it.

The string grammar and its lexer follow ``k8s.io/apimachinery/pkg/labels``
(``app=web,tier in (a,b),!canary``): whitespace tolerance, ``in``/``notin`` usable as
keys and values, ``x in ()`` meaning the empty value, ``==`` as a synonym of ``=``. The
``>``/``<`` operators of that grammar are refused: orbit's requirements are the six
set-based and equality forms only.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Literal, NamedTuple

import attrs

from orbit.errors import ValidationError

from ._names import is_qualified_name, is_valid_label_value

__all__ = [
    "Requirement",
    "Selector",
    "SelectorOperator",
    "parse_selector",
]

SelectorOperator = Literal["=", "!=", "in", "notin", "exists", "!"]
_OPERATORS: frozenset[str] = frozenset(("=", "!=", "in", "notin", "exists", "!"))


# --- the compiled selector ----------------------------------------------------------


def _frozen_values(values: Iterable[str]) -> frozenset[str]:
    if isinstance(values, frozenset):
        return values
    if isinstance(values, str):  # a lone string would become a set of its characters
        raise TypeError(f"requirement values must be a collection of strings, not {values!r}")
    return frozenset(values)


@attrs.frozen
class Requirement:
    """One condition on one label key.

    ``=`` and ``!=`` carry exactly one value, ``in`` and ``notin`` at least one,
    ``exists`` and ``!`` (does not exist) none. ``!=`` and ``notin`` also match objects
    without the key. Key and value syntax is checked by the parsers, not here.
    """

    key: str
    operator: SelectorOperator
    values: frozenset[str] = attrs.field(default=frozenset(), converter=_frozen_values)

    def __attrs_post_init__(self) -> None:
        problem = _arity_problem(self.operator, len(self.values))
        if problem:
            raise ValidationError([("", f"requirement on {self.key!r}: {problem}")])

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether ``labels`` satisfy this requirement."""
        operator = self.operator
        if operator == "exists":
            return self.key in labels
        if operator == "!":
            return self.key not in labels
        value = labels.get(self.key)
        if operator in ("=", "in"):
            return value is not None and value in self.values
        return value is None or value not in self.values

    def __str__(self) -> str:
        operator = self.operator
        if operator == "exists":
            return self.key
        if operator == "!":
            return f"!{self.key}"
        values = ",".join(sorted(self.values))
        if operator in ("in", "notin"):
            return f"{self.key} {operator} ({values})"
        return f"{self.key}{operator}{values}"


def _arity_problem(operator: str, count: int) -> str:
    if operator not in _OPERATORS:
        return f"unknown operator {operator!r}"
    if operator in ("=", "!=") and count != 1:
        return "exact-match compatibility requires one single value"
    if operator in ("in", "notin") and count == 0:
        return "for 'in', 'notin' operators, values set can't be empty"
    if operator in ("exists", "!") and count != 0:
        return "values set must be empty for exists and does not exist"
    return ""


def _requirement_order(requirement: Requirement) -> tuple[str, str, tuple[str, ...]]:
    return (requirement.key, requirement.operator, tuple(sorted(requirement.values)))


def _canonical(requirements: Iterable[Requirement]) -> tuple[Requirement, ...]:
    return tuple(sorted(requirements, key=_requirement_order))


@attrs.frozen
class Selector:
    """A compiled label selector: the AND of ``requirements``, sorted by key.

    Two selectors with the same requirements compare equal however they were written.
    ``matches_nothing`` marks :meth:`nothing` (the compiled form of an absent
    ``LabelSelector``), which has no requirements yet matches no object.
    """

    requirements: tuple[Requirement, ...] = attrs.field(default=(), converter=_canonical)
    matches_nothing: bool = attrs.field(default=False, kw_only=True)

    @classmethod
    def everything(cls) -> Selector:
        """The selector that matches every label set."""
        return _EVERYTHING

    @classmethod
    def nothing(cls) -> Selector:
        """The selector that matches no label set."""
        return _NOTHING

    @property
    def empty(self) -> bool:
        """True when the selector does not restrict anything (it matches everything)."""
        return not self.requirements and not self.matches_nothing

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether ``labels`` satisfy every requirement."""
        if self.matches_nothing:
            return False
        return all(requirement.matches(labels) for requirement in self.requirements)

    def add(self, *requirements: Requirement) -> Selector:
        """A new selector that also demands ``requirements``."""
        return Selector((*self.requirements, *requirements), matches_nothing=self.matches_nothing)

    def requires_exact_match(self, key: str) -> str | None:
        """The one value ``key`` must have for a match (``=``, or ``in`` with one value),
        if the selector pins it; else ``None``."""
        for requirement in self.requirements:
            if (
                requirement.key == key
                and requirement.operator in ("=", "in")
                and len(requirement.values) == 1
            ):
                return next(iter(requirement.values))
        return None

    def __str__(self) -> str:
        """Kubernetes' canonical string form (``""`` for everything and for nothing)."""
        return ",".join(str(requirement) for requirement in self.requirements)


_EVERYTHING = Selector()
_NOTHING = Selector(matches_nothing=True)


# --- the string form: lexer and recursive-descent parser ----------------------------


class _Token(NamedTuple):
    kind: str  # "id", "in", "notin", "end", or the symbol itself: "(", "==", "!", ...
    literal: str
    pos: int


_WHITESPACE = frozenset(" \t\r\n")
_SPECIAL = frozenset("=!(),><")
_KEYWORDS = frozenset(("in", "notin"))
_BINARY_OPERATORS: dict[str, SelectorOperator] = {
    "in": "in",
    "notin": "notin",
    "=": "=",
    "==": "=",
    "!=": "!=",
}
_EXPECTED_OPERATORS = "in, notin, =, ==, !="


def _lex(text: str) -> list[_Token]:
    """Split ``text`` into tokens as Kubernetes' lexer does: whitespace separates,
    special symbols take the longest match (``!=``, ``==``), anything else up to the
    next symbol or blank is an identifier (or the keyword ``in``/``notin``)."""
    tokens = []
    pos, end = 0, len(text)
    while True:
        while pos < end and text[pos] in _WHITESPACE:
            pos += 1
        if pos == end:
            tokens.append(_Token("end", "", pos))
            return tokens
        start = pos
        if text[pos] in _SPECIAL:
            pair = text[pos : pos + 2]
            symbol = pair if pair in ("==", "!=") else text[pos]
            pos += len(symbol)
            tokens.append(_Token(symbol, symbol, start))
            continue
        while pos < end and text[pos] not in _SPECIAL and text[pos] not in _WHITESPACE:
            pos += 1
        literal = text[start:pos]
        tokens.append(_Token(literal if literal in _KEYWORDS else "id", literal, start))


def _shown(token: _Token) -> str:
    return "end of string" if token.kind == "end" else f"'{token.literal}'"


class _Parser:
    """Kubernetes' selector grammar::

        selector    ::= requirement ("," requirement)*  |  ""
        requirement ::= ["!"] KEY [ ("in" | "notin") "(" VALUES ")" | ("=" | "==" | "!=") VALUE ]

    ``in`` and ``notin`` are keywords only where an operator is expected.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _lex(text)
        self.index = 0

    def fail(self, pos: int, problem: str) -> ValidationError:
        message = f'invalid label selector "{self.text}": {problem} (at position {pos})'
        return ValidationError([("", message)])

    def peek(self, *, as_value: bool = True) -> _Token:
        token = self.tokens[self.index]
        if as_value and token.kind in _KEYWORDS:
            return token._replace(kind="id")
        return token

    def take(self, *, as_value: bool = True) -> _Token:
        token = self.peek(as_value=as_value)
        self.index += 1
        return token

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while True:
            token = self.peek()
            if token.kind == "end":
                return requirements
            if token.kind not in ("id", "!"):
                expected = "!, identifier, or 'end of string'"
                raise self.fail(token.pos, f"found {_shown(token)}, expected: {expected}")
            requirements.append(self.requirement())
            token = self.take()
            if token.kind == "end":
                return requirements
            if token.kind != ",":
                expected = "',' or 'end of string'"
                raise self.fail(token.pos, f"found {_shown(token)}, expected: {expected}")
            token = self.peek()
            if token.kind not in ("id", "!"):
                expected = "identifier after ','"
                raise self.fail(token.pos, f"found {_shown(token)}, expected: {expected}")

    def requirement(self) -> Requirement:
        key, inferred = self.key_and_inferred_operator()
        if inferred is not None:
            return Requirement(key, inferred)
        operator = self.operator()
        values = self.value_set() if operator in ("in", "notin") else self.exact_value()
        for value, pos in values:
            errors = is_valid_label_value(value)
            if errors:
                problem = f'invalid label value "{value}" for key "{key}": {"; ".join(errors)}'
                raise self.fail(pos, problem)
        return Requirement(key, operator, frozenset(value for value, _ in values))

    def key_and_inferred_operator(self) -> tuple[str, SelectorOperator | None]:
        token = self.take()
        negated = token.kind == "!"
        if negated:
            token = self.take()
        if token.kind != "id":
            raise self.fail(token.pos, f"found {_shown(token)}, expected: identifier")
        errors = is_qualified_name(token.literal)
        if errors:
            problem = f'invalid label key "{token.literal}": {"; ".join(errors)}'
            raise self.fail(token.pos, problem)
        if negated:
            return token.literal, "!"
        if self.peek().kind in ("end", ","):
            return token.literal, "exists"
        return token.literal, None

    def operator(self) -> SelectorOperator:
        token = self.take(as_value=False)
        operator = _BINARY_OPERATORS.get(token.kind)
        if operator is not None:
            return operator
        if token.kind in (">", "<"):
            problem = f"operator '{token.literal}' is not supported, expected: "
        else:
            problem = f"found {_shown(token)}, expected: "
        raise self.fail(token.pos, problem + _EXPECTED_OPERATORS)

    def value_set(self) -> list[tuple[str, int]]:
        token = self.take()
        if token.kind != "(":
            raise self.fail(token.pos, f"found {_shown(token)}, expected: '('")
        token = self.peek()
        if token.kind == ")":  # "()" is the set holding the empty value
            self.take()
            return [("", token.pos)]
        if token.kind not in ("id", ","):
            expected = "',', ')' or identifier"
            raise self.fail(token.pos, f"found {_shown(token)}, expected: {expected}")
        values = self.identifiers()
        self.take()  # the ")" that identifiers() stopped at
        return values

    def identifiers(self) -> list[tuple[str, int]]:
        """A comma-separated list whose items may be empty: ``(a,,b)``, ``(,a)``, ``(a,)``."""
        values: list[tuple[str, int]] = []
        while True:
            token = self.take()
            if token.kind == "id":
                values.append((token.literal, token.pos))
                following = self.peek()
                if following.kind == ")":
                    return values
                if following.kind != ",":
                    expected = "',' or ')'"
                    raise self.fail(
                        following.pos, f"found {_shown(following)}, expected: {expected}"
                    )
            elif token.kind == ",":
                following = self.peek()
                if not values or following.kind in (",", ")"):
                    values.append(("", token.pos))
                if following.kind == ")":
                    return values
            else:
                expected = "',', or identifier"
                raise self.fail(token.pos, f"found {_shown(token)}, expected: {expected}")

    def exact_value(self) -> list[tuple[str, int]]:
        token = self.peek()
        if token.kind in ("end", ","):  # "x=" selects the empty value
            return [("", token.pos)]
        token = self.take()
        if token.kind != "id":
            raise self.fail(token.pos, f"found {_shown(token)}, expected: identifier")
        return [(token.literal, token.pos)]


def parse_selector(text: str) -> Selector:
    """Parse kubectl's label selector string (``app=web,tier in (a,b),!canary``).

    ``""`` selects everything. Raises ``ValidationError`` naming the problem and its
    position in ``text``. Results are cached: selectors are immutable.
    """
    return _parse_selector_cached(text)


@functools.lru_cache(maxsize=512)
def _parse_selector_cached(text: str) -> Selector:
    requirements = _Parser(text).parse()
    return Selector(requirements) if requirements else _EVERYTHING
