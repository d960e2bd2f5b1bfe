"""Resource quantities with Kubernetes' exact ``resource.Quantity`` semantics.

Every request, limit, capacity and quota in a manifest is a quantity ("500m", "1.5Gi",
"1e3"). This module parses them the way ``k8s.io/apimachinery/pkg/api/resource`` does
and prints them in Kubernetes' canonical form, so what orbit stores, dumps and compares
is what a Kubernetes API server would. Values are :class:`decimal.Decimal`, never floats.

The grammar (from ``quantity.go``)::

    <quantity>  ::= <sign>? <digits>? ("." <digits>?)? <suffix>   (at least one digit)
    <suffix>    ::= <binarySI> | <decimalSI> | ("e" | "E") <sign>? <digits>
    <binarySI>  ::= Ki | Mi | Gi | Ti | Pi | Ei
    <decimalSI> ::= n | u | m | "" | k | M | G | T | P | E

Parsing keeps the value exactly, except that a value finer than a nano unit is rounded
away from zero to the next nano ("0.9n" is "1n": if you asked for some, you get some), a
BinarySI magnitude is capped at 2**63 - 1, and a BinarySI value strictly between -1 and
1 is reported as DecimalSI. :meth:`Quantity.parse` is cached, so the 100,000 pods that
request "500m" share one immutable instance.

Resource lists (``requests``, ``limits``, ``capacity``, ``hard``) map resource names to
quantities; :func:`parse_resource_list` parses and validates one, reporting every issue
with its field path.
"""

from __future__ import annotations

import decimal
import enum
import functools
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final, TypeAlias, final

from orbit.errors import Issue, ValidationError

from ._names import is_qualified_name

__all__ = [
    "CPU",
    "EPHEMERAL_STORAGE",
    "GPU",
    "HUGEPAGES_PREFIX",
    "INTEGER_RESOURCE_NAMES",
    "MEMORY",
    "PODS",
    "STANDARD_RESOURCE_NAMES",
    "STORAGE",
    "Format",
    "Quantity",
    "ResourceList",
    "is_extended_resource_name",
    "parse_quantity",
    "parse_resource_list",
]

CPU: Final = "cpu"
MEMORY: Final = "memory"
EPHEMERAL_STORAGE: Final = "ephemeral-storage"
PODS: Final = "pods"
STORAGE: Final = "storage"
GPU: Final = "nvidia.com/gpu"
HUGEPAGES_PREFIX: Final = "hugepages-"

STANDARD_RESOURCE_NAMES: Final = frozenset({CPU, MEMORY, EPHEMERAL_STORAGE, PODS, STORAGE})
"""Unqualified resource names accepted in a resource list (plus ``hugepages-<size>``)."""

INTEGER_RESOURCE_NAMES: Final = frozenset(
    {PODS, "services", "replicationcontrollers", "resourcequotas", "secrets", "configmaps"}
    | {"persistentvolumeclaims", "services.nodeports", "services.loadbalancers"}
)
"""Standard names whose quantities must be whole numbers (extended resources too)."""


class Format(enum.StrEnum):
    """How a quantity was written, and so how it is printed back."""

    DECIMAL_SI = "DecimalSI"  # 12M  (12 * 10**6)
    BINARY_SI = "BinarySI"  # 12Mi (12 * 2**20)
    DECIMAL_EXPONENT = "DecimalExponent"  # 12e6


_DECIMAL_SUFFIXES: Final = {
    "n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18,
}  # fmt: skip
_DECIMAL_BY_EXPONENT: Final = {exp: suffix for suffix, exp in _DECIMAL_SUFFIXES.items()}
_BINARY_SUFFIXES: Final = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_BINARY_BY_POWER: Final = {exp // 10: suffix for suffix, exp in _BINARY_SUFFIXES.items()}

_NUMBER_RE: Final = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?(.*)", re.DOTALL)
_EXPONENT_RE: Final = re.compile(r"[eE]([+-]?)0*([0-9]{1,12})")  # longer: beyond int32
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1  # Kubernetes keeps exponents in an int32
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_MAX_BINARY: Final = Decimal(_INT64_MAX)
_NANO: Final = Decimal("1e-9")
_ZERO: Final = Decimal(0)

# Parsing only multiplies, quantizes and rescales, which are exact at any precision, so
# its context never rounds. Arithmetic between quantities gets a generous but finite
# precision (exact for anything a manifest holds), never the thread's global context.
_EXACT: Final = decimal.Context(
    prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN, rounding=decimal.ROUND_UP
)
_ARITH: Final = decimal.Context(prec=1000, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)


def _invalid(text: object) -> ValidationError:
    return ValidationError([("", f'invalid quantity "{text}"')])


def _parse_text(text: str) -> tuple[Decimal, Format]:
    """Value and format of ``text``, or ValidationError; see the module grammar."""
    match = _NUMBER_RE.fullmatch(text)
    if match is None:  # pragma: no cover - the pattern matches every string
        raise _invalid(text)
    sign, whole, fraction, suffix = match.groups()
    fraction = fraction or ""
    if not whole and not fraction:
        raise _invalid(text)
    fmt = Format.DECIMAL_SI
    if suffix in _DECIMAL_SUFFIXES:
        exponent = _DECIMAL_SUFFIXES[suffix]
    elif suffix in _BINARY_SUFFIXES:
        fmt, exponent = Format.BINARY_SI, 0
    elif (exp_match := _EXPONENT_RE.fullmatch(suffix)) is not None:
        fmt, exponent = Format.DECIMAL_EXPONENT, int("".join(exp_match.groups()))
        if not _INT32_MIN <= exponent <= _INT32_MAX:
            raise _invalid(text)
    else:
        raise _invalid(text)
    # Built from a string, a Decimal is exact whatever the context says.
    value = Decimal(f"{sign}{whole or 0}{fraction}E{exponent - len(fraction)}")
    if fmt is Format.BINARY_SI:
        value = _EXACT.multiply(value, Decimal(2 ** _BINARY_SUFFIXES[suffix]))
    value = _round_nano(value)
    if fmt is Format.BINARY_SI:
        magnitude = value.copy_abs()  # copy_*: exact, unlike abs() and unary minus
        if magnitude > _MAX_BINARY:
            value = _MAX_BINARY.copy_sign(value)
        elif 0 < magnitude < 1:
            fmt = Format.DECIMAL_SI
    return value, fmt


def _round_nano(value: Decimal) -> Decimal:
    """``value`` rounded away from zero to a whole number of nano units; zero unsigned."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -9:
        value = value.quantize(_NANO, context=_EXACT)  # _EXACT rounds ROUND_UP
    return value if value else _ZERO


def _float_text(number: float) -> str:
    """A YAML float as Kubernetes reads it: Go's JSON spelling, positional from 1e-6 up to
    1e21 and an exponent outside (so ``0.00001`` is DecimalSI, ``1e-7`` DecimalExponent)."""
    text = repr(number)
    if number == 0 or 1e-6 <= abs(number) < 1e21:
        return format(Decimal(text), "f")  # nan and inf stay as they are: invalid
    return text


@functools.lru_cache(maxsize=4096)
def _parse_cached(text: str) -> Quantity:
    value, fmt = _parse_text(text)
    return Quantity._make(value, fmt)


def _coefficient(value: Decimal) -> tuple[str, int]:
    """Digits of ``|value|`` without trailing zeros, and the power of ten they carry."""
    _, digits, exponent = value.as_tuple()
    text = "".join(map(str, digits))
    stripped = text.rstrip("0")
    return stripped, int(exponent) + len(text) - len(stripped)


def _canonical(value: Decimal, fmt: Format) -> str:
    """Kubernetes' ``CanonicalizeBytes``: no fractional digits, the largest suffix.

    BinarySI falls back to DecimalSI below 1024 in magnitude and for non-integers, as
    Kubernetes does, and also above 2**63 - 1 (where Kubernetes would print a suffix that
    parses back capped), so the canonical string always parses back to the same value.
    """
    if not value:
        return "0"
    sign = "-" if value < 0 else ""
    digits, exponent = _coefficient(value)
    if fmt is Format.BINARY_SI and 1024 <= value.copy_abs() <= _MAX_BINARY and exponent >= 0:
        number, power = int(digits) * 10**exponent, 0
        while number % 1024 == 0 and number >= 1024:
            number, power = number // 1024, power + 1
        return f"{sign}{number}{_BINARY_BY_POWER.get(power, '')}"
    shift = exponent % 3  # move the exponent down to a multiple of three
    digits, exponent = digits + "0" * shift, exponent - shift
    if fmt is not Format.DECIMAL_EXPONENT and exponent in _DECIMAL_BY_EXPONENT:
        return f"{sign}{digits}{_DECIMAL_BY_EXPONENT[exponent]}"
    return f"{sign}{digits}e{exponent}" if exponent else f"{sign}{digits}"


@final
class Quantity:
    """A fixed-point amount of a resource and the format it was written in.

    Immutable and hashable. ``==``, ``<`` and ``hash`` look at the value only, so
    ``Quantity("1") == Quantity("1000m")``; ``str()`` is Kubernetes' canonical string,
    which parses back to an equal quantity. ``Quantity(text)`` is ``Quantity.parse(text)``.
    """

    __slots__ = ("_text", "format", "value")

    value: Decimal
    format: Format
    _text: str

    def __new__(cls, text: str | int | float | Quantity) -> Quantity:
        return cls.parse(text)

    @classmethod
    def parse(cls, text: str | int | float | Quantity) -> Quantity:
        """Parse a manifest value; YAML numbers (``cpu: 2``, ``cpu: 0.5``) are accepted.

        Raises:
            ValidationError: ``text`` is not a quantity; the message quotes it.
        """
        if isinstance(text, str):
            return _parse_cached(text)
        if isinstance(text, Quantity):
            return text
        if isinstance(text, int) and not isinstance(text, bool):
            return _parse_cached(str(text))
        if isinstance(text, float):
            return _parse_cached(_float_text(text))
        raise _invalid(text)

    @classmethod
    def from_value(cls, value: Decimal | int, fmt: Format = Format.DECIMAL_SI) -> Quantity:
        """A quantity of ``value``, rounded away from zero to nano precision as parsing does."""
        value = Decimal(value)
        if not value.is_finite():
            raise ValueError(f"a quantity must be finite, not {value}")
        return cls._make(_round_nano(value), Format(fmt))

    @classmethod
    def from_milli(cls, milli: int, fmt: Format = Format.DECIMAL_SI) -> Quantity:
        """A quantity of ``milli`` thousandths (Kubernetes' ``NewMilliQuantity``)."""
        return cls.from_value(Decimal(milli).scaleb(-3, context=_EXACT), fmt)

    @classmethod
    def _make(cls, value: Decimal, fmt: Format) -> Quantity:
        self = object.__new__(cls)
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "format", fmt)
        return self

    def __str__(self) -> str:
        try:
            return self._text
        except AttributeError:
            text = _canonical(self.value, self.format)
            object.__setattr__(self, "_text", text)  # a cache: still immutable to callers
            return text

    def __repr__(self) -> str:
        return f"Quantity({str(self)!r})"

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Quantity is immutable; cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Quantity is immutable; cannot delete {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (str(self.value), self.format.value))

    def __copy__(self) -> Quantity:
        return self

    def __deepcopy__(self, memo: object) -> Quantity:
        return self

    def __hash__(self) -> int:
        return hash(self.value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Quantity):
            return self.value == other.value
        return NotImplemented

    def __lt__(self, other: object) -> bool:
        if isinstance(other, Quantity):
            return self.value < other.value
        return NotImplemented

    def __le__(self, other: object) -> bool:
        if isinstance(other, Quantity):
            return self.value <= other.value
        return NotImplemented

    def __gt__(self, other: object) -> bool:
        if isinstance(other, Quantity):
            return self.value > other.value
        return NotImplemented

    def __ge__(self, other: object) -> bool:
        if isinstance(other, Quantity):
            return self.value >= other.value
        return NotImplemented

    def __add__(self, other: Quantity) -> Quantity:
        """The sum, in this quantity's format (or ``other``'s if this one is zero, as
        Kubernetes' ``Add`` does)."""
        fmt = self.format if self.value else other.format
        return Quantity._make(_ARITH.add(self.value, other.value) or _ZERO, fmt)

    def __sub__(self, other: Quantity) -> Quantity:
        """The difference, formatted as :meth:`__add__` formats a sum."""
        fmt = self.format if self.value else other.format
        return Quantity._make(_ARITH.subtract(self.value, other.value) or _ZERO, fmt)

    def __neg__(self) -> Quantity:
        return Quantity._make(self.value.copy_negate() if self.value else _ZERO, self.format)

    def __mul__(self, factor: int) -> Quantity:
        """The quantity times a whole number (replicas, pod counts)."""
        return Quantity._make(_ARITH.multiply(self.value, Decimal(factor)) or _ZERO, self.format)

    __rmul__ = __mul__

    def is_zero(self) -> bool:
        """Whether the value is zero."""
        return not self.value

    def sign(self) -> int:
        """-1, 0 or 1, as the value is negative, zero or positive."""
        return (self.value > 0) - (self.value < 0)

    def scaled_value(self, scale: int) -> int:
        """``ceil(value / 10**scale)`` (Kubernetes' ``ScaledValue``), saturated to int64.

        Kubernetes' result overflows silently beyond int64; orbit clamps it instead, so a
        quantity of absurd size can never cost unbounded time or memory.
        """
        scaled = self.value.scaleb(-scale, context=_EXACT)
        if scaled >= _INT64_MAX:
            return _INT64_MAX
        if scaled <= _INT64_MIN:
            return _INT64_MIN
        return int(scaled.to_integral_value(rounding=decimal.ROUND_CEILING, context=_EXACT))

    def int_value(self) -> int:
        """The value rounded up to a whole number (Kubernetes' ``Value``): bytes, counts."""
        return self.scaled_value(0)

    def milli_value(self) -> int:
        """The value in thousandths, rounded up (Kubernetes' ``MilliValue``): millicores."""
        return self.scaled_value(-3)


def _restore(value: str, fmt: str) -> Quantity:
    return Quantity._make(Decimal(value), Format(fmt))


ResourceList: TypeAlias = Mapping[str, Quantity]
"""A resource name (``cpu``, ``memory``, ``nvidia.com/gpu``...) to its quantity."""


def parse_quantity(text: str | int | float) -> Decimal:
    """The value of a quantity string such as ``"500m"``, ``"1.5Gi"`` or ``"1e3"``.

    Raises:
        ValidationError: ``text`` is not a quantity; the message quotes it.
    """
    return Quantity.parse(text).value


# --- resource lists --------------------------------------------------------------------


def is_extended_resource_name(name: str) -> bool:
    """Whether ``name`` is an extended resource (``nvidia.com/gpu``): qualified, with a
    domain outside ``kubernetes.io/``, and not a quota ``requests.`` name."""
    if "/" not in name or "kubernetes.io/" in name or name.startswith("requests."):
        return False
    return not is_qualified_name(f"requests.{name}")


def _resource_name_errors(name: str, standard_names: frozenset[str]) -> list[str]:
    errors = is_qualified_name(name)
    if errors or "/" in name:
        return errors
    if name in standard_names or (name.startswith(HUGEPAGES_PREFIX) and name != HUGEPAGES_PREFIX):
        return []
    return ["must be a standard resource type or fully qualified"]


def _value_errors(name: str, quantity: Quantity) -> list[str]:
    """Kubernetes' ``ValidateResourceQuantityValue``: non-negative; whole if countable."""
    errors = []
    if quantity.value < 0:
        errors.append("must be greater than or equal to 0")
    if (name in INTEGER_RESOURCE_NAMES or is_extended_resource_name(name)) and (
        quantity.milli_value() % 1000
    ):
        errors.append("must be an integer")
    return errors


def _describe(value: object) -> object:
    """How a manifest value reads in a message: YAML's spelling of null and booleans."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return value


def parse_resource_list(
    mapping: object, path: str, *, standard_names: frozenset[str] = STANDARD_RESOURCE_NAMES
) -> tuple[dict[str, Quantity], list[Issue]]:
    """Parse a manifest's resource map (``requests``, ``limits``, ``capacity``...).

    Returns every quantity that parsed, and every issue found, each at the entry's
    field path: ``<path>.memory``, or ``<path>[nvidia.com/gpu]`` for a name holding a
    "/". Names must be standard (``standard_names`` or ``hugepages-<size>``) or qualified
    (``domain/name``); values must be quantities, not negative, and whole numbers for
    extended resources and counts such as ``pods``.
    """
    if mapping is None:
        return {}, []
    if not isinstance(mapping, Mapping):
        return {}, [Issue(path, "must be a map of resource names to quantities")]
    parsed: dict[str, Quantity] = {}
    issues: list[Issue] = []
    for raw_name, raw_value in mapping.items():
        name = str(raw_name)
        key = f"[{name}]" if "/" in name else f".{name}" if path else name
        where = f"{path}{key}"
        for message in _resource_name_errors(name, standard_names):
            issues.append(Issue(where, f'invalid resource name "{name}": {message}'))
        try:
            if not isinstance(raw_value, str | int | float):
                raise _invalid(raw_value)
            quantity = Quantity.parse(raw_value)
        except ValidationError:
            issues.append(Issue(where, f'invalid quantity "{_describe(raw_value)}"'))
            continue
        issues.extend(Issue(where, message) for message in _value_errors(name, quantity))
        parsed[name] = quantity
    return parsed, issues
