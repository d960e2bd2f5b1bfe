"""orbit's exceptions: one tree, so callers can catch as broadly or narrowly as they need.

```
OrbitError
├── ValidationError(ValueError)    a manifest or object is invalid; .issues lists every
│                                  (field path, message) at once
├── NotFound(LookupError)          no object of that kind, namespace and name
├── AlreadyExists                  create of an object whose name is taken
├── Conflict                       optimistic concurrency: stale resourceVersion
│                                  (.expected, .actual)
├── Forbidden                      admission refused a write: a ResourceQuota would be
│                                  exceeded, a LimitRange bound is broken (.resource,
│                                  .name, .reason)
├── ResourceExpired                a watch or list from a resourceVersion older than the
│                                  store keeps, or a watcher too slow to keep up: re-list
├── RolloutFailed                  a Deployment's rollout exceeded its progress deadline
│                                  or was rolled back automatically (.reason, .revision)
├── TooManyRequests                refused for now, retry later (HTTP 429): an eviction
│                                  that would violate a PodDisruptionBudget (.causes)
└── UnsupportedKind(ValueError)    an apiVersion/kind orbit does not run
```

This module is a leaf: every layer may import it, and it imports nothing of orbit.
The builtin mix-ins (``ValueError``, ``LookupError``) let code that knows nothing of
orbit still catch what it expects.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

__all__ = [
    "AlreadyExists",
    "Conflict",
    "Forbidden",
    "Issue",
    "NotFound",
    "OrbitError",
    "ResourceExpired",
    "RolloutFailed",
    "TooManyRequests",
    "UnsupportedKind",
    "ValidationError",
]


class OrbitError(Exception):
    """The base of every error orbit raises on purpose."""


class Issue(NamedTuple):
    """One problem found in a manifest: where (a field path such as
    ``spec.template.spec.containers[0].image``) and what is wrong."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ValidationError(OrbitError, ValueError):
    """An object (or a set of manifests) is invalid.

    ``issues`` holds every problem found, not just the first, each as an
    :class:`Issue` ``(path, message)``. When a source held several documents the path
    starts with the document's index in it, e.g. ``[2].spec.replicas``.
    """

    def __init__(self, issues: Iterable[Issue | tuple[str, str]], *, subject: str = "") -> None:
        self.issues: list[Issue] = [Issue(*issue) for issue in issues]
        self.subject = subject
        lines = "\n".join(f"  {issue}" for issue in self.issues)
        head = f"{subject} is invalid" if subject else "invalid"
        count = len(self.issues)
        super().__init__(f"{head} ({count} issue{'s' if count != 1 else ''}):\n{lines}")


class NotFound(OrbitError, LookupError):
    """No object of that kind, namespace and name exists."""

    def __init__(self, kind: str, name: str, namespace: str | None = None) -> None:
        self.kind, self.name, self.namespace = kind, name, namespace
        where = f" in namespace {namespace!r}" if namespace else ""
        super().__init__(f'{kind} "{name}" not found{where}')


class AlreadyExists(OrbitError):
    """Create of an object whose name is already taken in its namespace."""

    def __init__(self, kind: str, name: str, namespace: str | None = None) -> None:
        self.kind, self.name, self.namespace = kind, name, namespace
        where = f" in namespace {namespace!r}" if namespace else ""
        super().__init__(f'{kind} "{name}" already exists{where}')


class Conflict(OrbitError):
    """An update carried a resourceVersion that is no longer current.

    Re-read the object, apply the change again and retry: the optimistic-concurrency
    loop every Kubernetes controller runs.
    """

    def __init__(self, kind: str, name: str, *, expected: str, actual: str) -> None:
        self.kind, self.name, self.expected, self.actual = kind, name, expected, actual
        super().__init__(
            f'Operation cannot be fulfilled on {kind} "{name}": the object has been '
            f"modified (resourceVersion {expected} is stale, current is {actual}); "
            "please apply your changes to the latest version and try again"
        )


class Forbidden(OrbitError):
    """Admission refused a create or update: the write would exceed a ResourceQuota or
    break a LimitRange bound (Kubernetes answers 403 Forbidden).

    The message is Kubernetes' own (``apierrors.NewForbidden``):
    ``pods "web-1" is forbidden: exceeded quota: team-a, requested: requests.cpu=2,
    used: requests.cpu=7, limited: requests.cpu=8``. ``resource`` is the plural,
    group-qualified resource (``pods``, ``deployments.apps``); ``reason`` what follows
    "is forbidden: ".
    """

    def __init__(self, resource: str, name: str, reason: str) -> None:
        self.resource, self.name, self.reason = resource, name, reason
        subject = f'{resource} "{name}"' if name else resource
        super().__init__(f"{subject} is forbidden: {reason}")


class ResourceExpired(OrbitError):
    """The requested resourceVersion is older than the store's history, or a watcher
    fell so far behind that its buffer overflowed. List again and watch from there
    (Kubernetes answers 410 Gone in both cases)."""


class RolloutFailed(OrbitError):
    """A Deployment's rollout failed: it exceeded its progress deadline
    (``reason`` ProgressDeadlineExceeded), or orbit rolled it back automatically
    (``reason`` says why; ``revision`` is the revision that failed)."""

    def __init__(self, message: str, *, reason: str, revision: int | None = None) -> None:
        self.reason, self.revision = reason, revision
        super().__init__(message)


class TooManyRequests(OrbitError):
    """The request is refused for now and may succeed later (Kubernetes answers 429).

    The Eviction API raises it when evicting a pod would take its PodDisruptionBudget
    below what it allows; ``kubectl drain`` (and :func:`orbit.controllers.drain`)
    retries such evictions. ``causes`` explains the refusal (Kubernetes'
    ``DisruptionBudget`` status causes), ``retry_after_s`` suggests when to try again
    (0: no suggestion).
    """

    def __init__(self, message: str, *, causes: Iterable[str] = (), retry_after_s: int = 0) -> None:
        self.causes: tuple[str, ...] = tuple(causes)
        self.retry_after_s = retry_after_s
        super().__init__(message)


class UnsupportedKind(OrbitError, ValueError):
    """A manifest names an apiVersion/kind orbit does not run."""
