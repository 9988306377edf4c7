"""The browser's checks on one response: the CORS check, the preflight checks, redirects and
exposed headers. Each appends the Steps it ran to a trace and returns the first Failure.

Order follows Chromium where it departs from the standard's wording (network service
`cors.cc` CheckAccess, `preflight_controller.cc`): the origin is checked before the
preflight's status, and any 3xx with a Location on a preflight is a disallowed redirect.
"""

from __future__ import annotations

from dataclasses import dataclass

from .decision import Failure, Step
from .exchange import Headers, Response
from .origins import is_parseable_url, url_parts, url_userinfo
from .safelists import (
    FORBIDDEN_RESPONSE_HEADERS,
    SAFELISTED_METHODS,
    SAFELISTED_RESPONSE_HEADERS,
    parse_token_list,
    trim,
)

ACAO = "access-control-allow-origin"
ACAC = "access-control-allow-credentials"
ACAM = "access-control-allow-methods"
ACAH = "access-control-allow-headers"
ACEH = "access-control-expose-headers"
ACMA = "access-control-max-age"

DEFAULT_MAX_AGE = 5  # Fetch: CORS-preflight fetch, step 7.9
CHROMIUM_MAX_AGE = 7200  # Chromium caps the preflight cache at 2 hours (preflight_result.cc)


def _missing_origin_words(origin: str, status: int, preflight: bool) -> str:
    subject = "The preflight (OPTIONS) response" if preflight else "The response"
    words = (
        f"{subject} (status {status}) has no Access-Control-Allow-Origin header, so the browser "
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


def _origin_mismatch_hint(allowed: str, origin: str) -> str:
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


def cors_check(
    response: Response, origin: str, include: bool, trace: list[Step], preflight: bool = False
) -> Failure | None:
    """Fetch "CORS check" on a response (or a redirect, or a preflight response)."""
    prefix = "Preflight" if preflight else ""
    where = "preflight response" if preflight else "response"
    values = response.headers.get_all(ACAO)
    if not values:
        trace.append(
            Step(
                "Access-Control-Allow-Origin",
                "Fetch: CORS check, steps 1-2",
                f"absent from the {where} (status {response.status})",
                f"`{origin}` or `*`",
                "fail",
            )
        )
        return Failure(
            prefix + "MissingAllowOriginHeader",
            None,
            _missing_origin_words(origin, response.status, preflight),
        )
    # Several header lines are combined with ", " before the comparison (Fetch "get").
    allowed = ", ".join(trim(value) for value in values)
    credentials_needed = " (credentials mode 'include')" if include else ""
    if allowed == "*":
        if include:
            trace.append(
                Step(
                    "Access-Control-Allow-Origin",
                    "Fetch: CORS check, step 3",
                    "`*`",
                    f"`{origin}`: `*` is not accepted when the request carries credentials",
                    "fail",
                )
            )
            return Failure(
                prefix + "WildcardOriginNotAllowed",
                None,
                f"The {where} allows any origin (`Access-Control-Allow-Origin: *`), but the "
                "request is made with credentials (cookies or HTTP authentication), and then "
                "the wildcard is refused. The server must name the origin, "
                f"`Access-Control-Allow-Origin: {origin}`, and send "
                "`Access-Control-Allow-Credentials: true`.",
            )
        trace.append(
            Step(
                "Access-Control-Allow-Origin",
                "Fetch: CORS check, step 3",
                "`*`",
                f"`{origin}` or `*`",
                "pass",
            )
        )
        return None
    if allowed != origin:
        observed = f"`{allowed}`" + (f" ({len(values)} header lines)" if len(values) > 1 else "")
        trace.append(
            Step(
                "Access-Control-Allow-Origin",
                "Fetch: CORS check, step 4",
                observed,
                f"exactly `{origin}`{credentials_needed}",
                "fail",
            )
        )
        if "," in allowed or " " in allowed:
            duplicated = len(values) > 1
            words = (
                f"The {where} carries Access-Control-Allow-Origin {len(values)} times "
                f"(`{allowed}`): the header must appear once, with one origin. Usually a "
                "reverse proxy and the application both add it: remove one of them."
                if duplicated
                else f"The {where} lists several origins in one Access-Control-Allow-Origin "
                f"(`{allowed}`), but the header takes exactly one. The server must pick the "
                f"request's origin from its list and send only that: `{origin}`."
            )
            return Failure(
                prefix + "MultipleAllowOriginValues",
                allowed,
                words,
                # Firefox names only duplicated header lines "multiple"; one line is a mismatch.
                None if duplicated else "CORSAllowOriginNotMatchingOrigin",
            )
        if allowed != "null" and not is_parseable_url(allowed):
            return Failure(
                prefix + "InvalidAllowOriginValue",
                allowed,
                f"`Access-Control-Allow-Origin: {allowed}` is not an origin: it must be `*` or "
                f"a full origin with its scheme, such as `{origin}`.",
            )
        return Failure(
            prefix + "AllowOriginMismatch",
            allowed,
            f"The {where} allows the origin `{allowed}`, but the page's origin is `{origin}`; "
            "they must be equal (scheme, host and port; no path, no trailing slash)."
            + _origin_mismatch_hint(allowed, origin),
        )
    trace.append(
        Step(
            "Access-Control-Allow-Origin",
            "Fetch: CORS check, step 4",
            f"`{allowed}`",
            f"`{origin}`",
            "pass",
        )
    )
    if not include:
        return None
    credentials = response.headers.get(ACAC)
    if credentials != "true":
        shown = "absent" if credentials is None else f"`{credentials}`"
        trace.append(
            Step(
                "Access-Control-Allow-Credentials",
                "Fetch: CORS check, steps 6-8",
                shown,
                "`true` (exactly, lower-case), since the request carries credentials",
                "fail",
            )
        )
        return Failure(
            prefix + "InvalidAllowCredentials",
            credentials or "",
            f"The request is made with credentials (cookies or HTTP authentication), so the "
            f"{where} must carry `Access-Control-Allow-Credentials: true`; it is {shown}.",
        )
    trace.append(
        Step(
            "Access-Control-Allow-Credentials",
            "Fetch: CORS check, step 7",
            "`true`",
            "`true`",
            "pass",
        )
    )
    return None


def redirect_check(response: Response, trace: list[Step]) -> Failure | None:
    """Fetch "HTTP-redirect fetch", steps 9-10: a CORS redirect may not carry userinfo."""
    location = response.headers.get("location")
    if location is None:
        return None
    userinfo = url_userinfo(location)
    if userinfo is None:
        trace.append(
            Step(
                "Redirect",
                "Fetch: HTTP-redirect fetch, step 18",
                f"{response.status} to `{location}`",
                "a Location without credentials",
                "info",
            )
        )
        return None
    trace.append(
        Step(
            "Redirect Location",
            "Fetch: HTTP-redirect fetch, steps 9-10",
            f"`{location}`",
            "no username or password in the URL",
            "fail",
        )
    )
    return Failure(
        "RedirectContainsCredentials",
        location,
        f"The response redirects to `{location}`, a URL with a username and password; browsers "
        "refuse such a redirect in a CORS request. Redirect to the URL without credentials.",
    )


@dataclass(slots=True)
class PreflightGrant:
    """What a passed preflight allows, as the CORS-preflight cache keeps it."""

    methods: frozenset[str]
    header_names: frozenset[str]  # lower-case
    credentials: bool  # Access-Control-Allow-Credentials: true was sent
    max_age: int

    def allows(self, method: str, unsafe_headers: list[str], include: bool) -> bool:
        """Fetch "method cache entry match" and "header-name cache entry match"."""
        if include and not self.credentials:
            return False
        wildcard = not include
        if not (
            method in SAFELISTED_METHODS
            or method in self.methods
            or (wildcard and "*" in self.methods)
        ):
            return False
        return all(
            name in self.header_names or (wildcard and "*" in self.header_names)
            for name in unsafe_headers
        )


def parse_max_age(value: str | None) -> int:
    """Chromium: missing or unparseable -> 5 s, negative -> 0, capped at 2 hours."""
    if value is None:
        return DEFAULT_MAX_AGE
    try:
        seconds = int(trim(value))
    except ValueError:
        return DEFAULT_MAX_AGE
    return min(max(seconds, 0), CHROMIUM_MAX_AGE)


def preflight_check(
    response: Response | None,
    error: str | None,
    origin: str,
    method: str,
    unsafe_headers: list[str],
    include: bool,
    trace: list[Step],
) -> tuple[Failure | None, PreflightGrant | None]:
    """Fetch "CORS-preflight fetch", step 7, in Chromium's order."""
    if response is None:
        trace.append(
            Step(
                "Preflight response",
                "Fetch: CORS-preflight fetch, step 6",
                f"none ({error or 'no response in the capture'})",
                "an HTTP response",
                "fail",
            )
        )
        return Failure(
            "InvalidResponse",
            None,
            f"The preflight (OPTIONS) got no response ({error or 'none in the capture'}): the "
            "browser reports a network error, not a CORS header problem, and never sends the "
            "actual request. Is the server up, and reachable at that address?",
        ), None
    status = response.status
    location = response.headers.get("location")
    if 300 <= status < 400 and location is not None:
        trace.append(
            Step(
                "Preflight status",
                "Fetch: CORS-preflight fetch, step 6 (no redirects)",
                f"{status} redirect to `{location}`",
                "a 2xx answer, never a redirect",
                "fail",
            )
        )
        return Failure(
            "PreflightDisallowedRedirect",
            None,
            f"The preflight (OPTIONS) was answered with a {status} redirect to `{location}`; "
            "a browser never follows a redirect on a preflight. Call the final URL directly "
            "(with FastAPI, a 307 here is usually `redirect_slashes`: the route is declared "
            "with a trailing slash and called without one, or the other way round; or an "
            "http to https redirect).",
        ), None
    failure = cors_check(response, origin, include, trace, preflight=True)
    if failure:
        return failure, None
    ok_status = 200 <= status < 300
    trace.append(
        Step(
            "Preflight status",
            "Fetch: CORS-preflight fetch, step 7 (ok status)",
            str(status),
            "200-299",
            "pass" if ok_status else "fail",
        )
    )
    if not ok_status:
        words = (
            f"The preflight (OPTIONS) response has status {status}; the browser needs a 2xx "
            "status before it sends the actual request."
        )
        if response.body_head.startswith("Disallowed CORS"):
            words += (
                f" Its body, `{response.body_head.strip()}`, is Starlette's CORSMiddleware "
                "naming the setting that rejected the request."
            )
        return Failure("PreflightInvalidStatus", None, words), None
    allow_methods = response.headers.get(ACAM)
    methods, failure = _parse_allow_list(
        allow_methods,
        "Access-Control-Allow-Methods",
        "method",
        "e.g. `GET, POST, PUT`",
        "InvalidAllowMethodsPreflightResponse",
        trace,
    )
    if failure:
        return failure, None
    allow_headers = response.headers.get(ACAH)
    header_names, failure = _parse_allow_list(
        allow_headers,
        "Access-Control-Allow-Headers",
        "header name",
        "e.g. `Authorization, X-Request-Id`",
        "InvalidAllowHeadersPreflightResponse",
        trace,
    )
    if failure:
        return failure, None
    wildcard = not include  # with credentials, `*` is only a literal name (Fetch 7.5, 7.7)
    if method in SAFELISTED_METHODS:
        trace.append(
            Step(
                "Method",
                "Fetch: CORS-preflight fetch, step 7.5",
                f"`{method}`",
                "a CORS-safelisted method needs no permission",
                "pass",
            )
        )
    elif method in methods or (wildcard and "*" in methods):
        trace.append(
            Step(
                "Access-Control-Allow-Methods",
                "Fetch: CORS-preflight fetch, step 7.5",
                f"`{allow_methods}`",
                f"`{method}` (case-sensitive)",
                "pass",
            )
        )
    else:
        trace.append(
            Step(
                "Access-Control-Allow-Methods",
                "Fetch: CORS-preflight fetch, step 7.5",
                "absent" if allow_methods is None else f"`{allow_methods}`",
                f"`{method}` (case-sensitive)",
                "fail",
            )
        )
        return Failure(
            "MethodDisallowedByPreflightResponse",
            method,
            _method_words(method, methods, allow_methods, include),
        ), None
    allowed_names = {name.lower() for name in header_names}
    for name in unsafe_headers:
        if name in allowed_names:
            continue
        if wildcard and "*" in allowed_names:
            if name == "authorization":
                # Fetch step 7.6: `*` never covers Authorization. Chromium 156 still lets it
                # through and only reports the deprecation issue AuthorizationCoveredByWildcard.
                trace.append(
                    Step(
                        "Access-Control-Allow-Headers: authorization",
                        "Fetch: CORS-preflight fetch, step 7.6 (Chromium departs)",
                        "`*`",
                        "`authorization` listed by name (the standard); Chromium accepts `*`"
                        " with a deprecation warning",
                        "info",
                    )
                )
            continue
        trace.append(
            Step(
                "Access-Control-Allow-Headers",
                "Fetch: CORS-preflight fetch, step 7.7",
                "absent" if allow_headers is None else f"`{allow_headers}`",
                f"`{name}` (the page sends it)",
                "fail",
            )
        )
        return Failure(
            "HeaderDisallowedByPreflightResponse", name, _header_words(name, allow_headers, include)
        ), None
    if unsafe_headers:
        trace.append(
            Step(
                "Access-Control-Allow-Headers",
                "Fetch: CORS-preflight fetch, step 7.7",
                "absent" if allow_headers is None else f"`{allow_headers}`",
                ", ".join(f"`{name}`" for name in unsafe_headers),
                "pass",
            )
        )
    max_age = parse_max_age(response.headers.get(ACMA))
    trace.append(
        Step(
            "Access-Control-Max-Age",
            "Fetch: CORS-preflight fetch, steps 7.8-7.15",
            response.headers.get(ACMA) or "absent",
            f"cached for {max_age} s (default 5 s, Chromium caps at 7200 s)",
            "info",
        )
    )
    grant = PreflightGrant(
        frozenset(methods), frozenset(allowed_names), response.headers.get(ACAC) == "true", max_age
    )
    return None, grant


def _parse_allow_list(
    value: str | None, header: str, item: str, example: str, reason: str, trace: list[Step]
) -> tuple[list[str], Failure | None]:
    """Fetch CORS-preflight fetch steps 7.1-7.3: extract a `#token` list, or fail."""
    items, bad = parse_token_list(value)
    if bad is None:
        return items, None
    trace.append(
        Step(
            header,
            "Fetch: CORS-preflight fetch, step 7.3",
            f"`{value}`",
            f"a comma-separated list of {item}s",
            "fail",
        )
    )
    return items, Failure(
        reason,
        bad,
        f"`{header}: {value}` cannot be parsed: `{bad}` is not a {item}. List {item}s "
        f"separated by commas, {example}.",
    )


def _method_words(method: str, methods: list[str], header: str | None, include: bool) -> str:
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


def _header_words(name: str, header: str | None, include: bool) -> str:
    allowed = "no Access-Control-Allow-Headers" if header is None else f"`{header}`"
    words = (
        f"The page sends the request header `{name}`, which needs the server's permission, "
        f"but the preflight response has {allowed}. The server must list `{name}` in "
        "Access-Control-Allow-Headers."
    )
    if include and header is not None and "*" in header:
        words += " `*` does not count when the request carries credentials."
    return words


def exposed_headers(response: Response, include: bool) -> tuple[list[str], list[str]]:
    """Fetch main fetch step 14: which response headers the page's script may read."""
    listed, _ = parse_token_list(response.headers.get(ACEH))
    exposed = {name.lower() for name in listed}
    everything = not include and "*" in exposed  # `*` means all only without credentials
    readable: list[str] = []
    hidden: list[str] = []
    for name in response.headers.names():
        if name in FORBIDDEN_RESPONSE_HEADERS:
            hidden.append(name)
        elif name in SAFELISTED_RESPONSE_HEADERS or everything or name in exposed:
            readable.append(name)
        else:
            hidden.append(name)
    return readable, hidden


def header_values(headers: Headers, name: str) -> list[str]:
    """Lower-case items of a comma-separated request header (ACRH)."""
    value = headers.get(name)
    if not value:
        return []
    return [item.strip().lower() for item in value.split(",") if item.strip()]
