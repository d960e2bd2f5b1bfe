"""The ``orbit`` command: run a cluster in the foreground (``orbit up``) and look
inside a running one with kubectl's verbs (``orbit get pods``, ``describe``,
``logs``, ``rollout status``...), through the cluster's control socket.

``main`` is the console script (``orbit = "orbit.cli:main"``, and ``python -m
orbit``). A failure is one line on stderr (``error: ...`` or kubectl's ``Error from
server (NotFound): deployments.apps "web" not found``) and exit status 1; a command
line that makes no sense exits 2, as argparse does.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import anyio

from orbit.control import ControlError

from ._common import CliError, UsageError, error_line, warn
from ._parser import build_parser

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``orbit`` with ``argv`` (default: the process's arguments); the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error (status 2)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        status = anyio.run(args.func, args)
    except UsageError as exc:
        warn(f"{getattr(args, 'prog', parser.prog)}: error: {exc}")
        return 2
    except CliError as exc:
        warn(str(exc))
        return 1
    except ControlError as exc:
        warn(error_line(exc))
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (``orbit get pods | head``): stop quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    return int(status or 0)
