"""Name and label syntax: Kubernetes' validation_test.go tables, its exact messages,
and Hypothesis checks against independent, character-by-character reference rules."""

from __future__ import annotations

import string
from collections.abc import Callable

import pytest
from _pytest.mark import ParameterSet
from hypothesis import given
from hypothesis import strategies as st

from orbit.api._names import (
    is_c_identifier,
    is_config_map_key,
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_env_var_name,
    is_qualified_name,
    is_valid_label_value,
    is_valid_port_name,
    is_valid_port_num,
    validate_annotations,
    validate_annotations_size,
    validate_labels,
)
from orbit.errors import Issue

# --- tables from k8s.io/apimachinery/pkg/util/validation/validation_test.go ----------

DNS1123_LABEL_GOOD = [
    "a", "ab", "abc", "a1", "a-1", "a--1--2--b",
    "0", "01", "012", "1a", "1-a", "1--a--b--2",
    "a" * 63,
]  # fmt: skip
DNS1123_LABEL_BAD = [
    "", "A", "ABC", "aBc", "A1", "A-1", "1-A",
    "-", "a-", "-a", "1-", "-1",
    "_", "a_", "_a", "a_b", "1_", "_1", "1_2",
    ".", "a.", ".a", "a.b", "1.", ".1", "1.2",
    " ", "a ", " a", "a b", "1 ", " 1", "1 2",
    "a" * 64,
    "a\n",  # Go's $ does not match before a trailing newline; neither may ours
]  # fmt: skip

DNS1123_SUBDOMAIN_GOOD = [
    "a", "ab", "abc", "a1", "a-1", "a--1--2--b",
    "0", "01", "012", "1a", "1-a", "1--a--b--2",
    "a.a", "ab.a", "abc.a", "a1.a", "a-1.a", "a--1--2--b.a",
    "a.1", "ab.1", "abc.1", "a1.1", "a-1.1", "a--1--2--b.1",
    "0.a", "01.a", "012.a", "1a.a", "1-a.a", "1--a--b--2",
    "0.1", "01.1", "012.1", "1a.1", "1-a.1", "1--a--b--2.1",
    "a.b.c.d.e", "aa.bb.cc.dd.ee", "1.2.3.4.5", "11.22.33.44.55",
    "a" * 253,
]  # fmt: skip
DNS1123_SUBDOMAIN_BAD = [
    "", "A", "ABC", "aBc", "A1", "A-1", "1-A",
    "-", "a-", "-a", "1-", "-1",
    "_", "a_", "_a", "a_b", "1_", "_1", "1_2",
    ".", "a.", ".a", "a..b", "1.", ".1", "1..2",
    " ", "a ", " a", "a b", "1 ", " 1", "1 2",
    "A.a", "aB.a", "ab.A", "A1.a", "a1.A",
    "A.1", "aB.1", "A1.1", "1A.1",
    "0.A", "01.A", "012.A", "1A.a", "1a.A",
    "A.B.C.D.E", "AA.BB.CC.DD.EE", "a.B.c.d.e", "aa.bB.cc.dd.ee",
    "a@b", "a,b", "a_b", "a;b",
    "a:b", "a%b", "a?b", "a$b",
    "a" * 254,
]  # fmt: skip

DNS1035_LABEL_GOOD = ["a", "ab", "abc", "a1", "a-1", "a--1--2--b", "a" * 63]
DNS1035_LABEL_BAD = [
    "0", "01", "012", "1a", "1-a", "1--a--b--2",
    "", "A", "ABC", "aBc", "A1", "A-1", "1-A",
    "-", "a-", "-a", "1-", "-1",
    "_", "a_", "_a", "a_b", "1_", "_1", "1_2",
    ".", "a.", ".a", "a.b", "1.", ".1", "1.2",
    " ", "a ", " a", "a b", "1 ", " 1", "1 2",
    "a" * 64,
]  # fmt: skip

C_IDENTIFIER_GOOD = [
    "a", "ab", "abc", "a1", "_a", "a_", "a_b", "a_1", "a__1__2__b", "__abc_123",
    "A", "AB", "AbC", "A1", "_A", "A_", "A_B", "A_1", "A__1__2__B", "__123_ABC",
]  # fmt: skip
C_IDENTIFIER_BAD = [
    "", "1", "123", "1a",
    "-", "a-", "-a", "1-", "-1", "1_", "1_2",
    ".", "a.", ".a", "a.b", "1.", ".1", "1.2",
    " ", "a ", " a", "a b", "1 ", " 1", "1 2",
    "#a#",
]  # fmt: skip

PORT_NAME_GOOD = ["telnet", "re-mail-ck", "pop3", "a", "a-1", "1-a", "a-1-b-2-c", "1-a-2-b-3"]
PORT_NAME_BAD = [
    "longerthan15characters", "", "a" * 16, "12345", "1-2-3-4",
    "-begin", "end-", "two--hyphens", "whois++",
]  # fmt: skip

QUALIFIED_NAME_GOOD = [
    "simple",
    "now-with-dashes",
    "1-starts-with-num",
    "1234",
    "simple/simple",
    "now-with-dashes/simple",
    "now-with-dashes/now-with-dashes",
    "now.with.dots/simple",
    "now-with.dashes-and.dots/simple",
    "1-num.2-num/3-num",
    "1234/5678",
    "1.2.3.4/5678",
    "Uppercase_Is_OK_123",
    "example.com/Uppercase_Is_OK_123",
    "requests.storage-foo",
    "a" * 63,
    "a" * 253 + "/" + "b" * 63,
]
QUALIFIED_NAME_BAD = [
    "nospecialchars%^=@",
    "cantendwithadash-",
    "-cantstartwithadash-",
    "only/one/slash",
    "Example.com/abc",
    "example_com/abc",
    "example.com/",
    "/simple",
    "a" * 64,
    "a" * 254 + "/abc",
]

LABEL_VALUE_GOOD = ["simple", "now-with-dashes", "1-starts-with-num", "end-with-num-1", "1234"]
LABEL_VALUE_GOOD += ["a" * 63, ""]
LABEL_VALUE_BAD = [
    "nospecialchars%^=@",
    "Tama-nui-te-rā.is.Māori.sun",
    "\\backslashes\\are\\bad",
    "-starts-with-dash",
    "ends-with-dash-",
    ".starts.with.dot",
    "ends.with.dot.",
    "a" * 64,
]

CONFIG_MAP_KEY_GOOD = [
    "a", "good", "good-good", "still.good", "this.is.also.good", ".so.is.this",
    "THIS_IS_GOOD", "so_is_this_17",
]  # fmt: skip
CONFIG_MAP_KEY_BAD = [".", "..", "..bad", "b*d", "bad!&bad", "", "a" * 254]

# The relaxed rule of current Kubernetes: any printable ASCII except '='.
ENV_VAR_NAME_GOOD = ["A", "my.env-name", "MY_ENV.NAME", "MyEnvName1", "1ABC", "a b", "~!@#$%", "."]
ENV_VAR_NAME_BAD = ["", "A=B", "=", "tab\there", "new\nline", "ünicode", "\x7f", "\x00"]


Check = Callable[[str], list[str]]


def _cases(check: Check, good: list[str], bad: list[str]) -> list[ParameterSet]:
    name = check.__name__
    return [
        pytest.param(check, value, valid, id=f"{name}-{'ok' if valid else 'bad'}-{value[:20]!r}")
        for values, valid in ((good, True), (bad, False))
        for value in values
    ]


@pytest.mark.parametrize(
    ("check", "value", "valid"),
    _cases(is_dns1123_label, DNS1123_LABEL_GOOD, DNS1123_LABEL_BAD)
    + _cases(is_dns1123_subdomain, DNS1123_SUBDOMAIN_GOOD, DNS1123_SUBDOMAIN_BAD)
    + _cases(is_dns1035_label, DNS1035_LABEL_GOOD, DNS1035_LABEL_BAD)
    + _cases(is_c_identifier, C_IDENTIFIER_GOOD, C_IDENTIFIER_BAD)
    + _cases(is_valid_port_name, PORT_NAME_GOOD, PORT_NAME_BAD)
    + _cases(is_qualified_name, QUALIFIED_NAME_GOOD, QUALIFIED_NAME_BAD)
    + _cases(is_valid_label_value, LABEL_VALUE_GOOD, LABEL_VALUE_BAD)
    + _cases(is_config_map_key, CONFIG_MAP_KEY_GOOD, CONFIG_MAP_KEY_BAD)
    + _cases(is_env_var_name, ENV_VAR_NAME_GOOD, ENV_VAR_NAME_BAD),
)
def test_kubernetes_tables(check: Check, value: str, valid: bool) -> None:
    errors = check(value)
    assert (errors == []) is valid, errors
    assert all(isinstance(error, str) and error for error in errors)


@pytest.mark.parametrize("port", [1, 2, 1000, 16384, 32768, 65535])
def test_good_port_numbers(port: int) -> None:
    assert is_valid_port_num(port) == []


@pytest.mark.parametrize("port", [0, -1, 65536, 100000])
def test_bad_port_numbers(port: int) -> None:
    assert is_valid_port_num(port) == ["must be between 1 and 65535, inclusive"]


# --- exact wording -------------------------------------------------------------------

NAME_PART_RULE = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
    "an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)


def test_qualified_name_messages_match_kubernetes() -> None:
    assert is_qualified_name("-bad") == [f"name part {NAME_PART_RULE}"]
    assert is_qualified_name("/simple") == ["prefix part must be non-empty"]
    assert is_qualified_name("example.com/") == [
        "name part must be non-empty",
        f"name part {NAME_PART_RULE}",
    ]
    assert is_qualified_name("a" * 64) == ["name part must be no more than 63 characters"]
    assert is_qualified_name("Example.com/abc") == [
        "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
        "characters, '-' or '.', and must start and end with an alphanumeric character (e.g. "
        "'example.com', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    ]
    assert is_qualified_name("only/one/slash") == [
        f"a qualified name {NAME_PART_RULE} with an optional DNS subdomain prefix and '/' "
        "(e.g. 'example.com/MyName')"
    ]


def test_dns_messages_match_kubernetes() -> None:
    assert is_dns1123_label("a.b") == ["must not contain dots"]
    assert is_dns1123_label("A") == [
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
        "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
        "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
    ]
    assert is_dns1123_label("a" * 64) == ["must be no more than 63 characters"]
    assert is_dns1035_label("1a") == [
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
        "an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
        "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
    ]
    too_long = "a" * 254
    assert is_dns1123_subdomain(too_long) == ["must be no more than 253 characters"]


def test_label_value_message_matches_kubernetes() -> None:
    assert is_valid_label_value("-x") == [
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
        "or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
        "'my_value',  or '12345', regex used for validation is "
        "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
    ]


def test_port_name_reports_every_problem() -> None:
    assert is_valid_port_name("-1--") == [
        "must contain at least one letter (a-z)",
        "must not contain consecutive hyphens",
        "must not begin or end with a hyphen",
    ]
    assert is_valid_port_name("a" * 16) == ["must be no more than 15 characters"]
    assert is_valid_port_name("HTTP") == [
        "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
        "must contain at least one letter (a-z)",
    ]


def test_config_map_key_and_env_messages() -> None:
    assert is_config_map_key("..") == ["must not be '..'"]
    assert is_config_map_key("..bad") == ["must not start with '..'"]
    assert is_config_map_key(".") == ["must not be '.'"]
    assert is_env_var_name("") == ["environment variable name must be non-empty"]
    assert is_env_var_name("A=B") == [
        "a valid environment variable name must consist only of printable ASCII characters "
        "other than '='"
    ]


def test_lengths_count_utf8_bytes_like_go() -> None:
    # 32 two-byte characters: 32 characters, 64 bytes, so Go reports the length too.
    errors = is_valid_label_value("é" * 32)
    assert errors[0] == "must be no more than 63 characters"
    assert len(errors) == 2


# --- label and annotation maps -------------------------------------------------------


def test_validate_labels_reports_keys_at_map_and_values_at_entry() -> None:
    issues = validate_labels(
        {"app": "web", "bad key": "ok", "tier": "-x", "app.kubernetes.io/name": "-y"},
        "metadata.labels",
    )
    assert [issue.path for issue in issues] == [
        "metadata.labels",
        "metadata.labels.tier",
        "metadata.labels[app.kubernetes.io/name]",
    ]
    assert issues[0].message.startswith('Invalid value: "bad key": name part must consist')
    assert issues[1].message.startswith('Invalid value: "-x": a valid label must be')
    assert validate_labels({}, "metadata.labels") == []


def test_annotations_keys_are_case_insensitive_and_size_is_limited() -> None:
    assert validate_annotations({"Example.COM/Key": "x" * 1000}, "metadata.annotations") == []
    limit = 256 * 1024
    assert validate_annotations_size({"k": "v" * (limit - 1)}) == []
    assert validate_annotations_size({"k": "v" * limit}) == [
        f"annotations size {limit + 1} is larger than limit {limit}"
    ]
    issues = validate_annotations({"k": "v" * limit, "-bad": ""}, "metadata.annotations")
    assert issues == [
        Issue("metadata.annotations", f'Invalid value: "-bad": name part {NAME_PART_RULE}'),
        Issue(
            "metadata.annotations",
            f"Too long: annotations size {limit + 5} is larger than limit {limit}",
        ),
    ]


# --- properties against independent reference rules ---------------------------------

_ALNUM_LOWER = set(string.ascii_lowercase + string.digits)
_ALNUM = set(string.ascii_letters + string.digits)


def _reference_dns_label(value: str) -> bool:
    return (
        1 <= len(value) <= 63
        and all(char in _ALNUM_LOWER or char == "-" for char in value)
        and value[0] in _ALNUM_LOWER
        and value[-1] in _ALNUM_LOWER
    )


def _reference_subdomain(value: str) -> bool:
    return len(value) <= 253 and all(_reference_dns_label(part) for part in value.split("."))


def _reference_name_part(value: str) -> bool:
    return (
        1 <= len(value) <= 63
        and all(char in _ALNUM or char in "-_." for char in value)
        and value[0] in _ALNUM
        and value[-1] in _ALNUM
    )


def _reference_qualified_name(value: str) -> bool:
    parts = value.split("/")
    if len(parts) == 1:
        return _reference_name_part(value)
    if len(parts) == 2:
        return _reference_subdomain(parts[0]) and _reference_name_part(parts[1])
    return False


_SOUP = st.text(alphabet="aZ09-_./ \n", max_size=70) | st.text(max_size=8)


@given(_SOUP)
def test_dns_label_agrees_with_reference(value: str) -> None:
    assert (is_dns1123_label(value) == []) == _reference_dns_label(value)


@given(_SOUP)
def test_subdomain_agrees_with_reference(value: str) -> None:
    assert (is_dns1123_subdomain(value) == []) == _reference_subdomain(value)


@given(_SOUP)
def test_qualified_name_agrees_with_reference(value: str) -> None:
    assert (is_qualified_name(value) == []) == _reference_qualified_name(value)


@given(_SOUP)
def test_label_value_agrees_with_reference(value: str) -> None:
    assert (is_valid_label_value(value) == []) == (value == "" or _reference_name_part(value))


@given(st.text(alphabet="az09-", max_size=20))
def test_port_name_agrees_with_reference(value: str) -> None:
    reference = (
        1 <= len(value) <= 15
        and any(char.isalpha() for char in value)
        and "--" not in value
        and not value.startswith("-")
        and not value.endswith("-")
    )
    assert (is_valid_port_name(value) == []) == reference
