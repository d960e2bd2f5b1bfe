"""Reading a ProcessRuntime container's log file: the last N lines, then what follows.

The process writes stdout and stderr, interleaved, straight into
``<state_dir>/<pod_uid>/<container>/<restart_count>.log`` (no timestamps, no framing:
the file is what the program printed). Readers here work on bytes and split on
newlines only, so a line cut by a read in the middle of a multi-byte character is
decoded whole; lines are yielded without their newline, invalid UTF-8 replaced.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["LineSplitter", "read_chunk", "tail_start"]

_BLOCK = 64 * 1024
_MAX_CHUNK = 1024 * 1024


def tail_start(path: Path, tail: int | None) -> int:
    """The offset where the last ``tail`` lines of the file begin (0 for all lines).

    Reads backwards in blocks, so a long log costs only what is returned. A final line
    without a newline counts as a line.
    """
    if tail is None:
        return 0
    try:
        with path.open("rb") as file:
            size = file.seek(0, os.SEEK_END)
            if tail <= 0:
                return size
            position = size
            newlines = 0
            while position > 0:
                step = min(_BLOCK, position)
                position -= step
                file.seek(position)
                block = file.read(step)
                index = block.rfind(b"\n")
                while index >= 0:
                    # a trailing newline ends the last line; it does not start one
                    if position + index != size - 1:
                        newlines += 1
                        if newlines == tail:
                            return position + index + 1
                    index = block.rfind(b"\n", 0, index)
            return 0
    except OSError:
        return 0


def read_chunk(path: Path, offset: int) -> tuple[bytes, int]:
    """Bytes from ``offset`` (at most 1 MiB at a time) and the offset after them; a
    missing file reads as empty."""
    try:
        with path.open("rb") as file:
            file.seek(offset)
            data = file.read(_MAX_CHUNK)
    except OSError:
        return b"", offset
    return data, offset + len(data)


class LineSplitter:
    """Turns a stream of byte chunks into text lines, holding back an unfinished one."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, data: bytes) -> list[str]:
        """The complete lines ``data`` finishes."""
        self._pending += data
        *complete, self._pending = self._pending.split(b"\n")
        return [line.decode("utf-8", errors="replace") for line in complete]

    def flush(self) -> list[str]:
        """The unfinished last line, if any (the writer has ended)."""
        rest, self._pending = self._pending, b""
        return [rest.decode("utf-8", errors="replace")] if rest else []
