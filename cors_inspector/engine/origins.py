"""Origins as the browser serializes and compares them (HTML "origin", URL standard)."""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import NamedTuple

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
# Schemes the URL standard calls "special": their URLs always have a host.
_SPECIAL_SCHEMES = frozenset({"http", "https", "ws", "wss", "ftp", "file"})
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_FORBIDDEN_HOST_CHARS = re.compile(r"[\x00-\x20#%/:<>?@\[\\\]^|]")


class UrlParts(NamedTuple):
    scheme: str
    host: str
    port: int
    origin: str


@lru_cache(maxsize=8192)
def _parts_of_authority(scheme: str, authority: str) -> UrlParts | None:
    authority = authority.rpartition("@")[2]
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            return None
        host, port_text = authority[: end + 1], authority[end + 2 :]
    else:
        host, _, port_text = authority.partition(":")
    host = host.lower()
    if not host:
        return None
    default = DEFAULT_PORTS[scheme]
    try:
        port = int(port_text) if port_text else default
    except ValueError:
        return None
    origin = f"{scheme}://{host}" if port == default else f"{scheme}://{host}:{port}"
    return UrlParts(scheme, host, port, origin)


def url_parts(url: str) -> UrlParts | None:
    """Scheme, host, port and serialized origin of an http(s)/ws(s) URL; None otherwise."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return None
    scheme = scheme.lower()
    if scheme not in DEFAULT_PORTS:
        return None
    end = len(rest)
    for delimiter in "/?#":
        position = rest.find(delimiter)
        if 0 <= position < end:
            end = position
    return _parts_of_authority(scheme, rest[:end])


def origin_of(url: str) -> str | None:
    """The serialized origin of `url` (`scheme://host[:port]`, default port omitted)."""
    parts = url_parts(url)
    return parts.origin if parts else None


def url_userinfo(url: str) -> str | None:
    """The `user:password` part of an absolute URL, if it has one."""
    _, sep, rest = url.partition("://")
    if not sep:
        return None
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    userinfo, at, _ = authority.rpartition("@")
    return userinfo if at else None


def is_parseable_url(value: str) -> bool:
    """Whether Chromium's URL parser (GURL) accepts `value` as an absolute URL.

    Chromium uses this to tell an unparseable Access-Control-Allow-Origin value
    (`InvalidAllowOriginValue`) from one that is merely a different origin
    (`AllowOriginMismatch`): `example.com` is unparseable, `http://example.com/` is not.
    """
    match = _SCHEME.match(value)
    if not match:
        return False
    scheme = match.group()[:-1].lower()
    if scheme not in _SPECIAL_SCHEMES or scheme == "file":
        return True
    rest = value[match.end() :].lstrip("/\\")
    authority = re.split(r"[/\\?#]", rest, maxsplit=1)[0].rpartition("@")[2]
    if authority.startswith("["):
        return authority.find("]") > 1
    host, _, port = authority.partition(":")
    if not host or _FORBIDDEN_HOST_CHARS.search(host):
        return False
    return not port or port.isdigit()


def is_loopback(host: str) -> bool:
    """`localhost`, or an address of this machine's loopback interface."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
