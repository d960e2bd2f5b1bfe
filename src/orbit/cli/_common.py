"""What every verb of the ``orbit`` command shares: finding the cluster's socket,
naming kinds and objects as kubectl does, and turning failures into kubectl's one
line (``Error from server (NotFound): deployments.apps "web" not found``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from orbit.api import KindInfo, lookup_kind
from orbit.clock import RealClock
from orbit.control import ControlClient, ControlError, default_socket_path

from ._format import qualified_resource

__all__ = [
    "ALL_KINDS",
    "CLOCK",
    "CliError",
    "UsageError",
    "about",
    "client_for",
    "error_line",
    "namespace_of",
    "resolve",
    "say",
    "socket_path",
    "split_target",
    "warn",
]

CLOCK = RealClock()
"""The CLI's clock: ages are shown against it (the cluster runs on real time too)."""

ALL_KINDS = ("pods", "services", "deployments", "replicasets", "hpa", "jobs", "cronjobs")
"""What ``orbit get all`` lists: kubectl's ``all`` category, of the kinds orbit runs."""

SOCKET_ENV = "ORBIT_SOCKET"

# Reasons that are the server's answer about the request, printed as kubectl prints
# apiserver errors; the rest (Unavailable, Timeout...) are the client's own trouble.
_SERVER_REASONS = frozenset(
    {"NotFound", "AlreadyExists", "Conflict", "Forbidden", "TooManyRequests", "BadRequest"}
)


class CliError(Exception):
    """A failure to report as one line on stderr, exit status 1."""


class UsageError(Exception):
    """A command line that makes no sense (argparse's exit status 2)."""


def socket_path(args: argparse.Namespace) -> str:
    """``--socket``, else ``$ORBIT_SOCKET``, else the socket of ``--cluster``
    (``default``)."""
    given = getattr(args, "socket", None) or os.environ.get(SOCKET_ENV)
    if given:
        return str(given)
    return default_socket_path(getattr(args, "cluster", None) or "default")


def client_for(args: argparse.Namespace) -> ControlClient:
    """A client of the cluster the command line names."""
    return ControlClient(socket_path(args))


def namespace_of(args: argparse.Namespace) -> str:
    """The namespace a verb works in (``default`` unless ``-n`` says otherwise)."""
    return getattr(args, "namespace", None) or "default"


def resolve(name: str) -> KindInfo:
    """A kind as kubectl accepts it (``po``, ``deploy``, ``deployments.apps``);
    kubectl's error when orbit has none."""
    info = lookup_kind(name)
    if info is None and "." in name:
        info = lookup_kind(name.split(".", 1)[0])
    if info is None:
        raise CliError(f'error: the server doesn\'t have a resource type "{name}"')
    return info


def split_target(words: Sequence[str]) -> tuple[KindInfo, str]:
    """``deployment/web`` or ``deployment web`` as (kind, name)."""
    if len(words) == 1 and "/" in words[0]:
        kind, _, name = words[0].partition("/")
    elif len(words) == 2 and "/" not in words[0]:
        kind, name = words
    else:
        raise UsageError(f'expected KIND/NAME (such as deployment/web), got "{" ".join(words)}"')
    if not kind or not name:
        raise UsageError(f'expected KIND/NAME (such as deployment/web), got "{" ".join(words)}"')
    return resolve(kind), name


def error_line(exc: ControlError) -> str:
    """kubectl's one line for a failed call."""
    if exc.reason in _SERVER_REASONS:
        return f"Error from server ({exc.reason}): {exc.message}"
    if exc.reason == "ValidationError" and exc.issues:
        return f"error: {'; '.join(str(issue) for issue in exc.issues)}"
    if exc.reason == "Timeout":
        return f"error: timed out waiting for the condition ({exc.message})"
    first = exc.message.strip().splitlines()[0] if exc.message.strip() else exc.reason
    return f"error: {first}"


@contextmanager
def about(info: KindInfo, name: str) -> Iterator[None]:
    """Inside, a NotFound for this object reads as kubectl's
    ``Error from server (NotFound): deployments.apps "web" not found``."""
    try:
        yield
    except ControlError as exc:
        if exc.reason != "NotFound":
            raise
        raise CliError(
            f'Error from server (NotFound): {qualified_resource(info)} "{name}" not found'
        ) from exc


def warn(message: str) -> None:
    """A line on stderr."""
    sys.stderr.write(f"{message}\n")
    sys.stderr.flush()


def say(text: str = "") -> None:
    """A line on stdout, flushed (progress reads as it happens)."""
    sys.stdout.write(f"{text}\n")
    sys.stdout.flush()
