"""The JSON Lines decision log of what the proxy sees (option `cors_log`).

Created readable by the user only, written out by the addon within milliseconds of a
response, at most every 50 ms under load (a write call per flow costs the proxy more than
judging it does), redacted unless the user asks otherwise, and rotated past a size.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from mitmproxy import ctx, exceptions

from ..engine import Decision
from ..output.records import to_json_bytes
from ..redact import open_private, redact_decision

BACKUPS = 3
# Records are written out each WRITE_INTERVAL (mitm/addon.py), not as the buffer fills: with
# the default 8 KiB buffer, a write(2) every three records cost the proxy more than all the
# JSON encoding did.
BUFFER_BYTES = 1 << 20

logger = logging.getLogger(__name__)


class DecisionLog:
    """Append one JSON object per decision; rotate to `.1`, `.2`, ... past `max_bytes`."""

    def __init__(self, path: Path, max_bytes: int, redact: bool = True) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.redact = redact
        self._file = open_private(path, "ab", BUFFER_BYTES)
        self._size = path.stat().st_size  # counted here: asking the file would flush it
        self.failed: OSError | None = None  # the write that failed: nothing is written after it
        self.unwritten = 0  # decisions lost to it
        self._buffered = 0  # decisions written since the last flush

    def write(self, decision: Decision) -> None:
        if self.failed:
            self.unwritten += 1
            return
        line = to_json_bytes(redact_decision(decision) if self.redact else decision) + b"\n"
        self._buffered += 1
        try:
            self._file.write(line)
            self._size += len(line)
            if self.max_bytes and self._size >= self.max_bytes:
                self._rotate()
        except OSError as error:
            self._fail(error)

    def flush(self) -> None:
        if self.failed:
            return
        try:
            self._file.flush()
            self._buffered = 0
        except OSError as error:
            self._fail(error)

    def _fail(self, error: OSError) -> None:
        """One warning, then the decisions are counted: a full disk must not cost the proxy
        a traceback per flow."""
        self.failed = error
        self.unwritten += self._buffered
        self._buffered = 0
        logger.warning(
            f"cors-inspector: cannot write the decision log {self.path}: "
            f"{error.strerror or error}; from now on decisions are counted, not written"
        )

    def _rotate(self) -> None:
        self._file.close()
        for index in range(BACKUPS - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{index}")
            if older.exists():
                older.replace(self.path.with_name(f"{self.path.name}.{index + 1}"))
        self.path.replace(self.path.with_name(f"{self.path.name}.1"))
        self._file = open_private(self.path, "ab", BUFFER_BYTES)
        self._size = 0

    def close(self) -> None:
        self.flush()
        with contextlib.suppress(OSError):  # what it held could not be written: counted above
            self._file.close()


class LogWriter:
    """The addon that owns the decision log: its options, opening, flushing and closing.

    At `done` the log is flushed but stays open: mitmproxy may still deliver a flow or two
    while it shuts down, and their decisions are written (and flushed) as they come. `close`
    ends it; a process that exits without calling it has nothing left in its buffer."""

    def __init__(self) -> None:
        self.log: DecisionLog | None = None
        self._done = False

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
            self.close()
            options = ctx.options
            if options.cors_log:
                path = Path(options.cors_log).expanduser()
                try:
                    self.log = DecisionLog(path, options.cors_log_max_bytes, options.cors_redact)
                except OSError as error:
                    raise exceptions.OptionsError(
                        f"cannot open the decision log {path}: {error.strerror or error}"
                    ) from None

    def write(self, decision: Decision) -> None:
        if self.log:
            self.log.write(decision)
            if self._done:
                self.log.flush()

    def flush(self) -> None:
        if self.log:
            self.log.flush()

    def done(self) -> None:
        self._done = True
        self.flush()
        if self.log and self.log.unwritten:
            logger.warning(
                f"cors-inspector: {self.log.unwritten} decisions could not be written to "
                f"{self.log.path}"
            )

    def close(self) -> None:
        if self.log:
            self.log.close()
            self.log = None
