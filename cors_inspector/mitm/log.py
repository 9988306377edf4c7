"""The JSON Lines decision log of what the proxy sees (option `cors_log`).

Created readable by the user only, written out by the addon within milliseconds of a
response, at most every 50 ms under load (a write call per flow costs the proxy more than
judging it does), redacted unless the user asks otherwise, and rotated past a size.
"""

from __future__ import annotations

from pathlib import Path

from mitmproxy import ctx

from ..engine import Decision
from ..output.records import to_json_bytes
from ..redact import open_private, redact_decision

BACKUPS = 3


class DecisionLog:
    """Append one JSON object per decision; rotate to `.1`, `.2`, ... past `max_bytes`."""

    def __init__(self, path: Path, max_bytes: int, redact: bool = True) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.redact = redact
        self._file = open_private(path, "ab")
        self._size = path.stat().st_size  # counted here: asking the file would flush it

    def write(self, decision: Decision) -> None:
        line = to_json_bytes(redact_decision(decision) if self.redact else decision) + b"\n"
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


class LogWriter:
    """The addon that owns the decision log: its options, opening, flushing and closing."""

    def __init__(self) -> None:
        self.log: DecisionLog | None = None

    def load(self, loader) -> None:
        loader.add_option(
            "cors_log",
            str,
            "",
            "Append one JSON line per decision to this file (the `analyze --format jsonl` "
            "schema), flushed as it happens.",
        )
        loader.add_option(
            "cors_log_max_bytes",
            int,
            50_000_000,
            "Rotate the decision log past this many bytes (0: never).",
        )

    def configure(self, updated: set[str]) -> None:
        if updated & {"cors_log", "cors_log_max_bytes", "cors_redact"}:
            self.done()
            options = ctx.options
            if options.cors_log:
                self.log = DecisionLog(
                    Path(options.cors_log).expanduser(),
                    options.cors_log_max_bytes,
                    options.cors_redact,
                )

    def write(self, decision: Decision) -> None:
        if self.log:
            self.log.write(decision)

    def flush(self) -> None:
        if self.log:
            self.log.flush()

    def done(self) -> None:
        if self.log:
            self.log.close()
            self.log = None
