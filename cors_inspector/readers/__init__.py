"""Captures in, Exchanges out: mitmproxy flow files and HAR files, told apart by content."""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from ..engine.exchange import Exchange
from .har import HarError, read_har
from .mitm import FlowFileError, read_flows

GZIP_MAGIC = b"\x1f\x8b"


class CaptureError(Exception):
    """A capture that cannot be read (fully): `path` and one line saying what is wrong."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def detect_format(head: bytes) -> str | None:
    """'har', 'mitm' or None, from the first bytes of a file."""
    stripped = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if stripped.startswith(b"{"):
        return "har"
    if stripped[:1].isdigit():
        return "mitm"
    return None


def _open(path: Path) -> IO[bytes]:
    """The file, decompressed on the fly when it is gzip (e.g. `session.har.gz`)."""
    raw = path.open("rb")
    if raw.peek(2)[:2] == GZIP_MAGIC:
        return io.BufferedReader(gzip.GzipFile(fileobj=raw))  # type: ignore[arg-type]
    return raw


def read_capture(path: Path) -> Iterator[Exchange]:
    """Stream the exchanges of a capture file; raise CaptureError (after what could be read)."""
    try:
        with _open(path) as raw:
            head = raw.peek(64)[:64] if isinstance(raw, io.BufferedReader) else b""
            kind = detect_format(head)
            if kind is None:
                problem = "the file is empty" if not head else "not a mitmproxy flow file or HAR"
                raise CaptureError(path, problem)
            if kind == "mitm":
                yield from read_flows(raw)
            else:
                text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace")
                yield from read_har(text)
    except (FlowFileError, HarError) as error:
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
