"""Kubernetes' IntOrString arithmetic (``intstr.GetScaledValueFromIntOrPercent``):
``maxSurge``, ``maxUnavailable``, a PodDisruptionBudget's ``minAvailable``."""

from __future__ import annotations

__all__ = ["scaled_value"]


def scaled_value(value: int | str, total: int, *, round_up: bool) -> int:
    """``value`` as a count: an int as it is, ``"N%"`` as N percent of ``total``,
    rounded up or down (exact integer arithmetic, no float rounding surprises).

    >>> scaled_value("25%", 10, round_up=True), scaled_value("25%", 10, round_up=False)
    (3, 2)
    """
    if isinstance(value, int):
        return value
    text = value.strip()
    if not text.endswith("%"):
        return int(text)  # a numeric string: Kubernetes accepts it only as a percentage
    percent = int(text[:-1])
    if round_up:
        return -(-percent * total // 100)
    return percent * total // 100
