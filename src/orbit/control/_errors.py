"""Errors on the control API's wire: an orbit exception becomes
``{"error": {"reason", "message"[, "issues"]}}`` with an HTTP status, and the client
turns that back into a :class:`ControlError`.

``reason`` is the exception's class name (``NotFound``, ``ValidationError``...), as
Kubernetes' ``Status.reason`` names the kind of failure, so a client can branch on it
without parsing messages. A plain :class:`~orbit.OrbitError` or ``ValueError`` is the
caller's mistake (``BadRequest``), ``TimeoutError`` a ``Timeout`` (as Kubernetes'
504 StatusReasonTimeout); anything else is a bug: ``Internal``, 500.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from orbit.errors import Issue, OrbitError, ValidationError

__all__ = ["STATUS_BY_REASON", "ControlError", "error_body", "error_from_body"]

STATUS_BY_REASON: Final[Mapping[str, int]] = {
    "AlreadyExists": 409,
    "BadRequest": 400,
    "Conflict": 409,
    "Forbidden": 403,
    "Internal": 500,
    "NotFound": 404,
    "ResourceExpired": 410,
    "RolloutFailed": 409,
    "Timeout": 504,
    "TooManyRequests": 429,
    "Unauthorized": 401,
    "UnsupportedKind": 400,
    "ValidationError": 422,  # Kubernetes' 422 Invalid
}
"""The HTTP status answered for each reason (an OrbitError subclass not listed: 400)."""


class ControlError(OrbitError):
    """A control API call failed: ``reason`` says how (``NotFound``,
    ``ValidationError``, ``Unavailable`` when no orbit answers...), ``message`` is one
    line or, for a ValidationError, the issues listed below it; ``issues`` holds them
    as ``(path, message)`` pairs."""

    def __init__(
        self, reason: str, message: str, issues: Iterable[Issue | tuple[str, str]] = ()
    ) -> None:
        self.reason = reason
        self.message = message
        self.issues: list[Issue] = [Issue(*issue) for issue in issues]
        super().__init__(message)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ControlError):
        return exc.reason
    if isinstance(exc, OrbitError):
        return "BadRequest" if type(exc) is OrbitError else type(exc).__name__
    if isinstance(exc, TimeoutError):
        return "Timeout"
    if isinstance(exc, ValueError):
        return "BadRequest"
    return "Internal"


def error_body(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """The HTTP status and JSON body answering a request that raised ``exc``."""
    reason = _reason(exc)
    message = str(exc) or type(exc).__name__
    error: dict[str, Any] = {"reason": reason, "message": message}
    issues = exc.issues if isinstance(exc, ValidationError | ControlError) else []
    if isinstance(exc, ValidationError) or issues:
        error["issues"] = [{"path": i.path, "message": i.message} for i in issues]
    return STATUS_BY_REASON.get(reason, 400), {"error": error}


def error_from_body(status: int, body: Any) -> ControlError:
    """The :class:`ControlError` an error answer describes (one that is not shaped
    as the protocol says still yields an error naming the HTTP status)."""
    error = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping):
        return ControlError("Internal", f"unexpected answer from orbit (HTTP {status})")
    issues = [
        (str(i.get("path", "")), str(i.get("message", "")))
        for i in error.get("issues") or ()
        if isinstance(i, Mapping)
    ]
    reason = str(error.get("reason") or "Internal")
    return ControlError(reason, str(error.get("message") or reason), issues)
