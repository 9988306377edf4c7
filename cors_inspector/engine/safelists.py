"""The Fetch standard's safelists: which methods and headers need a preflight, which response
headers a page may read. Section names are those of https://fetch.spec.whatwg.org/.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from .exchange import Headers

# "CORS-safelisted method": exact bytes. Fetch upper-cases only DELETE, GET, HEAD, OPTIONS,
# POST and PUT ("normalize a method"); a page's `patch` is sent, and compared, as `patch`.
SAFELISTED_METHODS = frozenset({"GET", "HEAD", "POST"})

# "Forbidden request-header": set by the browser, never by script, never cause a preflight.
FORBIDDEN_REQUEST_HEADERS = frozenset(
    {
        "accept-charset",
        "accept-encoding",
        "access-control-request-headers",
        "access-control-request-method",
        "connection",
        "content-length",
        "cookie",
        "cookie2",
        "date",
        "dnt",
        "expect",
        "host",
        "keep-alive",
        "origin",
        "referer",
        "set-cookie",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "via",
    }
)
# Headers Chromium adds itself (or DevTools does) that are not on the forbidden list. When
# the capture holds no preflight, these are taken as the browser's, not the page's.
BROWSER_ADDED_HEADERS = frozenset(
    {
        "user-agent",
        "cache-control",
        "pragma",
        "if-none-match",
        "if-modified-since",
        "priority",
        "upgrade-insecure-requests",
        "x-client-data",
        "purpose",
    }
)

# "CORS-safelisted response-header name" (plus Access-Control-Expose-Headers).
SAFELISTED_RESPONSE_HEADERS = frozenset(
    {
        "cache-control",
        "content-language",
        "content-length",
        "content-type",
        "expires",
        "last-modified",
        "pragma",
    }
)
# "Forbidden response-header name": never exposed, whatever the server says.
FORBIDDEN_RESPONSE_HEADERS = frozenset({"set-cookie", "set-cookie2"})
# Response headers pages commonly read, besides any `x-...` header (never `date`, `server`).
_READ_BY_PAGES = frozenset({"content-disposition", "content-range", "etag", "link", "retry-after"})


def read_by_pages(name: str) -> bool:
    """Whether a page plausibly reads this (lower-case) response header from script."""
    return name.startswith("x-") or name in _READ_BY_PAGES


SAFELISTED_CONTENT_TYPES = frozenset(
    {"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"}
)

# RFC 9110 token, used for methods and header names in Access-Control-Allow-* lists.
TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
# "CORS-unsafe request-header byte": < 0x20 except HT, and " ( ) : < > ? @ [ \ ] { } DEL.
_UNSAFE_BYTE = re.compile(r'[\x00-\x08\x0a-\x1f"():<>?@\[\\\]{}\x7f]')
_LANGUAGE_VALUE = re.compile(r"[0-9A-Za-z *,\-.;=]*\Z")
_SIMPLE_RANGE = re.compile(r"bytes=(\d+)-(\d*)\Z")
_HTTP_WHITESPACE = " \t\r\n"
# Chromium also safelists these client hints when their value is a plain number
# (services/network/public/cpp/cors/cors.cc, IsCorsSafelistedHeader).
_CHROMIUM_NUMERIC_HINTS = frozenset(
    {"device-memory", "dpr", "width", "viewport-width", "rtt", "downlink"}
)
_NUMBER = re.compile(r"\d+(\.\d+)?\Z")

MAX_SAFELISTED_VALUE_BYTES = 128
MAX_SAFELISTED_TOTAL_BYTES = 1024


def is_forbidden_request_header(name: str) -> bool:
    return name in FORBIDDEN_REQUEST_HEADERS or name.startswith(("proxy-", "sec-"))


def mime_essence(value: str) -> str | None:
    """Fetch "parse a MIME type", reduced to the essence; None when it does not parse."""
    value = value.strip(_HTTP_WHITESPACE)
    type_, slash, rest = value.partition("/")
    if not slash or not TOKEN.match(type_):
        return None
    subtype = rest.split(";", 1)[0].rstrip(_HTTP_WHITESPACE)
    if not TOKEN.match(subtype):
        return None
    return f"{type_.lower()}/{subtype.lower()}"


def is_safelisted_request_header(name: str, value: str) -> bool:
    """Fetch "CORS-safelisted request-header" for a lower-case name and a Latin-1 value."""
    if len(value) > MAX_SAFELISTED_VALUE_BYTES:
        return False
    if name == "accept":
        return not _UNSAFE_BYTE.search(value)
    if name in ("accept-language", "content-language"):
        return bool(_LANGUAGE_VALUE.match(value))
    if name == "content-type":
        return not _UNSAFE_BYTE.search(value) and mime_essence(value) in SAFELISTED_CONTENT_TYPES
    if name == "range":
        match = _SIMPLE_RANGE.match(value)
        return match is not None and (not match[2] or int(match[1]) <= int(match[2]))
    if name in _CHROMIUM_NUMERIC_HINTS:
        return bool(_NUMBER.match(value))
    if name == "save-data":
        return value == "on"
    return False


def unsafe_request_header_names(
    pairs: Iterable[tuple[str, str]], skip: Callable[[str], bool] = is_forbidden_request_header
) -> list[str]:
    """Fetch "CORS-unsafe request-header names": sorted, lower-case, de-duplicated.

    Headers whose lower-case name `skip` accepts are not the page's (forbidden ones, by
    default) and are left out.
    """
    unsafe: set[str] = set()
    safelisted: set[str] = set()
    safelisted_bytes = 0
    for name, value in pairs:
        key = name.lower()
        verdict = _VERDICTS.get((key, value, skip))
        if verdict is None:
            if len(_VERDICTS) > 4096:  # bounded: values such as tokens never repeat
                _VERDICTS.clear()
            if skip(key):
                verdict = _SKIPPED
            else:
                verdict = _SAFE if is_safelisted_request_header(key, value) else _UNSAFE
            _VERDICTS[key, value, skip] = verdict
        if verdict is _SAFE:
            safelisted.add(key)
            safelisted_bytes += len(value)
        elif verdict is _UNSAFE:
            unsafe.add(key)
    # Step 3: past 1024 bytes of safelisted values, all of them count as unsafe too.
    if safelisted_bytes > MAX_SAFELISTED_TOTAL_BYTES:
        unsafe |= safelisted
    return sorted(unsafe)


_SKIPPED, _SAFE, _UNSAFE = "skipped", "safe", "unsafe"
# (name, value, skip) -> verdict: the same headers come back on request after request.
_VERDICTS: dict[tuple[str, str, Callable[[str], bool]], str] = {}


def set_by_browser(name: str) -> bool:
    """Forbidden, or added by Chromium or DevTools itself (lower-case name)."""
    return name in BROWSER_ADDED_HEADERS or is_forbidden_request_header(name)


def page_unsafe_headers(headers: Headers) -> list[str]:
    """The CORS-unsafe names among the headers a page could have set on an actual request.

    Without the preflight's own list (Access-Control-Request-Headers), the headers the browser
    adds itself are taken as the browser's, not the page's.
    """
    return unsafe_request_header_names(headers.pairs, set_by_browser)


def parse_token_list(value: str | None) -> tuple[list[str], str | None]:
    """Parse a `#token` list header (ACAM, ACAH, ACEH) as Chromium does.

    Returns the items (empty items skipped, whitespace trimmed) and the first item that is not
    a token, if any.
    """
    if value is None:
        return [], None
    items: list[str] = []
    for raw in value.split(","):
        item = raw.strip(_HTTP_WHITESPACE)
        if not item:
            continue
        if not TOKEN.match(item):
            return items, item
        items.append(item)
    return items, None


def trim(value: str) -> str:
    """Strip HTTP whitespace, as the header parser does before the CORS check compares."""
    return value.strip(_HTTP_WHITESPACE)
