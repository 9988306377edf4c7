"""Keep secrets out of what is written or shown: Cookie, Set-Cookie, Authorization and
Proxy-Authorization values, and the user:password part of URLs; and keep what is written
readable by the user only.

Redaction works on copies; the traffic itself is never altered.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import IO

SECRET_HEADERS = ("cookie", "set-cookie", "authorization", "proxy-authorization")
MASK = "[redacted]"
PRIVATE_FILE = 0o600
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/?#@\s]+@")


def redact_text(text: str) -> str:
    """Mask the userinfo of every URL in `text`."""
    if "@" not in text:
        return text
    return _USERINFO.sub(rf"\1{MASK}@", text)


def redact_line(line: bytes) -> bytes:
    """`redact_text` for a UTF-8 line (decoded only when it may hold userinfo)."""
    return redact_text(line.decode()).encode() if b"@" in line else line


def mask_value(name: str, value: str) -> str:
    """A header value as shown on screen: secrets masked."""
    lowered = name.lower()
    if lowered in SECRET_HEADERS:
        return MASK
    if lowered == "location":
        return redact_text(value)
    return value


def open_private(path: Path, mode: str) -> IO:
    """Open for appending, creating the file readable and writable by the user only."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
    return os.fdopen(descriptor, mode)
