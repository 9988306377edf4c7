"""The words: what each failed check means, in plain language, quoting the header and value.

Kept apart from the rules (cors_check.py, preflight.py) so that either can be read, and
changed, without wading through the other.
"""

from __future__ import annotations

from .origins import url_parts


def subject(preflight: bool) -> str:
    return "preflight response" if preflight else "response"


def missing_allow_origin(origin: str, status: int, preflight: bool) -> str:
    words = (
        f"The {'preflight (OPTIONS) response' if preflight else 'response'} (status {status}) "
        "has no Access-Control-Allow-Origin header, so the browser "
        f"refuses to let the page at {origin} use it. The server must answer with "
        f"`Access-Control-Allow-Origin: {origin}`."
    )
    if status >= 500:
        words += (
            f" A {status} without CORS headers is usually a server error, not a CORS "
            "configuration problem: the handler failed and the error response lost the CORS "
            "headers on the way out. Look at the server log first."
        )
    elif preflight and status == 405:
        words += (
            " A 405 to OPTIONS means nothing on the server handles preflights: the CORS "
            "middleware is missing, or the route does not exist."
        )
    elif preflight and status in (401, 403):
        words += (
            f" A {status} to OPTIONS means an authentication layer answered the preflight "
            "(which never carries credentials) before the CORS layer could: put the CORS "
            "middleware outside (after, in FastAPI's add_middleware order) the auth middleware."
        )
    return words


def wildcard_with_credentials(preflight: bool, origin: str) -> str:
    return (
        f"The {subject(preflight)} allows any origin (`Access-Control-Allow-Origin: *`), but "
        "the request is made with credentials (cookies or HTTP authentication), and then "
        "the wildcard is refused. The server must name the origin, "
        f"`Access-Control-Allow-Origin: {origin}`, and send "
        "`Access-Control-Allow-Credentials: true`."
    )


def several_allow_origins(preflight: bool, allowed: str, lines: int, origin: str) -> str:
    if lines > 1:
        return (
            f"The {subject(preflight)} carries Access-Control-Allow-Origin {lines} times "
            f"(`{allowed}`): the header must appear once, with one origin. Usually a "
            "reverse proxy and the application both add it: remove one of them."
        )
    return (
        f"The {subject(preflight)} lists several origins in one Access-Control-Allow-Origin "
        f"(`{allowed}`), but the header takes exactly one. The server must pick the "
        f"request's origin from its list and send only that: `{origin}`."
    )


def not_an_origin(allowed: str, origin: str) -> str:
    return (
        f"`Access-Control-Allow-Origin: {allowed}` is not an origin: it must be `*` or "
        f"a full origin with its scheme, such as `{origin}`."
    )


def origin_mismatch(preflight: bool, allowed: str, origin: str) -> str:
    return (
        f"The {subject(preflight)} allows the origin `{allowed}`, but the page's origin is "
        f"`{origin}`; they must be equal (scheme, host and port; no path, no trailing slash)."
        + _near_miss(allowed, origin)
    )


def _near_miss(allowed: str, origin: str) -> str:
    """Name the near miss between an allowed origin and the page's, when there is one."""
    if allowed.rstrip("/") == origin:
        return " The only difference is the trailing slash: an origin never has a path."
    if allowed.lower() == origin:
        return " The only difference is letter case: the browser compares byte for byte."
    allowed_parts, origin_parts = url_parts(allowed), url_parts(origin)
    if allowed_parts is None or origin_parts is None:
        return ""
    if allowed_parts.host == origin_parts.host and allowed_parts.port == origin_parts.port:
        return f" The scheme differs ({allowed_parts.scheme} vs {origin_parts.scheme})."
    loopback = {"localhost", "127.0.0.1", "[::1]"}
    if {allowed_parts.host, origin_parts.host} <= loopback and allowed_parts.port == (
        origin_parts.port
    ):
        return (
            f" `{allowed_parts.host}` and `{origin_parts.host}` are different origins to the "
            "browser even though they reach the same machine."
        )
    if allowed_parts.host == origin_parts.host:
        return f" The port differs ({allowed_parts.port} vs {origin_parts.port})."
    return ""


def credentials_not_allowed(preflight: bool, shown: str) -> str:
    return (
        "The request is made with credentials (cookies or HTTP authentication), so the "
        f"{subject(preflight)} must carry `Access-Control-Allow-Credentials: true`; it is "
        f"{shown}."
    )


def redirect_with_credentials(location: str) -> str:
    return (
        f"The response redirects to `{location}`, a URL with a username and password; browsers "
        "refuse such a redirect in a CORS request. Redirect to the URL without credentials."
    )


def redirect_not_http(location: str) -> str:
    return (
        f"The response redirects to `{location}`, which is not an http(s) URL; a browser "
        "fails such a redirect as a network error (Firefox: CORS request did not succeed). "
        "Redirect to an http(s) URL."
    )


def too_many_redirects(count: int) -> str:
    return (
        f"This is redirect number {count + 1} in a row: browsers follow at most 20 and then "
        "fail the request as a network error (Firefox: CORS request did not succeed). The "
        "server redirects in a loop, or through too many hops."
    )


def preflight_without_response(error: str | None) -> str:
    return (
        f"The preflight (OPTIONS) got no response ({error or 'none in the capture'}): the "
        "browser reports a network error, not a CORS header problem, and never sends the "
        "actual request. Is the server up, and reachable at that address?"
    )


def preflight_redirected(status: int, location: str) -> str:
    return (
        f"The preflight (OPTIONS) was answered with a {status} redirect to `{location}`; "
        "a browser never follows a redirect on a preflight. Call the final URL directly "
        "(with FastAPI, a 307 here is usually `redirect_slashes`: the route is declared "
        "with a trailing slash and called without one, or the other way round; or an "
        "http to https redirect)."
    )


def preflight_status_not_ok(status: int, body_head: str) -> str:
    words = (
        f"The preflight (OPTIONS) response has status {status}; the browser needs a 2xx "
        "status before it sends the actual request."
    )
    if body_head.startswith("Disallowed CORS"):
        words += (
            f" Its body, `{body_head.strip()}`, is Starlette's CORSMiddleware "
            "naming the setting that rejected the request."
        )
    return words


def unparseable_list(header: str, value: str | None, bad: str, item: str, example: str) -> str:
    return (
        f"`{header}: {value}` cannot be parsed: `{bad}` is not a {item}. List {item}s "
        f"separated by commas, {example}."
    )


def method_not_allowed(method: str, methods: list[str], header: str | None, include: bool) -> str:
    if header is None:
        words = f"The preflight response has no Access-Control-Allow-Methods, so `{method}` "
        words += "is not allowed (only GET, HEAD and POST need no permission)."
    else:
        words = f"The preflight allows the methods `{header}`, which do not include `{method}`."
    if method.upper() in methods and method != method.upper():
        words += (
            f" Methods are compared case-sensitively and browsers upper-case only DELETE, GET, "
            f"HEAD, OPTIONS, POST and PUT: the page sends `{method}`; make it send "
            f"`{method.upper()}`."
        )
    elif include and "*" in methods:
        words += " `*` does not count when the request carries credentials: list the method."
    return words


def header_not_allowed(name: str, header: str | None, include: bool) -> str:
    allowed = "no Access-Control-Allow-Headers" if header is None else f"`{header}`"
    words = (
        f"The page sends the request header `{name}`, which needs the server's permission, "
        f"but the preflight response has {allowed}. The server must list `{name}` in "
        "Access-Control-Allow-Headers."
    )
    if include and header is not None and "*" in header:
        words += " `*` does not count when the request carries credentials."
    return words
