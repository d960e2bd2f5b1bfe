"""orbit's exceptions: one tree, so callers can catch as broadly or narrowly as they need.

```
OrbitError
├── ValidationError(ValueError)    a manifest or object is invalid; .issues lists every
│                                  (field path, message) at once
├── NotFound(LookupError)          no object of that kind, namespace and name
├── AlreadyExists                  create of an object whose name is taken
├── Conflict                       optimistic concurrency: stale resourceVersion
│                                  (.expected, .actual)
├── ResourceExpired                a watch or list from a resourceVersion older than the
│                                  store keeps, or a watcher too slow to keep up: re-list
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
    "Issue",
    "NotFound",
    "OrbitError",
    "ResourceExpired",
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


class ResourceExpired(OrbitError):
    """The requested resourceVersion is older than the store's history, or a watcher
    fell so far behind that its buffer overflowed. List again and watch from there
    (Kubernetes answers 410 Gone in both cases)."""


class UnsupportedKind(OrbitError, ValueError):
    """A manifest names an apiVersion/kind orbit does not run."""
