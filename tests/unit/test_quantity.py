"""Quantities: Kubernetes' parse, rounding and canonical-string rules, resource lists.

Most tables are transcribed from k8s.io/apimachinery/pkg/api/resource/quantity_test.go
(TestQuantityParse, TestQuantityString, TestQuantityParseEmit, TestNewSet, ...), so a
case that passes here behaves as it does on a Kubernetes API server.
"""

from __future__ import annotations

import copy
import math
import pickle
from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orbit.api._quantity import (
    CPU,
    GPU,
    MEMORY,
    Format,
    Quantity,
    is_extended_resource_name,
    parse_quantity,
    parse_resource_list,
)
from orbit.errors import Issue, ValidationError

DSI, BSI, DEX = Format.DECIMAL_SI, Format.BINARY_SI, Format.DECIMAL_EXPONENT
MAX_INT64 = 2**63 - 1


def dec(mantissa: int, exponent: int) -> Decimal:
    """``mantissa * 10**exponent``, exactly (quantity_test.go's ``dec``)."""
    return Decimal(f"{mantissa}E{exponent}")  # from a string: never context-rounded


# --- parsing: quantity_test.go TestQuantityParse -----------------------------------------

PARSE_TABLE: list[tuple[str, Decimal, Format]] = [
    ("0", dec(0, 0), DSI),
    ("0n", dec(0, 0), DSI),
    ("0u", dec(0, 0), DSI),
    ("0m", dec(0, 0), DSI),
    ("0Ki", dec(0, 0), BSI),
    ("0k", dec(0, 0), DSI),
    ("0Mi", dec(0, 0), BSI),
    ("0M", dec(0, 0), DSI),
    ("0Gi", dec(0, 0), BSI),
    ("0G", dec(0, 0), DSI),
    ("0Ti", dec(0, 0), BSI),
    ("0T", dec(0, 0), DSI),
    # Quantity-less numbers are allowed
    ("1", dec(1, 0), DSI),
    # Binary suffixes
    ("1Ki", dec(1024, 0), BSI),
    ("8Ki", dec(8 * 1024, 0), BSI),
    ("7Mi", dec(7 * 1024**2, 0), BSI),
    ("6Gi", dec(6 * 1024**3, 0), BSI),
    ("5Ti", dec(5 * 1024**4, 0), BSI),
    ("4Pi", dec(4 * 1024**5, 0), BSI),
    ("3Ei", dec(3 * 1024**6, 0), BSI),
    ("10Ti", dec(10 * 1024**4, 0), BSI),
    ("100Ti", dec(100 * 1024**4, 0), BSI),
    # Decimal suffixes
    ("5n", dec(5, -9), DSI),
    ("4u", dec(4, -6), DSI),
    ("3m", dec(3, -3), DSI),
    ("9", dec(9, 0), DSI),
    ("8k", dec(8, 3), DSI),
    ("50k", dec(5, 4), DSI),
    ("7M", dec(7, 6), DSI),
    ("6G", dec(6, 9), DSI),
    ("5T", dec(5, 12), DSI),
    ("40T", dec(4, 13), DSI),
    ("300T", dec(3, 14), DSI),
    ("2P", dec(2, 15), DSI),
    ("1E", dec(1, 18), DSI),
    # Decimal exponents
    ("1E-3", dec(1, -3), DEX),
    ("1e3", dec(1, 3), DEX),
    ("1E6", dec(1, 6), DEX),
    ("1e9", dec(1, 9), DEX),
    ("1E12", dec(1, 12), DEX),
    ("1e15", dec(1, 15), DEX),
    ("1E18", dec(1, 18), DEX),
    # Nonstandard but still parsable
    ("1e14", dec(1, 14), DEX),
    ("1e13", dec(1, 13), DEX),
    ("100.035k", dec(100035, 0), DSI),
    # Things that look like floating point
    ("0.001", dec(1, -3), DSI),
    ("0.0005k", dec(5, -1), DSI),
    ("0.005", dec(5, -3), DSI),
    ("0.05", dec(5, -2), DSI),
    ("0.5", dec(5, -1), DSI),
    ("0.00050k", dec(5, -1), DSI),
    ("0.00500", dec(5, -3), DSI),
    ("0.05000", dec(5, -2), DSI),
    ("0.50000", dec(5, -1), DSI),
    ("0.5e0", dec(5, -1), DEX),
    ("0.5e-1", dec(5, -2), DEX),
    ("0.5e-2", dec(5, -3), DEX),
    ("10.035M", dec(10035, 3), DSI),
    ("1.2e3", dec(12, 2), DEX),
    ("1.3E+6", dec(13, 5), DEX),
    ("1.40e9", dec(14, 8), DEX),
    ("1.53E12", dec(153, 10), DEX),
    ("1.6e15", dec(16, 14), DEX),
    ("1.7E18", dec(17, 17), DEX),
    ("9.01", dec(901, -2), DSI),
    ("8.1k", dec(81, 2), DSI),
    ("7.123456M", dec(7123456, 0), DSI),
    ("6.987654321G", dec(6987654321, 0), DSI),
    ("5.444T", dec(5444, 9), DSI),
    ("40.1T", dec(401, 11), DSI),
    ("300.2T", dec(3002, 11), DSI),
    ("2.5P", dec(25, 14), DSI),
    ("1.01E", dec(101, 16), DSI),
    # Things that saturate/round
    ("3.001n", dec(4, -9), DSI),
    ("1.1E-9", dec(2, -9), DEX),
    ("0.0000000001", dec(1, -9), DSI),
    ("0.0000000005", dec(1, -9), DSI),
    ("0.00000000050", dec(1, -9), DSI),
    ("0.5e-9", dec(1, -9), DEX),
    ("0.9n", dec(1, -9), DSI),
    ("0.00000012345", dec(124, -9), DSI),
    ("0.00000012354", dec(124, -9), DSI),
    ("9Ei", dec(MAX_INT64, 0), BSI),
    ("9223372036854775807Ki", dec(MAX_INT64, 0), BSI),
    ("12E", dec(12, 18), DSI),
    # We'll accept fractional binary stuff, too.
    ("100.035Ki", dec(10243584, -2), BSI),
    ("0.5Mi", dec(512 * 1024, 0), BSI),
    ("0.05Gi", dec(536870912, -1), BSI),
    ("0.025Ti", dec(274877906944, -1), BSI),
    # Things written by trolls
    ("0.000000000001Ki", dec(2, -9), DSI),  # rounds up, changes format
    (".001", dec(1, -3), DSI),
    (".0001k", dec(100, -3), DSI),
    ("1.", dec(1, 0), DSI),
    ("1.G", dec(1, 9), DSI),
]


@pytest.mark.parametrize(("text", "value", "fmt"), PARSE_TABLE)
def test_parse_table(text: str, value: Decimal, fmt: Format) -> None:
    q = Quantity.parse(text)
    assert q.value == value
    assert q.format is fmt
    assert parse_quantity(text) == value


@pytest.mark.parametrize(("text", "value", "fmt"), PARSE_TABLE)
def test_parse_table_negated_and_explicit_plus(text: str, value: Decimal, fmt: Format) -> None:
    # Rounding and capping act on the magnitude: "-0.9n" is -1n, "-9Ei" is -(2**63 - 1).
    negative = Quantity.parse("-" + text)
    assert negative.value == -value
    assert negative.format is fmt
    plus = Quantity.parse("+" + text)
    assert (plus.value, plus.format) == (value, fmt)


INVALID = [
    # quantity_test.go
    "1.1.M",
    "1+1.0M",
    "0.1mi",
    "0.1am",
    "aoeu",
    ".5i",
    "1i",
    "-3.01i",
    "-3.01e-",
    " 1",
    "1 ",
    "",
    # and more
    "12XB",
    "1 Gi",
    "1\n",
    "1.5.",
    "1..5",
    "1K",
    "1ki",
    "1KI",
    "1mi",
    "1e",
    "1E+",
    "1e3Ki",
    "1Kie3",
    "1e3e",
    "1ee3",
    "1e1.5",
    "0x10",
    "1_000",
    "--1",
    "+-1",
    "½",
    "\u0661",  # ARABIC-INDIC DIGIT ONE: Kubernetes takes ASCII digits only
    "1e99999999999",  # exponent outside int32
    "1e2147483648",
    "1e-2147483649",
    "nan",
    "inf",
    "Infinity",
    ".",
    "-",
    "+",
    "-.",
    "Ki",
    ".Ki",
]


@pytest.mark.parametrize("text", INVALID)
def test_invalid_quantities_raise_validation_error_quoting_the_text(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        Quantity.parse(text)
    assert info.value.issues == [Issue("", f'invalid quantity "{text}"')]
    assert f'"{text}"' in str(info.value)
    with pytest.raises(ValueError, match="invalid quantity"):
        parse_quantity(text)


@pytest.mark.parametrize("bad", [None, True, [1], {"a": 1}, float("nan"), float("inf")])
def test_non_quantity_python_values_are_rejected(bad: object) -> None:
    with pytest.raises(ValidationError, match="invalid quantity"):
        Quantity.parse(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("number", "value", "fmt", "canonical"),
    [
        (2, Decimal(2), DSI, "2"),
        (0, Decimal(0), DSI, "0"),
        (-3, Decimal(-3), DSI, "-3"),
        (0.5, Decimal("0.5"), DSI, "500m"),
        (2.0, Decimal(2), DSI, "2"),
        (1.5, Decimal("1.5"), DSI, "1500m"),
        (0.1, Decimal("0.1"), DSI, "100m"),
        # YAML floats reach Kubernetes as Go's JSON spelling: positional in [1e-6, 1e21)
        (0.00001, Decimal("0.00001"), DSI, "10u"),
        (1e-7, Decimal("1e-7"), DEX, "100e-9"),
        (1e21, Decimal("1e21"), DEX, "1e21"),
        (1e20, Decimal("1e20"), DSI, "100E"),
    ],
)
def test_yaml_numbers_are_accepted(
    number: float, value: Decimal, fmt: Format, canonical: str
) -> None:
    q = Quantity.parse(number)
    assert (q.value, q.format, str(q)) == (value, fmt, canonical)
    assert parse_quantity(number) == value


def test_long_values_are_never_rounded_by_the_global_decimal_context() -> None:
    # 30+ significant digits: the default context (28 digits) must play no part.
    just_above = "9223372036854775807.000000001"  # 2**63 - 1 and a nano: 28+ digits
    assert Quantity.parse(just_above).value == Decimal(just_above)
    assert Quantity.parse("9007199254740991.9990234376Ki").value == MAX_INT64  # capped
    assert Quantity.parse("-9007199254740991.9990234376Ki").value == -MAX_INT64
    assert Quantity.parse("9007199254740991.9990234375Ki").value == MAX_INT64  # exact
    assert Quantity.parse("9007199254740991.9990234374Ki").value == Decimal(
        "9223372036854775806.999999898"  # 2**63 - 1 - 1.024e-7, rounded up to nano
    )
    long = "123456789012345678901234567890.123456789"
    assert str(-Quantity(long)) == "-123456789012345678901234567890123456789n"
    assert (Quantity(long) + Quantity("1n")).value == Decimal(
        "123456789012345678901234567890.12345679"
    )


def test_extreme_exponents_stay_cheap_and_exact() -> None:
    huge = Quantity.parse("1e2147483647")
    assert huge.value == Decimal("1e2147483647")
    assert str(huge) == "10e2147483646"
    assert huge.milli_value() == MAX_INT64  # saturated, not a 2-billion-digit integer
    assert Quantity.parse("1e-2147483648").value == dec(1, -9)  # rounded up to 1n
    assert Quantity.parse("-1e-2147483648").value == dec(-1, -9)
    assert Quantity.parse("1e" + "0" * 5000 + "3") == Quantity("1k")  # ParseInt takes it
    with pytest.raises(ValidationError, match="invalid quantity"):
        Quantity.parse("1e" + "9" * 5000)
    assert Quantity.parse("1" * 5000 + "m").value == Decimal("1" * 5000 + "E-3")


# --- canonical strings: TestQuantityString, TestQuantityParseEmit, TestNewSet ------------

STRING_TABLE: list[tuple[Decimal, Format, str, str]] = [
    (dec(1024**3, 0), BSI, "1Gi", "1024Mi"),
    (dec(300 * 1024**2, 0), BSI, "300Mi", "307200Ki"),
    (dec(6 * 1024, 0), BSI, "6Ki", ""),
    (dec(1001 * 1024**3, 0), BSI, "1001Gi", "1025024Mi"),
    (dec(1024**4, 0), BSI, "1Ti", "1024Gi"),
    (dec(5, 0), BSI, "5", "5000m"),
    (dec(500, -3), BSI, "500m", "0.5"),
    (dec(1, 9), DSI, "1G", "1000M"),
    (dec(1000, 6), DSI, "1G", "0.001T"),
    (dec(1000000, 3), DSI, "1G", ""),
    (dec(1000000000, 0), DSI, "1G", ""),
    (dec(1, -3), DSI, "1m", "1000u"),
    (dec(80, -3), DSI, "80m", ""),
    (dec(1080, -3), DSI, "1080m", "1.08"),
    (dec(108, -2), DSI, "1080m", "1080000000n"),
    (dec(10800, -4), DSI, "1080m", ""),
    (dec(300, 6), DSI, "300M", ""),
    (dec(1, 12), DSI, "1T", ""),
    (dec(1, 18), DSI, "1E", ""),
    (dec(1, 21), DSI, "1e21", "1000E"),
    (dec(5, 21), DSI, "5e21", "5000E"),
    (dec(1, 24), DSI, "1e24", "1000000E"),
    (dec(1234567, 6), DSI, "1234567M", ""),
    (dec(1234567, -3), BSI, "1234567m", ""),
    (dec(3, 3), DSI, "3k", ""),
    (dec(1025, 0), BSI, "1025", ""),
    (dec(0, 0), DSI, "0", ""),
    (dec(0, 0), BSI, "0", ""),
    (dec(1, 9), DEX, "1e9", ".001e12"),
    (dec(1, -3), DEX, "1e-3", "0.001e0"),
    (dec(1, -9), DEX, "1e-9", "1000e-12"),
    (dec(80, -3), DEX, "80e-3", ""),
    (dec(300, 6), DEX, "300e6", ""),
    (dec(1, 12), DEX, "1e12", ""),
    (dec(1, 3), DEX, "1e3", ""),
    (dec(3, 3), DEX, "3e3", ""),
    (dec(0, 0), DEX, "0", "00"),
    (dec(1, -9), DSI, "1n", ""),
    (dec(80, -9), DSI, "80n", ""),
    (dec(1080, -9), DSI, "1080n", ""),
    (dec(108, -8), DSI, "1080n", ""),
    (dec(10800, -10), DSI, "1080n", ""),
    (dec(1, -6), DSI, "1u", ""),
    (dec(80, -6), DSI, "80u", ""),
    (dec(1080, -6), DSI, "1080u", ""),
]


@pytest.mark.parametrize(("value", "fmt", "expect", "alternate"), STRING_TABLE)
def test_canonical_string_table(value: Decimal, fmt: Format, expect: str, alternate: str) -> None:
    q = Quantity.from_value(value, fmt)
    assert str(q) == expect
    assert Quantity.parse(expect) == q
    assert str(Quantity.parse(expect)) == expect
    if alternate:
        assert str(Quantity.parse(alternate)) == expect
    if value:
        assert str(-q) == "-" + expect
        assert str(Quantity.from_value(-value, fmt)) == "-" + expect


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("1Ki", "1Ki"),
        ("1Mi", "1Mi"),
        ("1Gi", "1Gi"),
        ("1024Mi", "1Gi"),
        ("1000M", "1G"),
        (".001Ki", "1024m"),
        (".000001Ki", "1024u"),
        (".000000001Ki", "1024n"),
        (".000000000001Ki", "2n"),
        # the issue's examples
        ("1.5", "1500m"),
        ("1536Mi", "1536Mi"),
        ("1.5Gi", "1536Mi"),
        ("0.5Gi", "512Mi"),
        ("1e3", "1e3"),
        ("100m", "100m"),
        ("500m", "500m"),
        ("1", "1"),
        ("0.1", "100m"),
        ("1200", "1200"),
        ("1.7E18", "1700e15"),
        ("1.3E+6", "1300e3"),
        ("100.035Ki", "102435840m"),
        ("9Ei", "9223372036854775807"),
        ("-0", "0"),
        ("-0Ki", "0"),
    ],
)
def test_parse_emit(text: str, expect: str) -> None:
    assert str(Quantity.parse(text)) == expect
    if expect != "0":
        assert str(Quantity.parse("-" + text)) == "-" + expect


@pytest.mark.parametrize(
    ("value", "fmt", "expect"),
    [
        (1, DSI, "1"),
        (1000, DSI, "1k"),
        (1234000, DSI, "1234k"),
        (1024, BSI, "1Ki"),
        (1000000, DEX, "1e6"),
        (1024 * 1024, BSI, "1Mi"),
    ],
)
def test_from_value_ints(value: int, fmt: Format, expect: str) -> None:  # TestNewSet
    q = Quantity.from_value(value, fmt)
    assert str(q) == expect
    assert Quantity.parse(expect).int_value() == value


@pytest.mark.parametrize(
    ("milli", "fmt", "expect", "exact"),
    [
        (1, DSI, "1m", True),
        (1000, DSI, "1", True),
        (1234000, DSI, "1234", True),
        (1024, BSI, "1024m", False),  # format changes
        (1000000, DEX, "1e3", True),
        (1024 * 1024, BSI, "1048576m", False),  # format changes
    ],
)
def test_from_milli(milli: int, fmt: Format, expect: str, exact: bool) -> None:  # TestMilliNewSet
    q = Quantity.from_milli(milli, fmt)
    assert str(q) == expect
    assert q.milli_value() == milli
    if exact:
        assert Quantity.parse(str(q)).format is q.format


def test_binary_values_beyond_int64_print_as_decimal_so_they_round_trip() -> None:
    # Kubernetes prints 2**63 in BinarySI as "8Ei", which parses back capped at
    # 2**63 - 1 (kubernetes/kubernetes#140674); orbit prints the digits instead.
    q = Quantity.from_value(2**63, BSI)
    assert str(q) == "9223372036854775808"
    assert Quantity.parse(str(q)) == q
    assert str(Quantity.from_value(2**60 * 7, BSI)) == "7Ei"


def test_from_value_rounds_like_parse_and_rejects_non_finite() -> None:
    assert Quantity.from_value(Decimal("1e-12")).value == dec(1, -9)
    assert Quantity.from_value(Decimal("-1.0000000001")).value == Decimal("-1.000000001")
    with pytest.raises(ValueError, match="finite"):
        Quantity.from_value(Decimal("NaN"))
    with pytest.raises(ValueError, match="finite"):
        Quantity.from_value(Decimal("-Infinity"))


# --- comparison, arithmetic, integer views ------------------------------------------------


@pytest.mark.parametrize(
    ("x", "y", "expect"),
    [
        ("0", "0", 0),
        ("100m", "50m", 1),
        ("50m", "100m", -1),
        ("10000T", "100Gi", 1),
        ("1", "1000m", 0),
        ("1Ki", "1024", 0),
        ("1k", "1Ki", -1),
        ("1e3", "1k", 0),
        ("-1", "0", -1),
    ],
)
def test_comparison_is_by_value(x: str, y: str, expect: int) -> None:  # TestQuantityCmp
    a, b = Quantity(x), Quantity(y)
    assert (a > b) - (a < b) == expect
    assert (a == b) is (expect == 0)
    assert (a != b) is (expect != 0)
    assert (a <= b) is (expect <= 0)
    assert (a >= b) is (expect >= 0)
    if expect == 0:
        assert hash(a) == hash(b)


def test_equality_with_other_types_is_false_and_ordering_raises() -> None:
    assert Quantity("1") != 1
    assert Quantity("1") != "1"
    with pytest.raises(TypeError):
        _ = Quantity("1") < 2  # type: ignore[operator]


def test_quantities_are_usable_as_set_members_and_dict_keys() -> None:
    assert {Quantity("1"), Quantity("1000m"), Quantity("1e0"), Quantity("2")} == {
        Quantity("1"),
        Quantity("2"),
    }


@pytest.mark.parametrize(
    ("a", "b", "total", "fmt"),
    [  # TestAdd, TestQuantityAddZeroPreservesSuffix
        (Quantity.from_value(10, DSI), Quantity.from_value(10, DSI), "20", DSI),
        (Quantity.from_value(10, DSI), Quantity.from_value(1, BSI), "11", DSI),
        (Quantity.from_value(10, BSI), Quantity.from_value(1, DSI), "11", BSI),
        (Quantity.from_value(0, DSI), Quantity.from_value(50, DSI), "50", DSI),
        (Quantity("100m"), Quantity("0"), "100m", DSI),
        (Quantity("0"), Quantity("100m"), "100m", DSI),
        (Quantity("1Gi"), Quantity("0"), "1Gi", BSI),
        (Quantity("0"), Quantity("1Gi"), "1Gi", BSI),  # a zero adopts the other's format
        (Quantity("512Mi"), Quantity("0.5Gi"), "1Gi", BSI),
        (Quantity("250m"), Quantity("1.75"), "2", DSI),
    ],
)
def test_add(a: Quantity, b: Quantity, total: str, fmt: Format) -> None:
    result = a + b
    assert str(result) == total
    assert result.format is fmt


@pytest.mark.parametrize(
    ("a", "b", "difference", "fmt"),
    [  # TestSub, TestQuantitySubZeroPreservesSuffix
        (Quantity.from_value(10, DSI), Quantity.from_value(10, DSI), "0", DSI),
        (Quantity.from_value(10, DSI), Quantity.from_value(1, BSI), "9", DSI),
        (Quantity.from_value(10, BSI), Quantity.from_value(1, DSI), "9", BSI),
        (Quantity.from_value(0, DSI), Quantity.from_value(50, DSI), "-50", DSI),
        (Quantity("100m"), Quantity("0"), "100m", DSI),
        (Quantity("0"), Quantity("100m"), "-100m", DSI),
        (Quantity("0"), Quantity("1Gi"), "-1Gi", BSI),
        (Quantity("2Gi"), Quantity("512Mi"), "1536Mi", BSI),
    ],
)
def test_sub(a: Quantity, b: Quantity, difference: str, fmt: Format) -> None:
    result = a - b
    assert str(result) == difference
    assert result.format is fmt


def test_neg_mul_sign_and_is_zero() -> None:
    assert str(-Quantity("901e-2")) == "-9010e-3"
    assert str(-Quantity("9.01")) == "-9010m"
    negated = -Quantity("1.5Gi")
    assert str(negated) == "-1536Mi"
    assert -negated == Quantity("1.5Gi")
    assert str(Quantity("500m") * 3) == "1500m"
    assert str(3 * Quantity("1Gi")) == "3Gi"
    assert str(Quantity("1Gi") * 0) == "0"
    assert [Quantity(t).sign() for t in ("-1n", "0", "0Ki", "1n")] == [-1, 0, 0, 1]
    assert Quantity("0Mi").is_zero()
    assert not Quantity("1n").is_zero()
    assert (Quantity("1") - Quantity("1000m")).is_zero()


@pytest.mark.parametrize(
    ("text", "milli", "whole"),
    [
        ("0", 0, 0),
        ("1", 1000, 1),
        ("500m", 500, 1),
        ("1.5", 1500, 2),
        ("1n", 1, 1),  # rounded up: if you asked for some, you get some
        ("1001u", 2, 1),
        ("2Ki", 2048000, 2048),
        ("1.5Gi", 1610612736000, 1610612736),
        ("-1.5", -1500, -1),  # ceil, toward +infinity
        ("-1n", 0, 0),
        ("9Ei", MAX_INT64, MAX_INT64),  # milli saturates at int64
        ("100E", MAX_INT64, MAX_INT64),
        ("-100E", -(2**63), -(2**63)),
    ],
)
def test_milli_and_int_values(text: str, milli: int, whole: int) -> None:
    q = Quantity(text)
    assert q.milli_value() == milli
    assert q.int_value() == whole


@pytest.mark.parametrize(
    ("scale_from", "scale_to", "expect"),  # TestScaledValue
    [
        (-9, -9, 1),
        (-9, -6, 1),
        (-9, -3, 1),
        (-9, 0, 1),
        (-6, -9, 1000),
        (-6, -6, 1),
        (-6, -3, 1),
        (-6, 0, 1),
        (-3, -9, 1000 * 1000),
        (-3, -6, 1000),
        (-3, -3, 1),
        (-3, 0, 1),
        (0, -9, 1000 * 1000 * 1000),
        (0, -6, 1000 * 1000),
        (0, -3, 1000),
        (0, 0, 1),
        (2, -2, 100 * 100),
    ],
)
def test_scaled_value(scale_from: int, scale_to: int, expect: int) -> None:
    assert Quantity.from_value(dec(1, scale_from)).scaled_value(scale_to) == expect


# --- the object itself --------------------------------------------------------------------


def test_parse_is_cached_and_shared() -> None:
    assert Quantity.parse("500m") is Quantity.parse("500m")
    assert Quantity("500m") is Quantity.parse("500m")
    q = Quantity("1Gi")
    assert Quantity.parse(q) is q


def test_quantity_is_immutable_and_slotted() -> None:
    q = Quantity("1Gi")
    assert not hasattr(q, "__dict__")
    with pytest.raises(AttributeError):
        q.value = Decimal(1)  # type: ignore[misc]
    with pytest.raises(AttributeError):
        q.format = DSI  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del q.value  # type: ignore[misc]
    with pytest.raises(AttributeError):
        q.extra = 1  # type: ignore[attr-defined]
    assert str(q) == "1Gi"
    assert q.value == 1024**3


def test_copy_pickle_and_repr() -> None:
    q = Quantity("1536Mi")
    assert copy.copy(q) is q
    assert copy.deepcopy(q) is q
    restored = pickle.loads(pickle.dumps(q))
    assert (restored.value, restored.format, str(restored)) == (q.value, q.format, "1536Mi")
    assert repr(q) == "Quantity('1536Mi')"
    assert eval(repr(q)) == q  # repr is the constructor call


def test_format_is_a_string_enum_with_kubernetes_names() -> None:
    assert [f.value for f in Format] == ["DecimalSI", "BinarySI", "DecimalExponent"]
    assert Quantity("1Ki").format == "BinarySI"


# --- resource lists -----------------------------------------------------------------------

LIMITS = "spec.containers[0].resources.limits"


def test_resource_list_parses_standard_and_extended_resources() -> None:
    parsed, issues = parse_resource_list(
        {
            "cpu": "500m",
            "memory": "1Gi",
            "ephemeral-storage": "2G",
            "pods": 110,
            "storage": "10Gi",
            "hugepages-2Mi": "64Mi",
            "nvidia.com/gpu": 2,
            "example.com/foo": "3",
            "kubernetes.io/batch": "0.5",  # native, not extended: fractions allowed
        },
        LIMITS,
    )
    assert issues == []
    assert parsed[CPU] == Quantity("0.5")
    assert parsed[MEMORY].int_value() == 1024**3
    assert parsed[GPU].int_value() == 2
    assert str(parsed["kubernetes.io/batch"]) == "500m"


def test_resource_list_reports_every_issue_with_its_path() -> None:
    parsed, issues = parse_resource_list(
        {
            "cpu": "-1",
            "memory": "12XB",
            "nvidia.com/gpu": "500m",
            "example.com/bar": "-1.5",
            "pods": "1.5",
            "gpu": 1,
            "Example.com/x": 1,
            "a/b/c": 1,
            "ephemeral-storage": None,
        },
        LIMITS,
    )
    assert issues == [
        Issue(f"{LIMITS}.cpu", "must be greater than or equal to 0"),
        Issue(f"{LIMITS}.memory", 'invalid quantity "12XB"'),
        Issue(f"{LIMITS}[nvidia.com/gpu]", "must be an integer"),
        Issue(f"{LIMITS}[example.com/bar]", "must be greater than or equal to 0"),
        Issue(f"{LIMITS}[example.com/bar]", "must be an integer"),
        Issue(f"{LIMITS}.pods", "must be an integer"),
        Issue(
            f"{LIMITS}.gpu",
            'invalid resource name "gpu": must be a standard resource type or fully qualified',
        ),
        Issue(
            f"{LIMITS}[Example.com/x]",
            'invalid resource name "Example.com/x": prefix part a lowercase RFC 1123 subdomain'
            " must consist of lower case alphanumeric characters, '-' or '.', and must start"
            " and end with an alphanumeric character (e.g. 'example.com', regex used for"
            " validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        ),
        Issue(
            f"{LIMITS}[a/b/c]",
            'invalid resource name "a/b/c": a qualified name must consist of alphanumeric'
            " characters, '-', '_' or '.', and must start and end with an alphanumeric"
            " character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for"
            " validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS"
            " subdomain prefix and '/' (e.g. 'example.com/MyName')",
        ),
        Issue(f"{LIMITS}.ephemeral-storage", 'invalid quantity "null"'),
    ]
    assert set(parsed) == {"cpu", "nvidia.com/gpu", "example.com/bar", "pods", "gpu"} | {
        "Example.com/x",
        "a/b/c",
    }


def test_resource_list_integer_check_follows_milli_value_as_kubernetes_does() -> None:
    # Kubernetes checks MilliValue() % 1000, and MilliValue rounds up.
    _, issues = parse_resource_list({GPU: "0.9999"}, "r")
    assert issues == []
    _, issues = parse_resource_list({GPU: "1.0001"}, "r")
    assert issues == [Issue("r[nvidia.com/gpu]", "must be an integer")]


def test_resource_list_edge_shapes() -> None:
    assert parse_resource_list(None, "r") == ({}, [])
    assert parse_resource_list({}, "r") == ({}, [])
    assert parse_resource_list(["cpu"], "spec.hard") == (
        {},
        [Issue("spec.hard", "must be a map of resource names to quantities")],
    )
    parsed, issues = parse_resource_list({"cpu": True, "memory": [1]}, "")
    assert parsed == {}
    assert issues == [
        Issue("cpu", 'invalid quantity "true"'),
        Issue("memory", 'invalid quantity "[1]"'),
    ]


def test_resource_list_custom_standard_names_for_quota() -> None:
    names = frozenset({"requests.cpu", "limits.memory", "pods", "configmaps"})
    parsed, issues = parse_resource_list(
        {"requests.cpu": "4", "limits.memory": "8Gi", "configmaps": "2.5", "cpu": "1"},
        "spec.hard",
        standard_names=names,
    )
    assert issues == [
        Issue("spec.hard.configmaps", "must be an integer"),
        Issue(
            "spec.hard.cpu",
            'invalid resource name "cpu": must be a standard resource type or fully qualified',
        ),
    ]
    assert parsed["limits.memory"] == Quantity("8Gi")


@pytest.mark.parametrize(
    ("name", "extended"),
    [
        ("nvidia.com/gpu", True),
        ("example.com/foo", True),
        ("cpu", False),
        ("kubernetes.io/foo", False),
        ("node.kubernetes.io/foo", False),
        ("requests.example.com/foo", False),
        ("a/b/c", False),
        ("Example.com/foo", False),
    ],
)
def test_is_extended_resource_name(name: str, extended: bool) -> None:
    assert is_extended_resource_name(name) is extended


# --- properties ---------------------------------------------------------------------------

DECIMAL_SUFFIXES = {
    "n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18,
}  # fmt: skip
BINARY_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}

exponent_suffixes = st.builds(
    lambda e, sign, n: f"{e}{sign}{n}",
    st.sampled_from("eE"),
    st.sampled_from(["", "+", "-"]),
    st.integers(0, 40).map(str) | st.just("007"),
)
suffixes = st.sampled_from([*DECIMAL_SUFFIXES, *BINARY_SUFFIXES]) | exponent_suffixes
digit_runs = st.text("0123456789", max_size=14)


class Parts(NamedTuple):
    """A quantity string as the grammar builds it."""

    sign: str
    whole: str
    dot: bool
    fraction: str
    suffix: str

    def __str__(self) -> str:
        return f"{self.sign}{self.whole}{'.' if self.dot else ''}{self.fraction}{self.suffix}"


@st.composite
def quantity_parts(draw: st.DrawFn, *, signed: bool = True) -> Parts:
    """Any string the Kubernetes grammar accepts, in its parts."""
    whole = draw(digit_runs)
    dot = draw(st.booleans())
    fraction = draw(digit_runs) if dot else ""
    if not whole and not fraction:
        whole = draw(st.text("0123456789", min_size=1, max_size=3))
    sign = draw(st.sampled_from(["", "+", "-"])) if signed else ""
    return Parts(sign, whole, dot, fraction, draw(suffixes))


def quantity_texts(*, signed: bool = True) -> st.SearchStrategy[str]:
    return quantity_parts(signed=signed).map(str)


def oracle(parts: Parts) -> tuple[Fraction, Format]:
    """The value and format Kubernetes gives a quantity, from the spec, with Fractions."""
    value = Fraction(int((parts.whole or "0") + parts.fraction), 10 ** len(parts.fraction))
    fmt = DSI
    if parts.suffix in DECIMAL_SUFFIXES:
        value *= Fraction(10) ** DECIMAL_SUFFIXES[parts.suffix]
    elif parts.suffix in BINARY_SUFFIXES:
        fmt, value = BSI, value * 2 ** BINARY_SUFFIXES[parts.suffix]
    else:
        fmt, value = DEX, value * Fraction(10) ** int(parts.suffix[1:])
    value = Fraction(math.ceil(value * 10**9), 10**9)  # the magnitude, rounded up to nano
    if fmt is BSI:
        value = min(value, Fraction(MAX_INT64))
        if 0 < value < 1:
            fmt = DSI
    return (-value if parts.sign == "-" else value), fmt


@given(quantity_parts())
def test_parse_matches_the_specification(parts: Parts) -> None:
    value, fmt = oracle(parts)
    q = Quantity.parse(str(parts))
    assert Fraction(q.value) == value
    assert q.format is fmt


@given(quantity_texts())
def test_canonical_string_parses_back_to_the_same_value(text: str) -> None:
    q = Quantity.parse(text)
    canonical = str(q)
    again = Quantity.parse(canonical)
    assert again == q
    assert str(again) == canonical  # canonical form is a fixed point
    assert "." not in canonical  # no fractional digits are ever emitted


@given(quantity_texts(signed=False))
def test_negation_of_text_negates_the_value(text: str) -> None:
    assert Quantity.parse("-" + text) == -Quantity.parse(text)
    assert Quantity.parse("+" + text) == Quantity.parse(text)


nano_values = st.builds(
    dec,
    st.integers(-(10**30), 10**30),
    st.integers(-9, 30),
)
formats = st.sampled_from(list(Format))


@given(nano_values, formats)
def test_any_value_and_format_round_trips_through_its_string(value: Decimal, fmt: Format) -> None:
    q = Quantity.from_value(value, fmt)
    assert q.value == value
    assert Quantity.parse(str(q)).value == value


@given(quantity_texts(), quantity_texts())
def test_ordering_and_hash_agree_with_decimal(a_text: str, b_text: str) -> None:
    a, b = Quantity.parse(a_text), Quantity.parse(b_text)
    assert (a < b) == (a.value < b.value)
    assert (a <= b) == (a.value <= b.value)
    assert (a == b) == (a.value == b.value)
    assert (a > b) == (a.value > b.value)
    if a == b:
        assert hash(a) == hash(b)


@given(nano_values, nano_values)
def test_arithmetic_is_exact(x: Decimal, y: Decimal) -> None:
    a, b = Quantity.from_value(x), Quantity.from_value(y)
    assert Fraction((a + b).value) == Fraction(x) + Fraction(y)
    assert Fraction((a - b).value) == Fraction(x) - Fraction(y)
    assert (a + b) - b == a


@given(st.integers(-(10**15), 10**15), st.integers(-9, 6))
def test_milli_value_is_the_ceiling_of_thousandths(mantissa: int, exponent: int) -> None:
    value = dec(mantissa, exponent)
    q = Quantity.from_value(value)
    saturate = lambda n: min(max(n, -(2**63)), MAX_INT64)  # noqa: E731
    assert q.milli_value() == saturate(math.ceil(Fraction(value) * 1000))
    assert q.int_value() == saturate(math.ceil(Fraction(value)))


@given(quantity_texts(), st.sampled_from([" ", "\t", "\n", "x", "#", "."]), st.data())
def test_inserting_junk_makes_any_quantity_invalid(
    text: str, junk: str, data: st.DataObject
) -> None:
    # A blank or a foreign character anywhere never parses, nor does a second dot.
    if junk == "." and "." not in text:
        text += "."
    position = data.draw(st.integers(0, len(text)))
    broken = text[:position] + junk + text[position:]
    with pytest.raises(ValidationError):
        Quantity.parse(broken)
