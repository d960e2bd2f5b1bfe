"""What ``Cluster.wait_for`` waits for: kubectl-wait conditions as predicates.

A condition is one of:

- ``"deleted"`` (or ``"delete"``): the object does not exist (or no longer does);
- a bare word such as ``"Ready"``, ``"Complete"``, ``"Available"``, ``"Running"``,
  ``"Succeeded"``, ``"Failed"``: ``status.phase`` equals it, or a status condition of
  that type (case-insensitive, as kubectl compares) is ``True``;
- ``"condition=Ready"`` or ``"condition=Ready=False"`` (kubectl's form);
- a field path and a value: ``"status.phase=Running"``, ``"{.status.readyReplicas}=3"``
  or ``"jsonpath={.status.phase}=Running"``; the path may use the manifest's camelCase
  names or the Python attribute names;
- a callable taking the object and returning whether it is what you wait for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

__all__ = ["Condition", "compile_condition", "describe"]

Condition = str | Callable[[Any], bool]


def compile_condition(condition: Condition) -> tuple[Callable[[Any], bool], str]:
    """(predicate over the object or ``None`` when absent, what it waits for in words)."""
    if callable(condition):
        name = getattr(condition, "__name__", "a predicate")
        return (lambda obj: obj is not None and bool(condition(obj))), f"match {name}"
    text = condition.strip()
    if text.lower() in ("delete", "deleted"):
        return (lambda obj: obj is None), "deleted"
    if text.lower().startswith("condition="):
        kind, _, wanted = text[len("condition=") :].partition("=")
        wanted = wanted or "True"
        return (lambda obj: _condition_status(obj, kind) == wanted.lower()), f"{kind}={wanted}"
    if text.lower().startswith("jsonpath="):
        text = text[len("jsonpath=") :]
    if "=" in text:
        path, _, wanted = text.partition("=")
        steps = _steps(path)
        return (lambda obj: obj is not None and _value(obj, steps) == wanted), text
    return (lambda obj: _phase_or_condition(obj, text)), text


def _steps(path: str) -> list[str]:
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    return [step for step in path.strip(".").split(".") if step]


def _value(obj: Any, steps: list[str]) -> str | None:
    """The value at ``steps`` as text (booleans as true/false), or None if absent."""
    current: Any = obj
    for step in steps:
        if isinstance(current, Mapping):
            if step not in current:
                return None
            current = current[step]
        elif attrs.has(type(current)) and hasattr(current, _snake(step)):
            current = getattr(current, _snake(step))
        else:
            return None
    if isinstance(current, bool):
        return "true" if current else "false"
    return None if current is None else str(current)


def _snake(name: str) -> str:
    out = []
    for char in name:
        if char.isupper():
            out.append("_")
            out.append(char.lower())
        else:
            out.append(char)
    return "".join(out)


def _condition_status(obj: Any, kind: str) -> str | None:
    status = getattr(obj, "status", None)
    for condition in getattr(status, "conditions", ()) or ():
        if str(getattr(condition, "type", "")).lower() == kind.lower():
            return str(getattr(condition, "status", "")).lower()
    return None


def _phase_or_condition(obj: Any, word: str) -> bool:
    if obj is None:
        return False
    phase = getattr(getattr(obj, "status", None), "phase", None)
    if isinstance(phase, str) and phase.lower() == word.lower():
        return True
    return _condition_status(obj, word) == "true"


def describe(obj: Any) -> str:
    """The last state seen, for a timeout's message."""
    if obj is None:
        return "it does not exist"
    status = getattr(obj, "status", None)
    parts = []
    phase = getattr(status, "phase", None)
    if phase:
        parts.append(f"phase={phase}")
    for condition in getattr(status, "conditions", ()) or ():
        text = f"{condition.type}={condition.status}"
        reason = getattr(condition, "reason", "")
        if reason:
            message = getattr(condition, "message", "")
            text += f" ({reason}: {message})" if message else f" ({reason})"
        parts.append(text)
    for container in getattr(status, "container_statuses", ()) or ():
        waiting = container.state.waiting
        if waiting is not None and waiting.reason:
            parts.append(f"container {container.name} waiting: {waiting.reason}")
    return "last state: " + (", ".join(parts) if parts else "no status")
