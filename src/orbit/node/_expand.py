"""``$(VAR)`` expansion, exactly as Kubernetes expands env values, command and args.

A port of ``third_party/forked/golang/expansion``: ``$(NAME)`` becomes NAME's value when
NAME is defined and stays ``$(NAME)`` as written when it is not; ``$$`` is an escaped
``$``; a ``$`` followed by anything else, or an unclosed ``$(``, is kept as it is.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["expand"]


def expand(text: str, env: Mapping[str, str]) -> str:
    """``text`` with every ``$(VAR)`` of ``env`` replaced (Kubernetes' rules)."""
    if "$" not in text:
        return text
    out: list[str] = []
    checkpoint = 0
    cursor = 0
    length = len(text)
    while cursor < length:
        if text[cursor] == "$" and cursor + 1 < length:
            out.append(text[checkpoint:cursor])
            read, is_var, advance = _read_variable(text, cursor + 1)
            if is_var:
                out.append(env.get(read, f"$({read})"))
            else:
                out.append(read)
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    out.append(text[checkpoint:])
    return "".join(out)


def _read_variable(text: str, start: int) -> tuple[str, bool, int]:
    """What follows a ``$`` at ``start``: (text read, is a variable name, characters
    consumed), as Go's ``tryReadVariableName``."""
    first = text[start]
    if first == "$":
        return "$", False, 1
    if first == "(":
        close = text.find(")", start + 1)
        if close >= 0:
            return text[start + 1 : close], True, close - start + 1
        return "$(", False, 1
    return "$" + first, False, 1
