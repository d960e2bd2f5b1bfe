"""Label and field selectors: Kubernetes' selector_test.go tables, the LabelSelector
struct and its validation, and Hypothesis properties (string round trip, whitespace
tolerance, matching against naive reference implementations)."""

from __future__ import annotations

from collections.abc import Mapping
from random import Random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orbit.api._labels import _lex
from orbit.api._selector import (
    FieldRequirement,
    FieldSelector,
    LabelSelector,
    LabelSelectorRequirement,
    Requirement,
    Selector,
    as_field_selector,
    as_selector,
    parse_field_selector,
    parse_selector,
    selector_from_label_selector,
    validate_label_selector,
)
from orbit.errors import Issue, ValidationError


def req(key: str, operator: str, *values: str) -> Requirement:
    return Requirement(key, operator, frozenset(values))  # type: ignore[arg-type]


def sel(*requirements: Requirement) -> Selector:
    return Selector(requirements)


def parse_error(text: str) -> str:
    with pytest.raises(ValidationError) as caught:
        parse_selector(text)
    [issue] = caught.value.issues
    assert issue.path == ""
    return issue.message


# --- TestSelectorParse / TestDeterministicParse --------------------------------------


@pytest.mark.parametrize(
    "text", ["x=a,y=b,z=c", "", "x!=a,y=b", "x=", "x= ", "x=,z= ", "x= ,z= ", "!x"]
)
def test_good_strings_restring_without_blanks(text: str) -> None:
    assert str(parse_selector(text)) == text.replace(" ", "")


@pytest.mark.parametrize("text", ["x=a||y=b", "x==a==b", "!x=a", "x<a", "x>1", "x>1,z<5"])
def test_bad_strings(text: str) -> None:
    with pytest.raises(ValidationError):
        parse_selector(text)


def test_parse_is_deterministic() -> None:
    assert parse_selector("x=a,a=x") == parse_selector("a=x,x=a")
    assert str(parse_selector("x=a,a=x")) == str(parse_selector("a=x,x=a")) == "a=x,x=a"


def test_brief_examples() -> None:
    selector = parse_selector("app=web,tier in (a,b),!canary")
    assert selector.requirements == (
        req("app", "=", "web"),
        req("canary", "!"),
        req("tier", "in", "a", "b"),
    )
    assert str(selector) == "app=web,!canary,tier in (a,b)"
    assert parse_selector("env!=prod").requirements == (req("env", "!=", "prod"),)
    assert parse_selector("app==web") == parse_selector("app=web")
    assert parse_selector("tier notin (x)").requirements == (req("tier", "notin", "x"),)
    assert parse_selector("gpu").requirements == (req("gpu", "exists"),)


# --- TestSelectorMatches / TestRequirementSelectorMatching ---------------------------

MATCHES = [
    ("", {"x": "y"}),
    ("x=y", {"x": "y"}),
    ("x=y,z=w", {"x": "y", "z": "w"}),
    ("x!=y,z!=w", {"x": "z", "z": "a"}),
    ("notin=in", {"notin": "in"}),  # in and notin in exactMatch
    ("x", {"x": "z"}),
    ("!x", {"y": "z"}),
    ("foo=bar", {"foo": "bar", "baz": "blah"}),
    ("baz=blah", {"foo": "bar", "baz": "blah"}),
    ("foo=bar,baz=blah", {"foo": "bar", "baz": "blah"}),
    ("x in (foo),y notin (alpha)", {"x": "foo", "y": "baz"}),
    ("x notin (),y", {"y": ""}),
    ("!x,y", {"y": ""}),
    ("x in (,a)", {"x": ""}),
]
NO_MATCHES = [
    ("x=z", {}),
    ("x=y", {"x": "z"}),
    ("x=y,z=w", {"x": "w", "z": "w"}),
    ("x!=y,z!=w", {"x": "z", "z": "w"}),
    ("x", {"y": "z"}),
    ("!x", {"x": "z"}),
    ("foo=blah", {"foo": "bar", "baz": "blah"}),
    ("baz=bar", {"foo": "bar", "baz": "blah"}),
    ("foo=bar,foobar=bar,baz=blah", {"foo": "bar", "baz": "blah"}),
    ("x in (foo),y in (alpha)", {"x": "foo", "y": "baz"}),
    ("x notin (),!y", {"y": ""}),
    ("x in ()", {"y": "baz"}),
    ("x in ()", {"x": "a"}),
]


@pytest.mark.parametrize(("text", "labels"), MATCHES)
def test_matches(text: str, labels: dict[str, str]) -> None:
    assert parse_selector(text).matches(labels)


@pytest.mark.parametrize(("text", "labels"), NO_MATCHES)
def test_does_not_match(text: str, labels: dict[str, str]) -> None:
    assert not parse_selector(text).matches(labels)


def test_everything_and_nothing() -> None:
    everything, nothing = Selector.everything(), Selector.nothing()
    assert everything.empty
    assert everything.matches({"x": "y"})
    assert everything.matches({})
    assert not nothing.empty
    assert not nothing.matches({})
    assert not nothing.matches({"x": "y"})
    assert everything.requirements == nothing.requirements == ()
    assert nothing.matches_nothing
    assert not everything.matches_nothing
    assert str(everything) == str(nothing) == ""
    assert parse_selector("") == everything
    assert Selector() == everything
    assert not parse_selector("x").empty


# --- TestSetSelectorParser -----------------------------------------------------------

PARSED = [
    ("\rx", sel(req("x", "exists"))),
    (
        "this-is-a-dns.domain.com/key-with-dash",
        sel(req("this-is-a-dns.domain.com/key-with-dash", "exists")),
    ),
    (
        "this-is-another-dns.domain.com/key-with-dash in (so,what)",
        sel(req("this-is-another-dns.domain.com/key-with-dash", "in", "so", "what")),
    ),
    (
        "0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
        sel(req("0.1.2.domain/99", "notin", "10.10.100.1", "tick.tack.clock")),
    ),
    ("foo  in\t (abc)", sel(req("foo", "in", "abc"))),
    ("x notin\n (abc)", sel(req("x", "notin", "abc"))),
    ("x  notin\t\t\t(abc,def)", sel(req("x", "notin", "abc", "def"))),
    ("x in (abc,def)", sel(req("x", "in", "abc", "def"))),
    ("x in (abc,)", sel(req("x", "in", "abc", ""))),
    ("x in ()", sel(req("x", "in", ""))),
    (
        "x notin (abc,,def),bar,z in (),w",
        sel(
            req("bar", "exists"),
            req("w", "exists"),
            req("x", "notin", "abc", "", "def"),
            req("z", "in", ""),
        ),
    ),
    ("x,y in (a)", sel(req("y", "in", "a"), req("x", "exists"))),
    ("x=a", sel(req("x", "=", "a"))),
    ("x=a,y!=b", sel(req("x", "=", "a"), req("y", "!=", "b"))),
    (
        "x=a,y!=b,z in (h,i,j)",
        sel(req("x", "=", "a"), req("y", "!=", "b"), req("z", "in", "h", "i", "j")),
    ),
    ("x notin ( )", sel(req("x", "notin", ""))),
    ("x notin (, a)", sel(req("x", "notin", "", "a"))),
    ("a ", sel(req("a", "exists"))),
    ("a in (x,y,notin, z,in)", sel(req("a", "in", "in", "notin", "x", "y", "z"))),
    ("x in (a,,b)", sel(req("x", "in", "a", "", "b"))),
    ("x==", sel(req("x", "=", ""))),
    ("! x", sel(req("x", "!"))),
    ("in in (in), notin notin (notin)", sel(req("in", "in", "in"), req("notin", "notin", "notin"))),
]


@pytest.mark.parametrize(("text", "expected"), PARSED)
def test_set_selector_parser(text: str, expected: Selector) -> None:
    assert parse_selector(text) == expected


BAD = [
    ("x=a||y=b", 2, 'invalid label value "a||y" for key "x"'),
    ("x,,y", 2, "found ',', expected: identifier after ','"),
    (",x,y", 0, "found ',', expected: !, identifier, or 'end of string'"),
    ("x nott in (y)", 2, "found 'nott', expected: in, notin, =, ==, !="),
    ("a in (xyz),", 11, "found end of string, expected: identifier after ','"),
    ("a in (xyz)b notin ()", 10, "found 'b', expected: ',' or 'end of string'"),
    ("a in (xyz abc)", 10, "found 'abc', expected: ',' or ')'"),
    ("a notin(", 8, "found end of string, expected: ',', ')' or identifier"),
    ("a (", 2, "found '(', expected: in, notin, =, ==, !="),
    ("(", 0, "found '(', expected: !, identifier, or 'end of string'"),
    ("!x=a", 2, "found '=', expected: ',' or 'end of string'"),
    ("x==a==b", 4, "found '==', expected: ',' or 'end of string'"),
    ("x in a", 5, "found 'a', expected: '('"),
    ("x in (a", 7, "found end of string, expected: ',' or ')'"),
    ("x in (a=", 7, "found '=', expected: ',' or ')'"),
    ("x in (=", 6, "found '=', expected: ',', ')' or identifier"),
    ("x in (a,=", 8, "found '=', expected: ',', or identifier"),
    ("x=(", 2, "found '(', expected: identifier"),
    ("!", 1, "found end of string, expected: identifier"),
    ("x>1", 1, "operator '>' is not supported, expected: in, notin, =, ==, !="),
    ("x<1", 1, "operator '<' is not supported, expected: in, notin, =, ==, !="),
    ("a/b/c", 0, 'invalid label key "a/b/c": a qualified name must consist'),
    ("-x=1", 0, 'invalid label key "-x": name part must consist'),
    ("x in (ok,-bad)", 9, 'invalid label value "-bad" for key "x"'),
    ("x=" + "a" * 64, 2, "must be no more than 63 characters"),
    ("a" * 254 + "/x", 0, "prefix part must be no more than 253 characters"),
]


@pytest.mark.parametrize(("text", "position", "problem"), BAD)
def test_errors_name_the_problem_and_position(text: str, position: int, problem: str) -> None:
    message = parse_error(text)
    assert message.startswith(f'invalid label selector "{text}": ')
    assert problem in message
    assert message.endswith(f"(at position {position})")


# --- TestLexer / TestLexerSequence ---------------------------------------------------

LEXED = [
    ("", []),
    (",", [","]),
    ("notin", ["notin"]),
    ("in", ["in"]),
    ("=", ["="]),
    ("==", ["=="]),
    (">", [">"]),
    ("<", ["<"]),
    ("!", ["!"]),
    ("!=", ["!="]),
    ("(", ["("]),
    (")", [")"]),
    ("~", ["id"]),
    ("||", ["id"]),
    ("key in ( value )", ["id", "in", "(", "id", ")"]),
    ("key notin ( value )", ["id", "notin", "(", "id", ")"]),
    ("key in ( value1, value2 )", ["id", "in", "(", "id", ",", "id", ")"]),
    ("key", ["id"]),
    ("!key", ["!", "id"]),
    ("()", ["(", ")"]),
    ("x in (),y", ["id", "in", "(", ")", ",", "id"]),
    ("== != (), = notin", ["==", "!=", "(", ")", ",", "=", "notin"]),
    ("key>2", ["id", ">", "id"]),
    ("key<1", ["id", "<", "id"]),
    ("!==", ["!=", "="]),
    ("===", ["==", "="]),
]


@pytest.mark.parametrize(("text", "kinds"), LEXED)
def test_lexer(text: str, kinds: list[str]) -> None:
    tokens = _lex(text)
    assert [token.kind for token in tokens] == [*kinds, "end"]
    for token in tokens[:-1]:
        assert text[token.pos : token.pos + len(token.literal)] == token.literal


# --- TestToString / TestRequirementConstructor ---------------------------------------

TO_STRING = [
    (sel(req("x", "in", "abc", "def"), req("y", "notin", "jkl"), req("z", "exists")),
     "x in (abc,def),y notin (jkl),z"),
    (sel(req("x", "notin", "abc", "def"), req("y", "!=", "jkl"), req("z", "!")),
     "x notin (abc,def),y!=jkl,!z"),
    (sel(req("x", "notin", "abc"), req("y", "in", "jkl", "mno"), req("z", "notin", "")),
     "x notin (abc),y in (jkl,mno),z notin ()"),
    (sel(req("x", "=", "abc"), req("y", "=", "jkl"), req("z", "!=", "a"), req("z", "exists")),
     "x=abc,y=jkl,z!=a,z"),
]  # fmt: skip


@pytest.mark.parametrize(("selector", "text"), TO_STRING)
def test_to_string(selector: Selector, text: str) -> None:
    assert str(selector) == text
    assert parse_selector(text) == selector


@pytest.mark.parametrize(
    ("operator", "values", "valid"),
    [
        ("in", (), False),
        ("notin", (), False),
        ("in", ("foo",), True),
        ("notin", ("foo",), True),
        ("exists", (), True),
        ("!", (), True),
        ("exists", ("foo",), False),
        ("!", ("foo",), False),
        ("=", (), False),
        ("=", ("a", "b"), False),
        ("!=", ("a",), True),
        ("~", ("a",), False),
    ],
)
def test_requirement_constructor(operator: str, values: tuple[str, ...], valid: bool) -> None:
    if valid:
        assert req("x", operator, *values).values == frozenset(values)
    else:
        with pytest.raises(ValidationError):
            req("x", operator, *values)


def test_requirement_refuses_a_bare_string_as_values() -> None:
    with pytest.raises(TypeError):
        Requirement("app", "=", "web")  # type: ignore[arg-type]


def test_add_and_requires_exact_match() -> None:
    base = parse_selector("tier in (a,b),app!=db")
    grown = base.add(req("app", "=", "web"), req("zone", "in", "z1"))
    assert str(grown) == "app!=db,app=web,tier in (a,b),zone in (z1)"
    assert grown.requires_exact_match("app") == "web"
    assert grown.requires_exact_match("zone") == "z1"
    assert grown.requires_exact_match("tier") is None
    assert grown.requires_exact_match("missing") is None
    assert Selector.nothing().add(req("a", "exists")).matches({"a": "1"}) is False


def test_selectors_are_immutable_and_hashable() -> None:
    selector = parse_selector("a=b")
    assert hash(selector) == hash(parse_selector("a==b"))
    with pytest.raises(AttributeError):
        selector.requirements = ()  # type: ignore[misc]


# --- LabelSelector -------------------------------------------------------------------


def expr(key: str, operator: str, *values: str) -> LabelSelectorRequirement:
    return LabelSelectorRequirement(key=key, operator=operator, values=values)


def test_label_selector_to_selector() -> None:
    label_selector = LabelSelector(
        match_labels={"app": "web"},
        match_expressions=(
            expr("tier", "In", "a", "b"),
            expr("env", "NotIn", "prod"),
            expr("gpu", "Exists"),
            expr("canary", "DoesNotExist"),
        ),
    )
    selector = label_selector.to_selector()
    assert selector == parse_selector("app=web,tier in (b,a),env notin (prod),gpu,!canary")
    assert selector_from_label_selector(label_selector) == selector
    assert as_selector(label_selector) == selector


def test_nil_label_selector_matches_nothing_and_empty_matches_everything() -> None:
    assert selector_from_label_selector(None) == Selector.nothing()
    assert LabelSelector().to_selector() == Selector.everything()
    assert LabelSelector().to_selector().matches({"any": "thing"})


def test_invalid_label_selector_does_not_compile() -> None:
    with pytest.raises(ValidationError) as caught:
        LabelSelector(match_expressions=(expr("x", "In"),)).to_selector()
    assert [issue.path for issue in caught.value.issues] == ["matchExpressions[0].values"]


def test_validate_label_selector_paths() -> None:
    label_selector = LabelSelector(
        match_labels={"app": "-web", "bad key": "x"},
        match_expressions=(
            expr("tier", "In"),
            expr("gpu", "Exists", "yes"),
            expr("zone", "Equals", "a"),
            expr("-k", "NotIn", "ok", "not ok"),
            expr("fine", "DoesNotExist"),
        ),
    )
    issues = validate_label_selector(label_selector, "spec.selector")
    assert [issue.path for issue in issues] == [
        "spec.selector.matchLabels.app",
        "spec.selector.matchLabels",
        "spec.selector.matchExpressions[0].values",
        "spec.selector.matchExpressions[1].values",
        "spec.selector.matchExpressions[2].operator",
        "spec.selector.matchExpressions[3].key",
        "spec.selector.matchExpressions[3].values[1]",
    ]
    messages = [issue.message for issue in issues]
    assert messages[2] == "Required value: must be specified when `operator` is 'In' or 'NotIn'"
    assert messages[3] == (
        "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
    )
    assert messages[4] == (
        'Unsupported value: "Equals": supported values: "DoesNotExist", "Exists", "In", "NotIn"'
    )
    assert messages[5].startswith('Invalid value: "-k": name part must consist')
    assert messages[6].startswith('Invalid value: "not ok": a valid label must be')
    assert validate_label_selector(None, "spec.selector") == []
    assert validate_label_selector(LabelSelector(), "spec.selector") == []


def test_validate_label_selector_without_a_prefix() -> None:
    issues = validate_label_selector(LabelSelector(match_expressions=(expr("x", "In"),)), "")
    assert issues == [
        Issue(
            "matchExpressions[0].values",
            "Required value: must be specified when `operator` is 'In' or 'NotIn'",
        )
    ]


# --- as_selector ---------------------------------------------------------------------


def test_as_selector_forms() -> None:
    assert as_selector(None) == Selector.everything()
    selector = parse_selector("a=b")
    assert as_selector(selector) is selector
    assert as_selector("a=b") == selector
    assert as_selector({"a": "b", "c": "d"}) == parse_selector("c=d,a=b")
    assert as_selector({}) == Selector.everything()
    with pytest.raises(TypeError):
        as_selector(42)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        as_selector("a in (")


# --- field selectors -----------------------------------------------------------------


def test_parse_field_selector() -> None:
    selector = parse_field_selector("spec.nodeName=node-1,status.phase!=Failed")
    assert selector.requirements == (
        FieldRequirement("spec.nodeName", "=", "node-1"),
        FieldRequirement("status.phase", "!=", "Failed"),
    )
    assert parse_field_selector("metadata.name==web") == parse_field_selector("metadata.name=web")
    assert str(selector) == "spec.nodeName=node-1,status.phase!=Failed"
    assert parse_field_selector("") == FieldSelector.everything()
    assert parse_field_selector("a=b,,c=d") == parse_field_selector("c=d,a=b")
    assert parse_field_selector("spec.nodeName=") == FieldSelector(
        (FieldRequirement("spec.nodeName", "=", ""),)
    )
    assert selector.requires_exact_match("spec.nodeName") == "node-1"
    assert selector.requires_exact_match("status.phase") is None


def test_field_selector_escapes() -> None:
    selector = parse_field_selector(r"metadata.name=a\,b\=c\\d,x!=y")
    assert selector.requirements[0] == FieldRequirement("metadata.name", "=", "a,b=c\\d")
    assert str(selector) == r"metadata.name=a\,b\=c\\d,x!=y"
    assert parse_field_selector(str(selector)) == selector


EXPECTED_TERM = "(expected field=value or field!=value)"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("spec.nodeName", f"can't understand 'spec.nodeName' {EXPECTED_TERM}"),
        ("a=b,c", f"can't understand 'c' {EXPECTED_TERM}"),
        ("=x", "missing field name in '=x'"),
        ("a=b=c", "unescaped character in value: '=' in 'a=b=c'"),
        (r"a=b\x", r"invalid escape sequence: \x"),
        ("a=b\\", "invalid escape sequence: \\"),
    ],
)
def test_field_selector_errors(text: str, problem: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_field_selector(text)
    assert caught.value.issues == [Issue("", f'invalid field selector "{text}": {problem}')]


def test_field_selector_matches() -> None:
    pod = {"metadata.name": "web-1", "spec.nodeName": "node-1", "status.phase": "Running"}
    get = pod.get
    assert parse_field_selector("spec.nodeName=node-1").matches(lambda f: get(f, ""))
    assert parse_field_selector("status.phase!=Failed").matches(lambda f: get(f, ""))
    assert not parse_field_selector("spec.nodeName=node-2").matches(lambda f: get(f, ""))
    assert not parse_field_selector("status.phase!=Running").matches(lambda f: get(f, ""))
    assert parse_field_selector("spec.nodeName=").matches(lambda f: "")
    assert FieldSelector.everything().empty
    assert FieldSelector.everything().matches(lambda f: "")


def test_as_field_selector_forms() -> None:
    assert as_field_selector(None) == FieldSelector.everything()
    selector = parse_field_selector("a=b")
    assert as_field_selector(selector) is selector
    assert as_field_selector("a=b") == selector
    assert as_field_selector({"a": "b"}) == selector
    with pytest.raises(TypeError):
        as_field_selector(3)  # type: ignore[arg-type]


# --- properties ----------------------------------------------------------------------

_ALNUM = "abcxyzABZ019"
_NAME = st.sampled_from(_ALNUM) | st.builds(
    lambda first, middle, last: first + middle + last,
    st.sampled_from(_ALNUM),
    st.text(alphabet=_ALNUM + "-_.", max_size=8),
    st.sampled_from(_ALNUM),
)
_DNS_LABEL = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,6}[a-z0-9])?", fullmatch=True)
_PREFIX = st.lists(_DNS_LABEL, min_size=1, max_size=3).map(".".join)
_KEY = st.one_of(_NAME, st.builds(lambda p, n: f"{p}/{n}", _PREFIX, _NAME), st.just("in"))
_VALUE = st.one_of(st.just(""), _NAME, st.sampled_from(["in", "notin"]))


@st.composite
def requirements(draw: st.DrawFn, keys: st.SearchStrategy[str] = _KEY,
                 values: st.SearchStrategy[str] = _VALUE) -> Requirement:  # fmt: skip
    key = draw(keys)
    operator = draw(st.sampled_from(["=", "!=", "in", "notin", "exists", "!"]))
    if operator in ("exists", "!"):
        return req(key, operator)
    if operator in ("=", "!="):
        return req(key, operator, draw(values))
    return req(key, operator, *draw(st.lists(values, min_size=1, max_size=4)))


selectors = st.lists(requirements(), max_size=5).map(Selector)

# A small universe so that generated labels often hit the generated requirements.
_SMALL_KEYS = st.sampled_from(["a", "b", "app", "x.io/y"])
_SMALL_VALUES = st.sampled_from(["", "v", "w", "web"])
small_selectors = st.lists(requirements(_SMALL_KEYS, _SMALL_VALUES), max_size=4).map(Selector)
small_labels = st.dictionaries(_SMALL_KEYS, _SMALL_VALUES, max_size=4)


@given(selectors)
def test_parse_of_str_round_trips(selector: Selector) -> None:
    assert parse_selector(str(selector)) == selector


@given(st.lists(requirements(_SMALL_KEYS, _SMALL_VALUES), max_size=5), st.randoms())
def test_order_of_requirements_does_not_matter(
    given_requirements: list[Requirement], random: Random
) -> None:
    shuffled = list(given_requirements)
    random.shuffle(shuffled)
    assert Selector(shuffled) == Selector(given_requirements)
    assert str(Selector(shuffled)) == str(Selector(given_requirements))


_BLANK = st.sampled_from(["", " ", "\t", "  ", "\n", "\r "])
_SOME_BLANK = st.sampled_from([" ", "\t", " \n "])


@st.composite
def spaced(draw: st.DrawFn, selector: Selector) -> str:
    """Render ``selector`` with random whitespace wherever the lexer allows it."""
    parts = []
    for requirement in selector.requirements:
        gap = draw(_BLANK)
        values = sorted(requirement.values)
        if requirement.operator == "exists":
            text = requirement.key
        elif requirement.operator == "!":
            text = f"!{gap}{requirement.key}"
        elif requirement.operator in ("=", "!="):
            op = (
                "=="
                if requirement.operator == "=" and draw(st.booleans())
                else requirement.operator
            )
            text = f"{requirement.key}{gap}{op}{draw(_BLANK)}{values[0]}"
        else:
            inner = f"{draw(_BLANK)},{draw(_BLANK)}".join(values)
            text = f"{requirement.key}{draw(_SOME_BLANK)}{requirement.operator}{gap}({inner})"
        parts.append(f"{draw(_BLANK)}{text}{draw(_BLANK)}")
    return ",".join(parts)


@given(st.data())
def test_parse_tolerates_whitespace(data: st.DataObject) -> None:
    selector = data.draw(selectors)
    assert parse_selector(data.draw(spaced(selector))) == selector


def naive_requirement(requirement: Requirement, labels: Mapping[str, str]) -> bool:
    present = requirement.key in labels
    value = labels.get(requirement.key)
    return {
        "=": present and value in requirement.values,
        "in": present and value in requirement.values,
        "!=": not present or value not in requirement.values,
        "notin": not present or value not in requirement.values,
        "exists": present,
        "!": not present,
    }[requirement.operator]


@given(small_selectors, small_labels)
def test_matching_agrees_with_naive_reference(selector: Selector, labels: dict[str, str]) -> None:
    expected = all(naive_requirement(r, labels) for r in selector.requirements)
    assert selector.matches(labels) is expected
    assert parse_selector(str(selector)).matches(labels) is expected


label_selector_expressions = st.builds(
    lambda key, operator, values: expr(
        key, operator, *(values if operator in ("In", "NotIn") else ())
    ),
    _SMALL_KEYS,
    st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist"]),
    st.lists(_SMALL_VALUES, min_size=1, max_size=3),
)
label_selectors = st.builds(
    lambda labels, exprs: LabelSelector(match_labels=labels, match_expressions=tuple(exprs)),
    small_labels,
    st.lists(label_selector_expressions, max_size=4),
)


def direct_evaluation(label_selector: LabelSelector, labels: Mapping[str, str]) -> bool:
    for key, value in label_selector.match_labels.items():
        if labels.get(key) != value:
            return False
    for expression in label_selector.match_expressions:
        present = expression.key in labels
        if expression.operator == "In":
            ok = present and labels[expression.key] in expression.values
        elif expression.operator == "NotIn":
            ok = not present or labels[expression.key] not in expression.values
        elif expression.operator == "Exists":
            ok = present
        else:
            ok = not present
        if not ok:
            return False
    return True


@given(label_selectors, small_labels)
def test_label_selector_conversion_agrees_with_direct_evaluation(
    label_selector: LabelSelector, labels: dict[str, str]
) -> None:
    assert validate_label_selector(label_selector, "spec.selector") == []
    selector = label_selector.to_selector()
    assert selector.matches(labels) is direct_evaluation(label_selector, labels)
    assert parse_selector(str(selector)) == selector


_FIELD = st.from_regex(r"[a-z][a-zA-Z]{0,6}(\.[a-z][a-zA-Z]{0,6}){0,2}", fullmatch=True)
field_terms = st.builds(
    FieldRequirement, _FIELD, st.sampled_from(["=", "!="]), st.text(max_size=10)
)


@given(st.lists(field_terms, max_size=4))
def test_field_selector_round_trips(terms: list[FieldRequirement]) -> None:
    selector = FieldSelector(terms)
    assert parse_field_selector(str(selector)) == selector


@given(st.lists(field_terms, max_size=4), st.dictionaries(_FIELD, st.text(max_size=3)))
def test_field_matching_agrees_with_naive_reference(
    terms: list[FieldRequirement], values: dict[str, str]
) -> None:
    def get(field: str) -> str:
        return values.get(field, "")

    expected = all((get(f) == v) if op == "=" else (get(f) != v) for f, op, v in terms)
    assert FieldSelector(terms).matches(get) is expected
