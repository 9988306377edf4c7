"""Plain request/response data: what a capture knows of one HTTP exchange.

Readers (mitmproxy flows, HAR) build these; the engine reads nothing else. Header values are
kept as received and decoded as Latin-1, so one character is one byte on the wire: the Fetch
standard's byte rules (lengths, unsafe bytes) apply to them exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

HeaderPairs = tuple[tuple[str, str], ...]
Credentials = Literal["include", "omit", "unknown"]
# Characters of an error response's body kept: enough for Starlette's one-line refusals
# ("Disallowed CORS origin"), which name the setting that refused a preflight.
BODY_HEAD = 256


_LOWER: dict[str, str] = {}  # header names repeat in every message: lower-case each once


def _lowered(name: str) -> str:
    _LOWER[name] = lowered = name.lower()
    return lowered


class Headers:
    """Ordered, multi-valued, case-insensitive view of header lines as received.

    The name index is built on first use (most responses, page loads and images, are never
    looked into), and holds each name's value as Fetch's "get" combines it.
    """

    __slots__ = ("_index", "_repeated", "pairs")

    def __init__(self, pairs: HeaderPairs = ()) -> None:
        self.pairs = pairs
        self._index: dict[str, str] | None = None
        self._repeated: dict[str, list[str]] = {}  # names sent on several lines

    def __reduce__(self) -> tuple[type[Headers], tuple[HeaderPairs]]:
        return Headers, (self.pairs,)  # pickled without the index: it is rebuilt on use

    def _build_index(self) -> dict[str, str]:
        pairs = self.pairs
        lower = _LOWER
        if len(lower) > 4096:  # bounded: hostile traffic may invent names
            lower.clear()
        index = {lower.get(name) or _lowered(name): value for name, value in pairs}
        if len(index) < len(pairs):  # a name repeats: combine its values with ", " (Fetch)
            lines: dict[str, list[str]] = {}
            for name, value in pairs:
                lines.setdefault(name.lower(), []).append(value)
            self._repeated = {name: values for name, values in lines.items() if len(values) > 1}
            for name, values in self._repeated.items():
                index[name] = ", ".join(values)
        self._index = index
        return index

    def get(self, name: str) -> str | None:
        """The value of `name` (lower-case); several lines are joined by ", " (Fetch "get")."""
        index = self._index if self._index is not None else self._build_index()
        return index.get(name)

    def get_all(self, name: str) -> list[str]:
        """Every value of `name` (lower-case), one per header line, in order."""
        value = self.get(name)
        if value is None:
            return []
        return self._repeated.get(name) or [value]

    def __contains__(self, name: str) -> bool:
        index = self._index if self._index is not None else self._build_index()
        return name in index

    def names(self) -> list[str]:
        """Lower-case names, first occurrence order."""
        index = self._index if self._index is not None else self._build_index()
        return list(index)

    def __len__(self) -> int:
        return len(self.pairs)

    def __repr__(self) -> str:
        return f"Headers({self.pairs!r})"


@dataclass(slots=True)
class Request:
    method: str  # exactly as sent: a page's `patch` stays `patch`
    url: str
    headers: Headers
    body: bytes = b""  # kept for replay; the engine does not read it


@dataclass(slots=True)
class Response:
    status: int
    headers: Headers
    reason: str = ""
    body_head: str = ""  # the first bytes of an error body (e.g. Starlette's "Disallowed CORS ...")


@dataclass(slots=True)
class Exchange:
    """One request and what came back, as captured.

    `response` is None when nothing came back (`error` says why, when known). `browser_error`
    carries what the browser itself recorded, e.g. Chrome's HAR `_error` for a request it failed.
    """

    id: str
    started: float  # epoch seconds
    request: Request
    response: Response | None
    ended: float | None = None  # when the response was complete
    error: str | None = None
    browser_error: str | None = None
    # The proxy answered the browser itself (e.g. mitmproxy's 502 when the server was
    # unreachable): `response` is what the browser got, `error` why.
    answered_by_proxy: bool = False
    # False where the capture kept only the page's provisional headers, not the ones sent
    # (Playwright's HAR, for a request the browser failed): origin and mode are unknown.
    headers_recorded: bool = True
    # The client connection it came on (mitmproxy's client_conn.id, HAR's `connection`):
    # browsers never mix credentialed and uncredentialed requests on one connection.
    connection: str | None = None
    # What only the browser knows, where the capture has it (Chrome's NetLog, the browser
    # bridge): the credentials mode as the browser computed it, and where that came from...
    credentials: Credentials | None = None
    credentials_basis: str = ""
    # ... whether it was sent at all (an actual request whose preflight failed is not; a
    # preflight answered from the browser's cache is not) ...
    sent: bool = True
    # ... which preflight served it (the preflight's `id`), or that the cache did ...
    preflight_of: str | None = None
    preflight_cached: bool = False
    # ... and the browser's own verdict and CorsError name.
    browser_verdict: str | None = None
    browser_reason: str | None = None
