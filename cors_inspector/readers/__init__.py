"""Captures in, Exchanges out: mitmproxy flow files, HAR files and Chrome NetLogs, told apart by
content."""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..engine.exchange import Exchange
from .har import HarError, read_har
from .mitm import FlowFileError, read_flows
from .netlog import NetLogError, read_netlog

GZIP_MAGIC = b"\x1f\x8b"


class CaptureError(Exception):
    """A capture that cannot be read (fully): `path` and one line saying what is wrong."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class CaptureNote:
    """Something worth one line about a capture that was read whole (e.g. a NetLog that was
    never closed): not an error, the exit status stays by the verdicts."""

    def __init__(self, path: Path, note: str) -> None:
        self.path = path
        self.note = note

    def __str__(self) -> str:
        return f"{self.path}: {self.note}"


def detect_format(head: bytes) -> str | None:
    """'har', 'netlog', 'mitm' or None, from the first bytes of a file."""
    stripped = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if stripped.startswith(b"{"):
        # Chrome writes a NetLog's "constants" first; a HAR's one key is "log".
        return "netlog" if stripped[1:].lstrip().startswith(b'"constants"') else "har"
    if stripped[:1].isdigit():
        return "mitm"
    return None


class _Counted(io.RawIOBase):
    """A file read forward only, counting the bytes: a pipe or FIFO has no tell()."""

    def __init__(self, raw: io.FileIO) -> None:
        self._raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        read = self._raw.readinto(buffer)
        self.count += read or 0
        return read


def open_input(path: Path) -> io.FileIO:
    """The file to read, unbuffered; `-` is standard input (left open for its owner)."""
    if str(path) == "-":
        return io.FileIO(0, "rb", closefd=False)
    return io.FileIO(path, "rb")


class Capture:
    """A capture file being read: its exchanges, streamed, and how far into the file (on
    disk, compressed or not) reading has got, for progress."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._counted: _Counted | None = None
        self.notes: list[str] = []  # one line each, for the reader to show (CaptureNote)

    @property
    def bytes_read(self) -> int:
        return self._counted.count if self._counted else 0

    def exchanges(self) -> Iterator[Exchange]:
        """Stream the exchanges; raise CaptureError (after what could be read)."""
        path = self.path
        try:
            with open_input(path) as raw:
                self._counted = _Counted(raw)
                yield from self._read(io.BufferedReader(self._counted))
        except (FlowFileError, HarError, NetLogError) as error:
            raise CaptureError(path, str(error)) from None
        except (EOFError, gzip.BadGzipFile, zlib.error) as error:
            raise CaptureError(path, f"damaged gzip data ({error})") from None
        except IsADirectoryError:
            raise CaptureError(path, "is a directory, not a capture file") from None
        except FileNotFoundError:
            raise CaptureError(path, "no such file") from None
        except PermissionError:
            raise CaptureError(path, "permission denied") from None
        except OSError as error:
            raise CaptureError(path, error.strerror or str(error)) from None

    def _read(self, raw: io.BufferedReader) -> Iterator[Exchange]:
        if raw.peek(2)[:2] == GZIP_MAGIC:  # e.g. `session.har.gz`
            raw = io.BufferedReader(gzip.GzipFile(fileobj=raw))  # type: ignore[arg-type]
        head = raw.peek(64)[:64]
        kind = detect_format(head)
        if kind is None:
            problem = "not a mitmproxy flow file, HAR or NetLog" if head else "the file is empty"
            raise CaptureError(self.path, problem)
        if kind == "mitm":
            yield from read_flows(raw)
        elif kind == "netlog":
            yield from read_netlog(raw, self.notes)
        else:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace")
            try:
                yield from read_har(text)
            finally:
                text.detach()  # the file is ours to close


def read_capture(path: Path) -> Iterator[Exchange]:
    """Stream the exchanges of a capture file; raise CaptureError (after what could be read)."""
    return Capture(path).exchanges()
