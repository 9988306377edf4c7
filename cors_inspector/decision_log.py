"""Write what the proxy sees: the JSON Lines decision log and the saved flows.

Both are created readable by the user only, flushed by the addon within milliseconds of a
response, at most every 50 ms under load (a write call per flow costs the proxy more than
judging it does), and redacted unless the user asks otherwise. The decision log is rotated
past a size.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

from mitmproxy.http import HTTPFlow
from mitmproxy.io import FlowWriter

from .engine import Decision
from .records import to_json_bytes
from .redact import redact_flow, redact_line

PRIVATE_FILE = 0o600
BACKUPS = 3


def open_private(path: Path, mode: str) -> IO:
    """Open for appending, creating the file readable and writable by the user only."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
    return os.fdopen(descriptor, mode)


class DecisionLog:
    """Append one JSON object per decision; rotate to `.1`, `.2`, ... past `max_bytes`."""

    def __init__(self, path: Path, max_bytes: int, redact: bool = True) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.redact = redact
        self._file = open_private(path, "ab")
        self._size = path.stat().st_size  # counted here: asking the file would flush it

    def write(self, decision: Decision) -> None:
        line = to_json_bytes(decision)
        line = (redact_line(line) if self.redact else line) + b"\n"
        self._file.write(line)
        self._size += len(line)
        if self.max_bytes and self._size >= self.max_bytes:
            self._rotate()

    def flush(self) -> None:
        self._file.flush()

    def _rotate(self) -> None:
        self._file.close()
        for index in range(BACKUPS - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{index}")
            if older.exists():
                older.replace(self.path.with_name(f"{self.path.name}.{index + 1}"))
        self.path.replace(self.path.with_name(f"{self.path.name}.1"))
        self._file = open_private(self.path, "ab")
        self._size = 0

    def close(self) -> None:
        self._file.close()


class FlowSaver:
    """Keep flows in a mitmproxy flow file for replay and offline analysis."""

    def __init__(self, path: Path, redact: bool = True) -> None:
        self.redact = redact
        self._file = open_private(path, "ab")
        self._writer = FlowWriter(self._file)

    def add(self, flow: HTTPFlow) -> None:
        self._writer.add(redact_flow(flow) if self.redact else flow)

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()
