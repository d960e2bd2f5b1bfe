"""Node selector terms, compiled once per pod and matched per node or per column.

Kubernetes' ``component-helpers/scheduling/corev1/nodeaffinity`` semantics:

- a term's ``matchExpressions`` test node labels with In / NotIn / Exists /
  DoesNotExist / Gt / Lt (NotIn and DoesNotExist also match a node without the label;
  Gt and Lt compare integers and fail when the label is not one); its ``matchFields``
  test ``metadata.name`` with In / NotIn and exactly one value;
- all requirements of a term must hold; a term with none matches nothing; a term
  with an invalid requirement (bad arity, a non-integer for Gt) is ignored, matching
  nothing;
- the terms of a NodeSelector are ORed; ``spec.nodeSelector`` pairs are ANDed with it.

The vectorised form evaluates a requirement over a whole label column
(:class:`~orbit.scheduling.LabelColumn`): In / NotIn become ``isin`` over integer codes,
Gt / Lt a lookup table over the column's distinct values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

import attrs
import numpy as np
import numpy.typing as npt

from orbit.api import (
    Node,
    NodeSelector,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    Pod,
    is_qualified_name,
    is_valid_label_value,
)
from orbit.scheduling._snapshot import LabelColumn, NodeIndex

__all__ = ["CompiledTerm", "PreferredTerms", "RequiredNodeAffinity"]

BoolArray = npt.NDArray[np.bool_]
NAME_FIELD: Final = "metadata.name"
_INT_RE: Final = re.compile(r"[+-]?[0-9]+")
_INT64: Final = (-(2**63), 2**63 - 1)


def parse_int64(text: str) -> int | None:
    """Go's ``strconv.ParseInt(text, 10, 64)``: the integer, or None."""
    if not _INT_RE.fullmatch(text):
        return None
    value = int(text)
    return value if _INT64[0] <= value <= _INT64[1] else None


@attrs.frozen(slots=True)
class _Requirement:
    key: str
    operator: str
    values: frozenset[str]
    number: int | None = None  # Gt / Lt bound

    def matches(self, value: str | None) -> bool:
        """Whether a label (or field) value — None when absent — satisfies this."""
        op = self.operator
        if op == "In":
            return value is not None and value in self.values
        if op == "NotIn":
            return value is None or value not in self.values
        if op == "Exists":
            return value is not None
        if op == "DoesNotExist":
            return value is None
        number = None if value is None else parse_int64(value)
        if number is None or self.number is None:
            return False
        return number > self.number if op == "Gt" else number < self.number

    def mask(self, column: LabelColumn, codes: npt.NDArray[np.int32]) -> BoolArray:
        """:meth:`matches` for every entry of ``codes`` (codes of ``column``)."""
        op = self.operator
        if op in ("In", "NotIn"):
            wanted = [column.vocabulary[v] for v in self.values if v in column.vocabulary]
            hit = np.isin(codes, np.asarray(wanted, dtype=np.int32))
            return hit if op == "In" else ~hit
        if op == "Exists":
            return codes >= 0
        if op == "DoesNotExist":
            return codes < 0
        table = np.zeros(len(column.vocabulary) + 1, dtype=np.bool_)  # slot 0: absent
        for value, code in column.vocabulary.items():
            table[code + 1] = self.matches(value)
        return table[codes + 1]


def _compile_expression(req: NodeSelectorRequirement) -> _Requirement | None:
    """The requirement, or None when Kubernetes' NewRequirement would reject it."""
    op, values = req.operator, req.values
    if is_qualified_name(req.key) or any(is_valid_label_value(v) for v in values):
        return None
    number = None
    if op in ("In", "NotIn") and not values:
        return None
    if op in ("Exists", "DoesNotExist") and values:
        return None
    if op in ("Gt", "Lt"):
        number = parse_int64(values[0]) if len(values) == 1 else None
        if number is None:
            return None
    elif op not in ("In", "NotIn", "Exists", "DoesNotExist"):
        return None
    return _Requirement(req.key, op, frozenset(values), number)


def _compile_field(req: NodeSelectorRequirement) -> _Requirement | None:
    if req.operator not in ("In", "NotIn") or len(req.values) != 1:
        return None
    return _Requirement(req.key, req.operator, frozenset(req.values))


@attrs.frozen(slots=True)
class CompiledTerm:
    """One NodeSelectorTerm; ``valid`` is False when it must match nothing."""

    expressions: tuple[_Requirement, ...] = ()
    fields: tuple[_Requirement, ...] = ()
    valid: bool = True

    @classmethod
    def compile(cls, term: NodeSelectorTerm) -> CompiledTerm:
        """Compile ``term`` (an empty or invalid term matches nothing)."""
        expressions = [_compile_expression(r) for r in term.match_expressions]
        fields = [_compile_field(r) for r in term.match_fields]
        parts = [*expressions, *fields]
        if not parts or any(part is None for part in parts):
            return cls(valid=False)
        return cls(
            expressions=tuple(e for e in expressions if e is not None),
            fields=tuple(f for f in fields if f is not None),
        )

    def matches(self, node: Node) -> bool:
        """Whether ``node`` satisfies every requirement of the term."""
        if not self.valid:
            return False
        labels = node.metadata.labels
        if not all(r.matches(labels.get(r.key)) for r in self.expressions):
            return False
        name = node.metadata.name
        return all(r.matches(name if r.key == NAME_FIELD else "") for r in self.fields)

    def mask(self, index: NodeIndex, subset: npt.NDArray[np.intp] | None) -> BoolArray:
        """:meth:`matches` for every node (or the ``subset`` of snapshot indices)."""
        size = len(index.names().codes) if subset is None else len(subset)
        if not self.valid:
            return np.zeros(size, dtype=np.bool_)
        out = np.ones(size, dtype=np.bool_)
        for r in self.expressions:
            column = index.label(r.key)
            codes = column.codes if subset is None else column.codes[subset]
            out &= r.mask(column, codes)
        for r in self.fields:
            if r.key == NAME_FIELD:
                column = index.names()
                codes = column.codes if subset is None else column.codes[subset]
                out &= r.mask(column, codes)
            else:  # a field nodes do not have: compared as ""
                out &= r.matches("")
        return out


def _selector_terms(selector: NodeSelector) -> tuple[CompiledTerm, ...]:
    return tuple(CompiledTerm.compile(t) for t in selector.node_selector_terms)


@attrs.frozen(slots=True)
class RequiredNodeAffinity:
    """``spec.nodeSelector`` AND the required node affinity (None: no affinity)."""

    node_selector: Mapping[str, str]
    terms: tuple[CompiledTerm, ...] | None

    @classmethod
    def of(cls, pod: Pod) -> RequiredNodeAffinity:
        """The pod's hard node constraints."""
        affinity = pod.spec.affinity
        node_affinity = affinity.node_affinity if affinity is not None else None
        required = (
            node_affinity.required_during_scheduling_ignored_during_execution
            if node_affinity is not None
            else None
        )
        terms = _selector_terms(required) if required is not None else None
        return cls(node_selector=pod.spec.node_selector, terms=terms)

    def matches(self, node: Node) -> bool:
        """Whether ``node`` satisfies the selector and some term."""
        labels = node.metadata.labels
        if any(labels.get(k) != v for k, v in self.node_selector.items()):
            return False
        return self.terms is None or any(term.matches(node) for term in self.terms)

    def mask(self, index: NodeIndex) -> BoolArray:
        """:meth:`matches` for every node of the snapshot."""
        out = np.ones(len(index.names().codes), dtype=np.bool_)
        for key, value in self.node_selector.items():
            column = index.label(key)
            code = column.vocabulary.get(value)
            out &= column.codes == (-2 if code is None else code)
        if self.terms is not None:
            any_term = np.zeros_like(out)
            for term in self.terms:
                any_term |= term.mask(index, None)
            out &= any_term
        return out


@attrs.frozen(slots=True)
class PreferredTerms:
    """Preferred scheduling terms with their weights (zero weights dropped)."""

    terms: tuple[tuple[int, CompiledTerm], ...]

    @classmethod
    def of(cls, pod: Pod) -> PreferredTerms | None:
        """The pod's preferred node affinity, or None when it has none."""
        affinity = pod.spec.affinity
        node_affinity = affinity.node_affinity if affinity is not None else None
        if node_affinity is None:
            return None
        preferred = node_affinity.preferred_during_scheduling_ignored_during_execution
        if not preferred:
            return None
        return cls(
            tuple((t.weight, CompiledTerm.compile(t.preference)) for t in preferred if t.weight)
        )

    def score(self, node: Node) -> int:
        """The sum of the weights of the terms ``node`` matches."""
        return sum(weight for weight, term in self.terms if term.matches(node))

    def score_all(
        self, index: NodeIndex, candidates: npt.NDArray[np.intp]
    ) -> npt.NDArray[np.int64]:
        """:meth:`score` for every candidate index."""
        subset = candidates
        total = np.zeros(len(subset), dtype=np.int64)
        for weight, term in self.terms:
            total += weight * term.mask(index, subset)
        return total
