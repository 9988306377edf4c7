"""Which path the browser took for a request, read back from the wire (Fetch "main fetch",
step 12): a preflight, a CORS request, same-origin, or one no CORS check applies to."""

from __future__ import annotations

from dataclasses import dataclass

from .browsers import Browser, browser_of
from .decision import Kind
from .exchange import Exchange
from .origins import url_parts
from .safelists import trim


@dataclass(slots=True)
class Classification:
    """Which path of Fetch's main fetch the browser took, as the wire shows it."""

    kind: Kind
    origin: str | None
    why: str
    inferred_mode: bool = False  # no Sec-Fetch-Mode on the wire: the mode is a guess
    browser: Browser = "unknown"  # whose rules apply (browsers.py)


def classify(exchange: Exchange) -> Classification:
    """Fetch "main fetch" step 12, and which browser sent the request."""
    found = _classify(exchange)
    found.browser = browser_of(exchange.request.headers)
    return found


def _classify(exchange: Exchange) -> Classification:
    """Fetch "main fetch" step 12: which path the browser took, read back from the wire."""
    request = exchange.request
    headers = request.headers
    origin = headers.get("origin")
    if origin is not None:
        origin = trim(origin)  # as any HTTP parser reads a field value
    mode = headers.get("sec-fetch-mode")
    site = headers.get("sec-fetch-site")
    if (
        request.method.upper() == "OPTIONS"
        and origin is not None
        and ("access-control-request-method" in headers)
    ):
        return Classification(
            "preflight",
            origin,
            "OPTIONS with Origin and Access-Control-Request-Method: a CORS preflight",
        )
    if not exchange.headers_recorded:
        # Playwright's HAR keeps only the page's provisional headers (no Origin, no
        # Sec-Fetch-*) for a request the browser failed.
        return Classification(
            "actual",
            None,
            "the capture kept only provisional headers for this failed request (Playwright's "
            "HAR does): its origin and mode cannot be read back",
            inferred_mode=True,
        )
    target = url_parts(request.url)
    if target is None:
        return Classification("not-cors", origin, "not an http(s) URL: no CORS check applies")
    if mode == "websocket" or (headers.get("upgrade") or "").lower() == "websocket":
        return Classification(
            "not-cors",
            origin,
            "a WebSocket handshake: the browser does no "
            "CORS check; the server must check Origin itself",
        )
    if mode == "navigate":
        return Classification(
            "not-cors", origin, "a navigation (Sec-Fetch-Mode: navigate): no CORS check"
        )
    if mode == "no-cors":
        return Classification(
            "not-cors",
            origin,
            "mode no-cors (Sec-Fetch-Mode: no-cors): "
            "never CORS-checked; a cross-origin response is opaque to the "
            "page (status 0, no headers, no body)",
        )
    if origin is None:
        if site == "same-origin" or mode == "same-origin":
            return Classification(
                "same-origin", None, "same origin (Sec-Fetch-Site: same-origin): no CORS check"
            )
        return Classification(
            "not-cors",
            None,
            "no Origin header: a navigation, a no-cors "
            "GET, or a client that is not a browser (curl, Postman, a "
            "server); no CORS check applies",
        )
    if origin == target.origin:
        return Classification(
            "same-origin", origin, f"the page's origin {origin} is the target's: no CORS check"
        )
    if mode == "cors":
        return Classification(
            "actual",
            origin,
            f"a cross-origin request from {origin} to "
            f"{target.origin} in mode cors (Sec-Fetch-Mode: cors)",
        )
    # No Sec-Fetch-Mode: browsers send it only to https and loopback URLs.
    accept = headers.get("accept") or ""
    if request.method.upper() not in ("GET", "HEAD") and accept.startswith("text/html"):
        return Classification(
            "not-cors",
            origin,
            "looks like a form submission (Origin on a "
            f"{request.method} asking for HTML, no Sec-Fetch-Mode): a "
            "navigation, no CORS check",
            inferred_mode=True,
        )
    return Classification(
        "actual",
        origin,
        f"a cross-origin request from {origin} to "
        f"{target.origin}; taken as mode cors (an Origin header and no "
        "Sec-Fetch-Mode, which browsers send only to https and loopback "
        "URLs)",
        inferred_mode=True,
    )
