"""Command lines from a file or a pipe, and whether the input has paused.

`solvent replay --db` commits its pending batch when the input pauses (a producer waiting
for acknowledgements must get them), so it needs to know whether reading the next line
would block. `Lines` reads the descriptor itself in large chunks and answers that with a
zero-timeout `select`; lines are split and stripped as `read_lines` does (blank lines
skipped, line numbers counted from 1).
"""

from __future__ import annotations

import os
import select
from collections.abc import Iterator
from typing import IO

_CHUNK = 1 << 16


class Lines:
    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        try:
            self._fd: int | None = source.fileno()
        except (AttributeError, OSError, ValueError):  # an in-memory stream: never pauses
            self._fd = None
        self._ready: list[bytes] = []  # complete lines not yet handed out, reversed
        self._partial = b""
        self._eof = False
        self.number = 0  # line number of the last line handed out

    def would_block(self) -> bool:
        """True when no complete line is buffered and the descriptor has nothing to read."""
        if self._ready or self._eof or self._fd is None:
            return False
        readable, _, _ = select.select([self._fd], [], [], 0)
        return not readable

    def _fill(self) -> bool:
        chunk = os.read(self._fd, _CHUNK) if self._fd is not None else self._source.read(_CHUNK)
        if not chunk:
            self._eof = True
            if self._partial:
                self._ready.append(self._partial)
                self._partial = b""
            return bool(self._ready)
        parts = (self._partial + chunk).split(b"\n")
        self._partial = parts.pop()
        parts.reverse()
        self._ready = parts + self._ready if self._ready else parts
        return True

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        while True:
            while not self._ready:
                if self._eof or not self._fill():
                    return
            line = self._ready.pop()
            self.number += 1
            stripped = line.strip()
            if stripped:
                yield self.number, stripped
