"""The control API: a running cluster's verbs over HTTP on a Unix socket.

:class:`ControlServer` serves a cluster (``Cluster(control_socket=True)`` starts one);
:class:`ControlClient` is how the ``orbit`` CLI and other programs call it. The wire
protocol (``POST /v1/<verb>``, JSON in and out, chunked log streams) is described in
:mod:`orbit.control._server`. This package sits beside the Cluster: it imports
``orbit.api``, ``orbit.store``, ``orbit.clock`` and ``orbit.errors``, never the
Cluster itself, which it sees as a :class:`ControlTarget`.
"""

from ._client import ControlClient as ControlClient
from ._errors import ControlError as ControlError
from ._paths import default_socket_path as default_socket_path
from ._server import ControlServer as ControlServer
from ._target import ControlTarget as ControlTarget

__all__ = [
    "ControlClient",
    "ControlError",
    "ControlServer",
    "ControlTarget",
    "default_socket_path",
]
