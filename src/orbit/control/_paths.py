"""Where a cluster's control socket lives, and making that place safe to listen in.

The socket is the control API's only lock: whoever can connect to it can drive the
cluster. So its directory is the owner's alone (0700, checked to be a real directory
owned by this user when orbit chose it), the socket file is 0600, and a second cluster
never takes over a path where a live one listens. A socket file left behind by a
process that died (nothing accepts on it any more) is stale and is removed.
The default path follows the XDG base directory spec's runtime directory:
``$XDG_RUNTIME_DIR/orbit/<name>.sock``, else ``/tmp/orbit-<uid>/<name>.sock``
(``/tmp`` rather than ``$TMPDIR``: macOS' long ``$TMPDIR`` would overflow the ~104
bytes a Unix socket path may hold).
"""

from __future__ import annotations

import errno
import os
import socket
import stat

from orbit.errors import OrbitError

__all__ = [
    "MAX_SOCKET_PATH_BYTES",
    "default_socket_path",
    "is_live",
    "prepare_socket_path",
]

MAX_SOCKET_PATH_BYTES = 103
"""The longest socket path every Unix accepts (``sun_path`` is 104 bytes on macOS and
the BSDs, 108 on Linux, both counting the terminating NUL)."""


def _default_directory() -> str:
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime and os.path.isabs(runtime):
        return os.path.join(runtime, "orbit")
    return f"/tmp/orbit-{os.getuid()}"


def default_socket_path(name: str = "default") -> str:
    """The control socket of the cluster called ``name``:
    ``$XDG_RUNTIME_DIR/orbit/<name>.sock``, else ``/tmp/orbit-<uid>/<name>.sock``."""
    if not name or "/" in name or name in (".", "..") or "\0" in name:
        raise ValueError(f"a cluster name must be a plain file name, got {name!r}")
    return os.path.join(_default_directory(), f"{name}.sock")


def _secure_default_directory(directory: str) -> None:
    """The default directory must be this user's own real directory, mode 0700
    (another user could have made ``/tmp/orbit-<uid>`` first to catch the socket)."""
    info = os.lstat(directory)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise OrbitError(
            f"{directory} is not a directory owned by this user; "
            "remove it or choose another control socket path"
        )
    if stat.S_IMODE(info.st_mode) != 0o700:
        os.chmod(directory, 0o700)


def prepare_socket_path(path: str) -> None:
    """Make ``path`` ready to bind: its directory exists (created 0700), a stale socket
    file is removed; raises :class:`~orbit.OrbitError` when a live server listens there,
    when something other than a socket is in the way, or when the path is too long."""
    if len(os.fsencode(path)) > MAX_SOCKET_PATH_BYTES:
        raise OrbitError(
            f"control socket path is too long for a Unix socket "
            f"({len(os.fsencode(path))} > {MAX_SOCKET_PATH_BYTES} bytes): {path}"
        )
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o700, exist_ok=True)
    if directory == os.path.abspath(_default_directory()):
        _secure_default_directory(directory)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(info.st_mode):
        raise OrbitError(f"{path} exists and is not a socket; refusing to replace it")
    if is_live(path):
        raise OrbitError(
            f"another orbit is already serving {path}; stop it first "
            "(or give this cluster another name or control socket path)"
        )
    os.unlink(path)


def is_live(path: str) -> bool:
    """Whether something accepts connections on the Unix socket ``path`` now
    (a refused connection means the socket file is stale)."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(1.0)
        probe.connect(path)
    except OSError as exc:
        if exc.errno in (errno.ECONNREFUSED, errno.ENOENT):
            return False
        if isinstance(exc, TimeoutError) or exc.errno == errno.EAGAIN:
            return True  # a full backlog: it is alive, just busy
        raise
    finally:
        probe.close()
    return True
