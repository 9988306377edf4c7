"""Keep secrets out of what is written: Cookie, Set-Cookie, Authorization and
Proxy-Authorization values, and the user:password part of URLs.

Redaction works on copies; the traffic itself is never altered.
"""

from __future__ import annotations

import re

from mitmproxy.http import HTTPFlow

SECRET_HEADERS = ("cookie", "set-cookie", "authorization", "proxy-authorization")
MASK = "[redacted]"
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/?#@\s]+@")


def redact_text(text: str) -> str:
    """Mask the userinfo of every URL in `text`."""
    if "@" not in text:
        return text
    return _USERINFO.sub(rf"\1{MASK}@", text)


def redact_line(line: bytes) -> bytes:
    """`redact_text` for a UTF-8 line (decoded only when it may hold userinfo)."""
    return redact_text(line.decode()).encode() if b"@" in line else line


def redact_flow(flow: HTTPFlow) -> HTTPFlow:
    """A copy of `flow` with secret header values and URL userinfo masked."""
    copy = flow.copy()
    messages = [copy.request] + ([copy.response] if copy.response else [])
    for message in messages:
        for name in SECRET_HEADERS:
            if name in message.headers:
                message.headers.set_all(name, [MASK] * len(message.headers.get_all(name)))
        if "location" in message.headers:
            message.headers["location"] = redact_text(message.headers["location"])
    copy.request.url = redact_text(copy.request.url)
    return copy


def mask_value(name: str, value: str) -> str:
    """A header value as shown on screen: secrets masked."""
    lowered = name.lower()
    if lowered in SECRET_HEADERS:
        return MASK
    if lowered == "location":
        return redact_text(value)
    return value
