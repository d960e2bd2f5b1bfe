"""``$(VAR)`` expansion follows Kubernetes' third_party/forked/golang/expansion tests."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orbit.node import expand

ENV = {"VAR_A": "A", "VAR_B": "B", "VAR_C": "C", "VAR_REF": "$(VAR_A)", "VAR_EMPTY": ""}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$(VAR_A)", "A"),
        ("___$(VAR_B)___", "___B___"),
        ("$(VAR_A)-$(VAR_B)", "A-B"),
        ("$(VAR_A)$(VAR_B)$(VAR_C)", "ABC"),
        ("$(VAR_DNE)", "$(VAR_DNE)"),
        ("$(VAR_EMPTY)", ""),
        ("$$(VAR_A)", "$(VAR_A)"),
        ("$$$(VAR_A)", "$A"),
        ("$$$$(VAR_A)", "$$(VAR_A)"),
        ("$(VAR_REF)", "$(VAR_A)"),  # no recursive expansion
        ("$(VAR_A", "$(VAR_A"),  # unclosed
        ("$VAR_A", "$VAR_A"),
        ("$", "$"),
        ("foo$", "foo$"),
        ("$)", "$)"),
        ("$()", "$()"),
        ("$(VAR_A)$", "A$"),
        ("f000-$$VAR_A", "f000-$VAR_A"),
        ("no vars here", "no vars here"),
    ],
)
def test_kubernetes_expansion_cases(text: str, expected: str) -> None:
    assert expand(text, ENV) == expected


@given(st.text(alphabet=st.characters(blacklist_characters="$")))
def test_text_without_a_dollar_is_unchanged(text: str) -> None:
    assert expand(text, ENV) == text


@given(st.text(alphabet="ab$)_"))
def test_expansion_with_no_variables_only_unescapes_dollars(text: str) -> None:
    """With nothing defined and no ``$(`` reference, only ``$$`` changes (to ``$``)."""
    assert expand(text, {}) == expand(text.replace("$$", "\0"), {}).replace("\0", "$")


def test_an_undefined_reference_is_kept_as_written_even_with_dollars_inside() -> None:
    """Go reads ``$(`` up to ``)`` as the name, so ``$$`` inside is not unescaped
    (found by Hypothesis: ``$($$)`` stays ``$($$)``, as Kubernetes leaves it)."""
    assert expand("$($$)", {}) == "$($$)"
    assert expand("x$($$)y$$", {}) == "x$($$)y$"
