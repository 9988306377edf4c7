"""The cross-origin fetch cases Chromium decides in the browser run.

Every case is one ``fetch()`` (``repeat`` > 1 runs it again, for the preflight cache) from a
page origin to a target whose URL carries ``case=<id>``, so mitmproxy flows and CDP events
can be matched to it.  ``expect`` is what Chromium 156 was observed to decide: ``allowed``,
``opaque`` (no-cors), ``failed`` (network error without a CORS error) or the CDP
``corsError`` name.  ``departure`` names the place where that differs from the Fetch
standard.

Pages (``page``): ``localhost`` (``http://localhost:<page port>``, the "React dev server"),
``ip`` (``http://127.0.0.1:<page port>``) and ``file`` (a file:// page, Origin ``null``).

Targets: ``raw``/``raw_ip`` are the scriptable raw backend as ``localhost`` and
``127.0.0.1`` (two origins, one server); ``same`` is the page's own origin and ``page`` the
page server as ``localhost`` (both answered by the raw backend); any other name is a
FastAPI backend instance (``BACKENDS`` maps it to its app in ``apps.py``).

Header values and ``Location`` may use the placeholders ``{origin}`` (the page origin, as
the browser serialises it: ``null`` for file://), ``{raw}``, ``{raw_ip}``, ``{raw_port}``,
``{page}`` (``http://localhost:<page port>``), ``{page_port}`` and ``{id}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Header = tuple[str, str]

PAGES = ("localhost", "ip", "file")

# Backend instance -> FastAPI app name.  ``raises`` runs twice: uvicorn closes the
# connection after an unhandled exception, so no request may follow on the same backend.
BACKENDS: dict[str, str] = {
    "exact": "exact",
    "wildcard": "wildcard",
    "wildcard_credentials": "wildcard_credentials",
    "regex": "regex",
    "defaults": "defaults",
    "complete": "complete",
    "no_authorization_header": "no_authorization_header",
    "expose": "expose",
    "expose_star": "expose_star",
    "max_age_zero": "max_age_zero",
    "raises_get": "raises",
    "raises_put": "raises",
    "no_cors": "no_cors",
    "auth_outside_cors": "auth_outside_cors",
    "trailing_slash": "trailing_slash",
}

# Set by every page before its fetches (see capture.py); ``credentials: 'include'`` requests
# to a ``localhost`` backend from the ``localhost`` page carry it.
SESSION_COOKIE = "sid=harness-session"


@dataclass(frozen=True)
class Reply:
    """One scripted raw-backend response; header lines are sent exactly as listed."""

    status: int = 200
    headers: tuple[Header, ...] = ()
    body: str = ""

    def to_json(self, fill: Mapping[str, str]) -> dict[str, Any]:
        return {
            "status": self.status,
            "headers": [[name, value.format_map(fill)] for name, value in self.headers],
            "body": self.body,
        }


@dataclass(frozen=True)
class Step:
    """The raw backend's answers at one URL (``step=`` query parameter, default ``main``)."""

    actual: Reply | None = None
    preflight: Reply | None = None


@dataclass(frozen=True)
class Case:
    """One fetch(url, fetch_options()) from ``page`` to ``target`` (see the module docstring)."""

    id: str
    expect: str
    target: str = "raw"
    page: str = "localhost"
    path: str = "/data"
    method: str = "GET"
    headers: tuple[Header, ...] = ()
    body: str | None = None
    mode: str = "cors"
    credentials: str = "same-origin"
    redirect: str = "follow"
    # (response header name, value JS should read, or None when it must be hidden)
    read_header: tuple[str, str | None] | None = None
    repeat: int = 1
    # How many preflights Chromium sends over all ``repeat`` runs, when that is the point.
    preflights: int | None = None
    steps: Mapping[str, Step] = field(default_factory=dict)
    departure: str | None = None
    # How the page asks: ``fetch``, ``xhr`` (``withCredentials`` for credentials 'include')
    # or ``img`` (``crossorigin="use-credentials"`` for 'include', else "anonymous").
    via: str = "fetch"
    # False: the page's cookie is cleared around this case, so a credentialed request
    # carries exactly the bytes of an uncredentialed one (browser-views.md).
    cookie: bool = True

    def fetch_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "method": self.method,
            "mode": self.mode,
            "credentials": self.credentials,
            "redirect": self.redirect,
            "headers": [list(h) for h in self.headers],
        }
        if self.body is not None:
            options["body"] = self.body
        return options


# -- header shorthands ---------------------------------------------------------------------


def acao(value: str = "{origin}") -> Header:
    return ("Access-Control-Allow-Origin", value)


def acac(value: str = "true") -> Header:
    return ("Access-Control-Allow-Credentials", value)


def acam(value: str) -> Header:
    return ("Access-Control-Allow-Methods", value)


def acah(value: str) -> Header:
    return ("Access-Control-Allow-Headers", value)


def aceh(value: str) -> Header:
    return ("Access-Control-Expose-Headers", value)


def location(value: str) -> Header:
    return ("Location", value)


def hop(step: str, base: str = "{raw_ip}") -> Header:
    """Location of the next step of the same case."""
    return location(base + "/data?case={id}&step=" + step)


# -- case builders -------------------------------------------------------------------------


def simple(id: str, expect: str, *headers: Header, status: int = 200, **kw: Any) -> Case:
    """A request with no preflight; the raw backend answers with ``headers``."""
    return Case(id, expect, steps={"main": Step(actual=Reply(status, headers, "ok"))}, **kw)


def preflighted(
    id: str,
    expect: str,
    *preflight_headers: Header,
    status: int = 204,
    actual: tuple[Header, ...] = (acao(),),
    method: str = "PUT",
    **kw: Any,
) -> Case:
    """A request that needs a preflight; the raw backend scripts both answers."""
    step = Step(preflight=Reply(status, preflight_headers), actual=Reply(200, actual, "ok"))
    return Case(id, expect, method=method, steps={"main": step}, **kw)


def redirect(id: str, expect: str, first: Reply, *then: tuple[str, Reply], **kw: Any) -> Case:
    """A request answered by ``first`` (a redirect) and then by the named steps."""
    steps = {"main": Step(actual=first)} | {name: Step(actual=r) for name, r in then}
    return Case(id, expect, steps=steps, **kw)


def fastapi(id: str, target: str, expect: str, path: str = "/api/items", **kw: Any) -> Case:
    return Case(id, expect, target=target, path=path, **kw)


INCLUDE: dict[str, Any] = {"credentials": "include"}
JSON_BODY: dict[str, Any] = {
    "headers": (("Content-Type", "application/json"),),
    "body": '{"name": "widget"}',
}
ALLOWED = "allowed"

# -- the cases -----------------------------------------------------------------------------

ACTUAL_ORIGIN_CHECKS = [
    simple("get-acao-origin", ALLOWED, acao()),
    simple("get-acao-star", ALLOWED, acao("*")),
    simple("get-acao-star-padded", ALLOWED, acao("  *  ")),
    simple("get-acao-lowercase-name", ALLOWED, ("access-control-allow-origin", "{origin}")),
    simple("get-acao-on-404", ALLOWED, acao(), status=404),
    simple("get-no-acao", "MissingAllowOriginHeader"),
    simple("get-no-acao-500", "MissingAllowOriginHeader", status=500),
    simple("get-acao-other-origin", "AllowOriginMismatch", acao("http://example.com")),
    simple("get-acao-trailing-slash", "AllowOriginMismatch", acao("{origin}/")),
    simple("get-acao-https", "AllowOriginMismatch", acao("https://localhost:{page_port}")),
    simple("get-acao-null", "AllowOriginMismatch", acao("null")),
    simple("get-acao-uppercase-host", "AllowOriginMismatch", acao("http://LOCALHOST:{page_port}")),
    simple("get-acao-two-lines", "MultipleAllowOriginValues", acao(), acao()),
    simple("get-acao-star-and-origin", "MultipleAllowOriginValues", acao("*"), acao()),
    simple("get-acao-comma", "MultipleAllowOriginValues", acao("{origin}, http://example.com")),
    simple("get-acao-space", "MultipleAllowOriginValues", acao("{origin} http://example.com")),
    simple("get-acao-star-comma-star", "MultipleAllowOriginValues", acao("*, *")),
    simple("get-acao-empty", "InvalidAllowOriginValue", acao("")),
    simple("get-acao-bare-host", "InvalidAllowOriginValue", acao("example.com")),
    # 'localhost:3000' parses as a URL (scheme 'localhost'): a mismatch, not an invalid value.
    simple("get-acao-host-port", "AllowOriginMismatch", acao("localhost:3000")),
]

CREDENTIALED_ACTUAL = [
    simple("cred-exact-acac", ALLOWED, acao(), acac(), **INCLUDE),
    simple("cred-star-acac", "WildcardOriginNotAllowed", acao("*"), acac(), **INCLUDE),
    simple("cred-star-no-acac", "WildcardOriginNotAllowed", acao("*"), **INCLUDE),
    simple("cred-exact-no-acac", "InvalidAllowCredentials", acao(), **INCLUDE),
    simple("cred-exact-acac-True", "InvalidAllowCredentials", acao(), acac("True"), **INCLUDE),
    simple("cred-exact-acac-empty", "InvalidAllowCredentials", acao(), acac(""), **INCLUDE),
    simple(
        "cred-exact-acac-two-lines", "InvalidAllowCredentials", acao(), acac(), acac(), **INCLUDE
    ),
    simple("cred-mismatch-no-acac", "AllowOriginMismatch", acao("http://example.com"), **INCLUDE),
    simple("cred-omit-star-acac", ALLOWED, acao("*"), acac(), credentials="omit"),
    # 127.0.0.1 is another site: no cookie goes with it, yet the mode alone decides.
    simple(
        "cred-no-cookie-star", "WildcardOriginNotAllowed", acao("*"), target="raw_ip", **INCLUDE
    ),
    simple("cred-no-cookie-no-acac", "InvalidAllowCredentials", acao(), target="raw_ip", **INCLUDE),
]

# Credentialed requests with no cookie stored: the wire shows nothing, the browser still
# judges them with credentials. The client connection they came on tells (connections.py).
NO_COOKIE: dict[str, Any] = {"credentials": "include", "cookie": False}
SVG = (("Content-Type", "image/svg+xml"),)
IMAGE = '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'


def image(id: str, expect: str, *headers: Header, **kw: Any) -> Case:
    """An <img crossorigin> of a one-pixel SVG."""
    reply = Reply(200, (*SVG, *headers), IMAGE)
    return Case(id, expect, via="img", steps={"main": Step(actual=reply)}, **kw)


CREDENTIALED_WITHOUT_COOKIE = [
    simple("nocookie-fetch-star", "WildcardOriginNotAllowed", acao("*"), **NO_COOKIE),
    simple("nocookie-fetch-echo", "InvalidAllowCredentials", acao(), **NO_COOKIE),
    simple(
        "nocookie-fetch-acac-True", "InvalidAllowCredentials", acao(), acac("True"), **NO_COOKIE
    ),
    simple("nocookie-fetch-acac-1", "InvalidAllowCredentials", acao(), acac("1"), **NO_COOKIE),
    simple("nocookie-fetch-acac", ALLOWED, acao(), acac(), **NO_COOKIE),
    simple("nocookie-xhr-star", "WildcardOriginNotAllowed", acao("*"), via="xhr", **NO_COOKIE),
    simple("nocookie-xhr-echo", "InvalidAllowCredentials", acao(), via="xhr", **NO_COOKIE),
    simple("nocookie-xhr-acac", ALLOWED, acao(), acac(), via="xhr", **NO_COOKIE),
    image("nocookie-img-star", "WildcardOriginNotAllowed", acao("*"), **NO_COOKIE),
    image("nocookie-img-echo", "InvalidAllowCredentials", acao(), **NO_COOKIE),
    image("nocookie-img-acac", ALLOWED, acao(), acac(), **NO_COOKIE),
    preflighted(
        "nocookie-put-star",
        "PreflightWildcardOriginNotAllowed",
        acao("*"),
        acam("PUT"),
        **NO_COOKIE,
    ),
    preflighted(
        "nocookie-put-echo-no-acac",
        "PreflightInvalidAllowCredentials",
        acao(),
        acam("PUT"),
        **NO_COOKIE,
    ),
    preflighted(
        "nocookie-put-acac",
        ALLOWED,
        acao(),
        acac(),
        acam("PUT"),
        actual=(acao(), acac()),
        **NO_COOKIE,
    ),
    # The same with the cookie stored: now the wire shows it.
    simple("cookie-xhr-star", "WildcardOriginNotAllowed", acao("*"), via="xhr", **INCLUDE),
    image("cookie-img-star", "WildcardOriginNotAllowed", acao("*"), **INCLUDE),
    image("cookie-img-acac", ALLOWED, acao(), acac(), **INCLUDE),
    # Without credentials the same answers pass: the mode alone decides.
    simple("omit-xhr-star", ALLOWED, acao("*"), via="xhr"),
    image("anonymous-img-star", ALLOWED, acao("*")),
    # Real FastAPI apps: a login (no cookie yet) against allow_origins=["*"] (Starlette
    # answers `*`), and a credentialed call to a backend without allow_credentials.
    fastapi("fa-wildcard-login-nocookie", "wildcard", "WildcardOriginNotAllowed", **NO_COOKIE),
    fastapi("fa-defaults-nocookie", "defaults", "InvalidAllowCredentials", **NO_COOKIE),
]

PREFLIGHT_ORIGIN_CHECKS = [
    preflighted("pf-put-204", ALLOWED, acao(), acam("PUT")),
    preflighted("pf-put-200", ALLOWED, acao(), acam("PUT"), status=200),
    preflighted("pf-no-acao", "PreflightMissingAllowOriginHeader", acam("PUT")),
    preflighted(
        "pf-acao-mismatch", "PreflightAllowOriginMismatch", acao("http://example.com"), acam("PUT")
    ),
    preflighted("pf-acao-null", "PreflightAllowOriginMismatch", acao("null"), acam("PUT")),
    preflighted(
        "pf-acao-two-lines", "PreflightMultipleAllowOriginValues", acao(), acao(), acam("PUT")
    ),
    preflighted(
        "pf-acao-comma",
        "PreflightMultipleAllowOriginValues",
        acao("{origin},http://example.com"),
        acam("PUT"),
    ),
    preflighted(
        "pf-acao-bare-host", "PreflightInvalidAllowOriginValue", acao("example.com"), acam("PUT")
    ),
    preflighted("pf-acao-empty", "PreflightInvalidAllowOriginValue", acao(""), acam("PUT")),
    preflighted(
        "pf-cred-ok", ALLOWED, acao(), acac(), acam("PUT"), actual=(acao(), acac()), **INCLUDE
    ),
    preflighted(
        "pf-cred-star",
        "PreflightWildcardOriginNotAllowed",
        acao("*"),
        acac(),
        acam("PUT"),
        **INCLUDE,
    ),
    preflighted(
        "pf-cred-no-acac", "PreflightInvalidAllowCredentials", acao(), acam("PUT"), **INCLUDE
    ),
    preflighted(
        "pf-cred-acac-false",
        "PreflightInvalidAllowCredentials",
        acao(),
        acac("false"),
        acam("PUT"),
        **INCLUDE,
    ),
    preflighted(
        "pf-cred-acac-two-lines",
        "PreflightInvalidAllowCredentials",
        acao(),
        acac(),
        acac(),
        acam("PUT"),
        **INCLUDE,
    ),
    # Without credentials, ACAC is simply ignored.
    preflighted(
        "pf-star-acac-without-credentials",
        ALLOWED,
        acao("*"),
        acac(),
        acam("PUT"),
        actual=(acao("*"), acac()),
    ),
    preflighted(
        "pf-cred-actual-no-acac",
        "InvalidAllowCredentials",
        acao(),
        acac(),
        acam("PUT"),
        actual=(acao(),),
        **INCLUDE,
    ),
    preflighted("pf-ok-actual-no-acao", "MissingAllowOriginHeader", acao(), acam("PUT"), actual=()),
]

PREFLIGHT_STATUS = [
    preflighted("pf-404-with-acao", "PreflightInvalidStatus", acao(), acam("PUT"), status=404),
    preflighted("pf-401-with-acao", "PreflightInvalidStatus", acao(), acam("PUT"), status=401),
    preflighted("pf-500-no-acao", "PreflightMissingAllowOriginHeader", status=500),
    preflighted("pf-302-no-location", "PreflightInvalidStatus", acao(), acam("PUT"), status=302),
    preflighted("pf-304-with-acao", "PreflightInvalidStatus", acao(), acam("PUT"), status=304),
    preflighted("pf-299-with-acao", ALLOWED, acao(), acam("PUT"), status=299),
    preflighted(
        "pf-301-location",
        "PreflightDisallowedRedirect",
        acao(),
        acam("PUT"),
        hop("elsewhere"),
        status=301,
    ),
    preflighted(
        "pf-307-location-no-acao", "PreflightDisallowedRedirect", hop("elsewhere"), status=307
    ),
    preflighted(
        "pf-308-location-same-url",
        "PreflightDisallowedRedirect",
        acao(),
        acam("PUT"),
        location("{raw}/data?case={id}"),
        status=308,
    ),
]

PREFLIGHT_METHODS = [
    preflighted("pf-acam-missing", "MethodDisallowedByPreflightResponse", acao()),
    preflighted(
        "pf-acam-other-methods", "MethodDisallowedByPreflightResponse", acao(), acam("GET, POST")
    ),
    preflighted(
        "pf-patch-lower-vs-upper",
        "MethodDisallowedByPreflightResponse",
        acao(),
        acam("PATCH"),
        method="patch",
    ),
    preflighted("pf-patch-lower-listed", ALLOWED, acao(), acam("patch"), method="patch"),
    preflighted("pf-patch-upper", ALLOWED, acao(), acam("GET, PATCH"), method="PATCH"),
    # fetch() upper-cases put/delete/... itself, so 'put' needs only 'PUT'.
    preflighted("pf-put-lower-normalised", ALLOWED, acao(), acam("PUT"), method="put"),
    preflighted(
        "pf-acam-lowercase-put", "MethodDisallowedByPreflightResponse", acao(), acam("put")
    ),
    preflighted("pf-acam-star", ALLOWED, acao(), acam("*"), method="DELETE"),
    preflighted(
        "pf-acam-star-cred",
        "MethodDisallowedByPreflightResponse",
        acao(),
        acac(),
        acam("*"),
        method="DELETE",
        **INCLUDE,
    ),
    preflighted(
        "pf-acam-star-and-delete-cred",
        ALLOWED,
        acao(),
        acac(),
        acam("*, DELETE"),
        actual=(acao(), acac()),
        method="DELETE",
        **INCLUDE,
    ),
    preflighted("pf-acam-empty-items", ALLOWED, acao(), acam("GET,,PUT,")),
    preflighted("pf-acam-two-lines", ALLOWED, acao(), acam("GET"), acam("PUT")),
    # An OPTIONS fetch is preflighted too: the engine must tell the two OPTIONS apart.
    preflighted(
        "pf-method-options", ALLOWED, acao(), acam("OPTIONS"), method="OPTIONS", preflights=1
    ),
    preflighted(
        "pf-acam-not-token", "InvalidAllowMethodsPreflightResponse", acao(), acam("PUT, GET POST")
    ),
    preflighted(
        "pf-acam-bad-char", "InvalidAllowMethodsPreflightResponse", acao(), acam("PUT, (DELETE)")
    ),
]

X_CUSTOM: dict[str, Any] = {"method": "GET", "headers": (("X-Custom", "1"),)}
AUTHORIZATION: dict[str, Any] = {"method": "GET", "headers": (("Authorization", "Bearer t"),)}

PREFLIGHT_HEADERS = [
    preflighted("pf-acah-missing", "HeaderDisallowedByPreflightResponse", acao(), **X_CUSTOM),
    preflighted("pf-acah-listed", ALLOWED, acao(), acah("X-Custom"), **X_CUSTOM),
    preflighted("pf-acah-listed-other-case", ALLOWED, acao(), acah("x-CUSTOM"), **X_CUSTOM),
    preflighted(
        "pf-acah-partial",
        "HeaderDisallowedByPreflightResponse",
        acao(),
        acah("X-A"),
        method="GET",
        headers=(("X-A", "1"), ("X-B", "2")),
    ),
    preflighted("pf-acah-star", ALLOWED, acao(), acah("*"), **X_CUSTOM),
    preflighted(
        "pf-acah-star-cred",
        "HeaderDisallowedByPreflightResponse",
        acao(),
        acac(),
        acah("*"),
        **X_CUSTOM,
        **INCLUDE,
    ),
    preflighted(
        "pf-acah-star-authorization",
        ALLOWED,
        acao(),
        acah("*"),
        **AUTHORIZATION,
        departure="Fetch: Authorization is a CORS non-wildcard request-header name, never "
        "covered by Access-Control-Allow-Headers: *; Chromium 156 lets it through",
    ),
    preflighted(
        "pf-acah-star-authorization-cred",
        "HeaderDisallowedByPreflightResponse",
        acao(),
        acac(),
        acah("*"),
        **AUTHORIZATION,
        **INCLUDE,
    ),
    preflighted("pf-acah-authorization", ALLOWED, acao(), acah("authorization"), **AUTHORIZATION),
    preflighted(
        "pf-acah-not-token",
        "InvalidAllowHeadersPreflightResponse",
        acao(),
        acah("X-Custom, bad header"),
        **X_CUSTOM,
    ),
    preflighted(
        "pf-json-listed",
        ALLOWED,
        acao(),
        acah("Content-Type"),
        acam("POST"),
        method="POST",
        **JSON_BODY,
    ),
    preflighted(
        "pf-json-not-listed",
        "HeaderDisallowedByPreflightResponse",
        acao(),
        method="POST",
        **JSON_BODY,
    ),
]


def header_case(id: str, expect: str, *pf: Header, method: str = "GET", **kw: Any) -> Case:
    """Safelist edge.  With no preflight scripted (no ``pf``), an unexpected preflight gets
    the raw backend's 404 and shows up as a PreflightMissingAllowOriginHeader block."""
    if pf:
        return preflighted(id, expect, acao(), *pf, method=method, **kw)
    return simple(id, expect, acao(), method=method, **kw)


def one(name: str, value: str) -> tuple[Header, ...]:
    return ((name, value),)


def content_type_probe(id: str, content_type: str, preflights: int) -> Case:
    """The backend allows the POST with or without a preflight; whether one is sent is the point."""
    return preflighted(
        id,
        ALLOWED,
        acao(),
        acam("POST"),
        acah("Content-Type"),
        method="POST",
        body="hello",
        headers=one("Content-Type", content_type),
        preflights=preflights,
    )


SAFELIST = [
    header_case("sl-range-simple", ALLOWED, headers=one("Range", "bytes=0-"), preflights=0),
    header_case(
        "sl-range-suffix", ALLOWED, acah("Range"), headers=one("Range", "bytes=-5"), preflights=1
    ),
    header_case(
        "sl-range-suffix-unlisted",
        "HeaderDisallowedByPreflightResponse",
        acam("GET"),
        headers=one("Range", "bytes=-5"),
    ),
    header_case(
        "sl-range-two-ranges",
        "HeaderDisallowedByPreflightResponse",
        acam("GET"),
        headers=one("Range", "bytes=0-1,3-4"),
    ),
    header_case(
        "sl-accept-language",
        ALLOWED,
        headers=one("Accept-Language", "en-US,en;q=0.9"),
        preflights=0,
    ),
    header_case(
        "sl-accept-language-underscore",
        "HeaderDisallowedByPreflightResponse",
        acam("GET"),
        headers=one("Accept-Language", "en_US"),
    ),
    header_case(
        "sl-content-language", ALLOWED, headers=one("Content-Language", "de-DE"), preflights=0
    ),
    header_case(
        "sl-content-language-parens",
        "HeaderDisallowedByPreflightResponse",
        acam("GET"),
        headers=one("Content-Language", "de(DE)"),
    ),
    header_case("sl-accept-128-bytes", ALLOWED, headers=one("Accept", "a" * 128), preflights=0),
    header_case(
        "sl-accept-129-bytes",
        "HeaderDisallowedByPreflightResponse",
        acam("GET"),
        headers=one("Accept", "a" * 129),
    ),
    header_case(
        "sl-accept-language-129-bytes",
        ALLOWED,
        acah("accept-language"),
        headers=one("Accept-Language", ("en-US," * 22)[:129]),
        preflights=1,
    ),
    header_case(
        "sl-accept-unsafe-byte",
        "HeaderDisallowedByPreflightResponse",
        acam("GET"),
        headers=one("Accept", "text/html(1)"),
    ),
    header_case(
        "sl-post-text-plain",
        ALLOWED,
        method="POST",
        body="hello",
        headers=one("Content-Type", "text/plain;charset=UTF-8"),
        preflights=0,
    ),
    header_case(
        "sl-post-form",
        ALLOWED,
        method="POST",
        body="a=1",
        headers=one("Content-Type", "application/x-www-form-urlencoded"),
        preflights=0,
    ),
    header_case(
        "sl-post-multipart",
        ALLOWED,
        method="POST",
        body="--x--",
        headers=one("Content-Type", "multipart/form-data; boundary=x"),
        preflights=0,
    ),
    header_case("sl-post-default-content-type", ALLOWED, method="POST", body="hello", preflights=0),
    header_case(
        "sl-post-two-mime-types",
        "HeaderDisallowedByPreflightResponse",
        acam("POST"),
        method="POST",
        body="hello",
        headers=one("Content-Type", "text/plain, application/json"),
    ),
    header_case("sl-head", ALLOWED, method="HEAD", preflights=0),
    content_type_probe("sl-content-type-upper-case", "TEXT/PLAIN", preflights=0),
    content_type_probe("sl-content-type-trailing-semicolon", "text/plain;", preflights=0),
    content_type_probe("sl-content-type-space-before-slash", "text /plain", preflights=1),
    # '"' is a CORS-unsafe request-header byte, whatever the MIME parser makes of it.
    content_type_probe("sl-content-type-unclosed-quote", 'text/plain;charset="', preflights=1),
    header_case(
        "sl-dpr-client-hint",
        ALLOWED,
        headers=one("DPR", "2"),
        preflights=0,
        departure="Fetch safelists only Accept, Accept-Language, Content-Language, "
        "Content-Type and Range; Chromium also safelists client hints such "
        "as DPR, so no preflight is sent",
    ),
]

X_TOTAL = "X-Total-Count"
EXPOSE = [
    simple("expose-none", ALLOWED, acao(), (X_TOTAL, "5"), read_header=(X_TOTAL, None)),
    simple(
        "expose-listed", ALLOWED, acao(), (X_TOTAL, "5"), aceh(X_TOTAL), read_header=(X_TOTAL, "5")
    ),
    simple("expose-star", ALLOWED, acao(), (X_TOTAL, "5"), aceh("*"), read_header=(X_TOTAL, "5")),
    simple(
        "expose-star-cred",
        ALLOWED,
        acao(),
        acac(),
        (X_TOTAL, "5"),
        aceh("*"),
        read_header=(X_TOTAL, None),
        **INCLUDE,
    ),
    simple(
        "expose-safelisted",
        ALLOWED,
        acao(),
        ("Content-Language", "fr"),
        read_header=("Content-Language", "fr"),
    ),
    simple(
        "expose-star-and-name-cred",
        ALLOWED,
        acao(),
        acac(),
        (X_TOTAL, "5"),
        aceh("*, X-Total-Count"),
        read_header=(X_TOTAL, "5"),
        **INCLUDE,
    ),
    simple(
        "expose-set-cookie",
        ALLOWED,
        acao(),
        ("Set-Cookie", "other=1; Path=/"),
        aceh("Set-Cookie"),
        read_header=("Set-Cookie", None),
    ),
]

NO_CORS = [
    simple("nocors-get-no-acao", "opaque", mode="no-cors"),
    simple("nocors-post-text", "opaque", method="POST", body="hello", mode="no-cors"),
    simple("nocors-get-cred", "opaque", mode="no-cors", **INCLUDE),
    redirect(
        "nocors-redirect-cross-origin",
        "opaque",
        Reply(302, (hop("two"),)),
        ("two", Reply(200, (), "ok")),
        mode="no-cors",
    ),
]

SAME_ORIGIN = [
    simple("same-get", ALLOWED, target="same"),
    simple(
        "same-put-custom-header", ALLOWED, target="same", method="PUT", headers=one("X-Custom", "1")
    ),
    simple("same-post-json", ALLOWED, target="same", method="POST", **JSON_BODY),
    simple("same-get-ip-page", ALLOWED, target="same", page="ip"),
    # Same-origin first, then a cross-origin hop, which is CORS-checked.
    redirect(
        "same-redirect-to-cross-origin",
        ALLOWED,
        Reply(302, (hop("two", "{raw}"),)),
        ("two", Reply(200, (acao(),), "ok")),
        target="same",
    ),
]

REDIRECTS = [
    redirect(
        "redir-cross-origin-then-star",
        ALLOWED,
        Reply(302, (acao(), hop("two"))),
        ("two", Reply(200, (acao("*"),), "ok")),
    ),
    redirect(
        "redir-cross-origin-then-null",
        ALLOWED,
        Reply(302, (acao(), hop("two"))),
        ("two", Reply(200, (acao("null"),), "ok")),
    ),
    redirect(
        "redir-cross-origin-then-origin",
        "AllowOriginMismatch",
        Reply(302, (acao(), hop("two"))),
        ("two", Reply(200, (acao(),), "ok")),
    ),
    redirect(
        "redir-no-acao-on-redirect",
        "MissingAllowOriginHeader",
        Reply(302, (hop("two"),)),
        ("two", Reply(200, (acao("*"),), "ok")),
    ),
    redirect(
        "redir-same-backend-keeps-origin",
        ALLOWED,
        Reply(301, (acao(), hop("two", "{raw}"))),
        ("two", Reply(200, (acao(),), "ok")),
    ),
    redirect(
        "redir-back-to-page-origin-no-acao",
        "MissingAllowOriginHeader",
        Reply(302, (acao(), hop("two", "{page}"))),
        ("two", Reply(200, (), "ok")),
    ),
    redirect(
        "redir-back-to-page-origin-null",
        ALLOWED,
        Reply(302, (acao(), hop("two", "{page}"))),
        ("two", Reply(200, (acao("null"),), "ok")),
    ),
    redirect(
        "redir-userinfo-cross-origin",
        "RedirectContainsCredentials",
        Reply(302, (acao(), location("http://user:pass@127.0.0.1:{raw_port}/data?case={id}"))),
    ),
    redirect(
        "redir-userinfo-same-backend",
        "RedirectContainsCredentials",
        Reply(302, (acao(), location("http://user:pass@localhost:{raw_port}/data?case={id}"))),
    ),
    redirect(
        "redir-cred-then-star",
        "WildcardOriginNotAllowed",
        Reply(302, (acao(), acac(), hop("two", "{page}"))),
        ("two", Reply(200, (acao("*"), acac()), "ok")),
        **INCLUDE,
    ),
    redirect(
        "redir-cred-then-null-acac",
        ALLOWED,
        Reply(302, (acao(), acac(), hop("two", "{page}"))),
        ("two", Reply(200, (acao("null"), acac()), "ok")),
        **INCLUDE,
    ),
    redirect(
        "redir-303-post-to-get",
        ALLOWED,
        Reply(303, (acao(), hop("two"))),
        ("two", Reply(200, (acao("*"),), "ok")),
        method="POST",
        body="hello",
    ),
    redirect(
        "redir-manual-with-acao", ALLOWED, Reply(302, (acao(), hop("two"))), redirect="manual"
    ),
    redirect(
        "redir-manual-no-acao",
        "MissingAllowOriginHeader",
        Reply(302, (hop("two"),)),
        redirect="manual",
    ),
    redirect("redir-error-mode", "failed", Reply(302, (acao(), hop("two"))), redirect="error"),
    redirect("redir-to-data-url", "failed", Reply(302, (acao(), location("data:text/plain,hi")))),
    Case(
        "redir-preflight-again-after-redirect",
        ALLOWED,
        method="PUT",
        preflights=2,
        steps={
            "main": Step(
                preflight=Reply(204, (acao(), acam("PUT"))), actual=Reply(307, (acao(), hop("two")))
            ),
            "two": Step(
                preflight=Reply(204, (acao("null"), acam("PUT"))),
                actual=Reply(200, (acao("null"),), "ok"),
            ),
        },
    ),
    # Firefox's second preflight carries the page's origin and its actual request `null`:
    # the two must still be paired (Chromium sends `null` on both).
    Case(
        "redir-preflight-again-star",
        ALLOWED,
        method="PUT",
        preflights=2,
        steps={
            "main": Step(
                preflight=Reply(204, (acao(), acam("PUT"))), actual=Reply(307, (acao(), hop("two")))
            ),
            "two": Step(
                preflight=Reply(204, (acao("*"), acam("PUT"))),
                actual=Reply(200, (acao("*"),), "ok"),
            ),
        },
    ),
    Case(
        "redir-too-many",
        "failed",
        steps={
            "main" if n == 0 else f"s{n}": Step(
                actual=Reply(302, (acao(), hop(f"s{n + 1}", "{raw}")))
            )
            for n in range(22)
        },
    ),
]

PREFLIGHT_CACHE = [
    preflighted(
        "cache-max-age-60",
        ALLOWED,
        acao(),
        acam("PUT"),
        ("Access-Control-Max-Age", "60"),
        repeat=2,
        preflights=1,
    ),
    preflighted("cache-no-max-age", ALLOWED, acao(), acam("PUT"), repeat=2, preflights=1),
    preflighted(
        "cache-max-age-0",
        ALLOWED,
        acao(),
        acam("PUT"),
        ("Access-Control-Max-Age", "0"),
        repeat=2,
        preflights=2,
    ),
    # Falls back to the 5 s default: the second fetch reuses the first preflight.
    preflighted(
        "cache-max-age-not-a-number",
        ALLOWED,
        acao(),
        acam("PUT"),
        ("Access-Control-Max-Age", "ten"),
        repeat=2,
        preflights=1,
    ),
    preflighted(
        "cache-max-age-negative",
        ALLOWED,
        acao(),
        acam("PUT"),
        ("Access-Control-Max-Age", "-1"),
        repeat=2,
        preflights=2,
        departure="Fetch: '-1' is not delta-seconds, so max-age falls back to 5 s and the "
        "second fetch reuses the preflight; Chromium parses it as an integer, treats it as "
        "0 and preflights again",
    ),
]

FILE_PAGE: dict[str, Any] = {"page": "file"}
OPAQUE_ORIGIN = [
    simple("file-acao-null", ALLOWED, acao("null"), **FILE_PAGE),
    simple("file-acao-star", ALLOWED, acao("*"), **FILE_PAGE),
    simple("file-no-acao", "MissingAllowOriginHeader", **FILE_PAGE),
    simple("file-acao-file-scheme", "AllowOriginMismatch", acao("file://"), **FILE_PAGE),
    preflighted(
        "file-put-acao-null",
        ALLOWED,
        acao("null"),
        acam("PUT"),
        actual=(acao("null"),),
        **FILE_PAGE,
    ),
    preflighted(
        "file-put-acao-star", ALLOWED, acao("*"), acam("PUT"), actual=(acao("*"),), **FILE_PAGE
    ),
    simple("file-cred-null-acac", ALLOWED, acao("null"), acac(), **FILE_PAGE, **INCLUDE),
    simple("file-cred-star", "WildcardOriginNotAllowed", acao("*"), acac(), **FILE_PAGE, **INCLUDE),
    fastapi("file-fastapi-exact", "exact", "MissingAllowOriginHeader", **FILE_PAGE),
    fastapi("file-fastapi-wildcard", "wildcard", ALLOWED, **FILE_PAGE),
    fastapi(
        "file-fastapi-wildcard-credentials", "wildcard_credentials", ALLOWED, **FILE_PAGE, **INCLUDE
    ),
    fastapi(
        "file-fastapi-exact-put",
        "exact",
        "PreflightMissingAllowOriginHeader",
        path="/api/items/1",
        method="PUT",
        **JSON_BODY,
        **FILE_PAGE,
    ),
]

IP_PAGE: dict[str, Any] = {"page": "ip"}
LOCALHOST_VS_IP = [
    fastapi("ip-fastapi-exact-get", "exact", "MissingAllowOriginHeader", **IP_PAGE),
    fastapi(
        "ip-fastapi-exact-put",
        "exact",
        "PreflightMissingAllowOriginHeader",
        path="/api/items/1",
        method="PUT",
        **JSON_BODY,
        **IP_PAGE,
    ),
    fastapi("ip-fastapi-regex-get", "regex", "MissingAllowOriginHeader", **IP_PAGE),
    simple("ip-raw-acao-localhost", "AllowOriginMismatch", acao("{page}"), **IP_PAGE),
    simple("ip-raw-acao-origin", ALLOWED, acao(), **IP_PAGE),
    simple("ip-page-to-localhost-same-port", ALLOWED, acao(), target="page", **IP_PAGE),
]

ITEM_1: dict[str, Any] = {"path": "/api/items/1"}
FASTAPI = [
    # exact origin, credentials, methods/headers '*' (the React tutorial)
    fastapi("fa-exact-get", "exact", ALLOWED),
    fastapi("fa-exact-post-json", "exact", ALLOWED, method="POST", **JSON_BODY),
    fastapi(
        "fa-exact-put-cred-auth",
        "exact",
        ALLOWED,
        method="PUT",
        **ITEM_1,
        body=JSON_BODY["body"],
        headers=(("Content-Type", "application/json"), ("Authorization", "Bearer t")),
        **INCLUDE,
    ),
    fastapi("fa-exact-delete", "exact", ALLOWED, method="DELETE", **ITEM_1),
    fastapi("fa-exact-patch-upper", "exact", ALLOWED, method="PATCH", **ITEM_1, **JSON_BODY),
    fastapi(
        "fa-exact-patch-lower",
        "exact",
        "PreflightInvalidStatus",
        method="patch",
        **ITEM_1,
        **JSON_BODY,
    ),
    fastapi("fa-exact-cred-get-me", "exact", ALLOWED, path="/api/me", **INCLUDE),
    # A simple text/plain POST to a JSON route: FastAPI's 422 still carries the CORS headers.
    fastapi("fa-exact-text-plain-json-422", "exact", ALLOWED, method="POST", body="not json"),
    fastapi("fa-exact-http-404", "exact", ALLOWED, path="/api/items/999"),
    fastapi("fa-exact-slash-redirect-get", "exact", ALLOWED, path="/items"),
    fastapi(
        "fa-exact-slash-redirect-post-json",
        "exact",
        ALLOWED,
        path="/items",
        method="POST",
        **JSON_BODY,
    ),
    # allow_origins=['*']
    fastapi("fa-wildcard-get", "wildcard", ALLOWED),
    fastapi("fa-wildcard-cred-get", "wildcard", "WildcardOriginNotAllowed", **INCLUDE),
    fastapi("fa-wildcard-put-json", "wildcard", ALLOWED, method="PUT", **ITEM_1, **JSON_BODY),
    fastapi(
        "fa-wildcard-put-cred",
        "wildcard",
        "PreflightWildcardOriginNotAllowed",
        method="PUT",
        **ITEM_1,
        **JSON_BODY,
        **INCLUDE,
    ),
    fastapi("fa-wildcard-authorization", "wildcard", ALLOWED, **AUTHORIZATION),
    # allow_origins=['*'] + allow_credentials=True (Starlette >= 1.0 echoes the origin)
    fastapi("fa-wildcard-credentials-cred-get", "wildcard_credentials", ALLOWED, **INCLUDE),
    fastapi(
        "fa-wildcard-credentials-put-cred",
        "wildcard_credentials",
        ALLOWED,
        method="PUT",
        **ITEM_1,
        **JSON_BODY,
        **INCLUDE,
    ),
    # allow_origin_regex
    fastapi("fa-regex-get", "regex", ALLOWED),
    fastapi("fa-regex-put-cred", "regex", ALLOWED, method="PUT", **ITEM_1, **JSON_BODY, **INCLUDE),
    # only allow_origins: methods default to GET, no extra headers
    fastapi("fa-defaults-get", "defaults", ALLOWED),
    fastapi(
        "fa-defaults-put", "defaults", "PreflightInvalidStatus", method="PUT", **ITEM_1, **JSON_BODY
    ),
    fastapi(
        "fa-defaults-post-json", "defaults", "PreflightInvalidStatus", method="POST", **JSON_BODY
    ),
    fastapi("fa-defaults-custom-header", "defaults", "PreflightInvalidStatus", **X_CUSTOM),
    fastapi("fa-defaults-cred-get", "defaults", "InvalidAllowCredentials", **INCLUDE),
    fastapi("fa-defaults-post-text", "defaults", ALLOWED, method="POST", body="not json"),
    # the tutorial's complete example
    fastapi(
        "fa-complete-put-auth",
        "complete",
        ALLOWED,
        method="PUT",
        **ITEM_1,
        body=JSON_BODY["body"],
        headers=(("Content-Type", "application/json"), ("Authorization", "Bearer t")),
    ),
    fastapi(
        "fa-complete-patch",
        "complete",
        "PreflightInvalidStatus",
        method="PATCH",
        **ITEM_1,
        **JSON_BODY,
    ),
    fastapi(
        "fa-complete-other-header",
        "complete",
        "PreflightInvalidStatus",
        headers=one("X-Other", "1"),
    ),
    fastapi(
        "fa-complete-read-exposed", "complete", ALLOWED, read_header=("X-Custom-Header", "custom")
    ),
    fastapi("fa-complete-read-unexposed", "complete", ALLOWED, read_header=(X_TOTAL, None)),
    fastapi(
        "fa-complete-cache", "complete", ALLOWED, method="DELETE", **ITEM_1, repeat=2, preflights=1
    ),
    # allow_headers without Authorization
    fastapi(
        "fa-no-authorization-header",
        "no_authorization_header",
        "PreflightInvalidStatus",
        **AUTHORIZATION,
    ),
    fastapi(
        "fa-no-authorization-header-custom",
        "no_authorization_header",
        ALLOWED,
        headers=one("X-Custom-Header", "1"),
    ),
    # expose_headers
    fastapi("fa-expose-read", "expose", ALLOWED, read_header=(X_TOTAL, "2")),
    fastapi("fa-expose-read-unexposed", "expose", ALLOWED, read_header=("X-Secret", None)),
    fastapi("fa-expose-star-omit", "expose_star", ALLOWED, read_header=(X_TOTAL, "2")),
    fastapi("fa-expose-star-cred", "expose_star", ALLOWED, read_header=(X_TOTAL, None), **INCLUDE),
    # max_age=0
    fastapi(
        "fa-max-age-zero",
        "max_age_zero",
        ALLOWED,
        method="DELETE",
        **ITEM_1,
        repeat=2,
        preflights=2,
    ),
    # unhandled exception -> 500 from ServerErrorMiddleware, outside CORS
    fastapi("fa-raises-get", "raises_get", "MissingAllowOriginHeader", path="/api/boom"),
    fastapi(
        "fa-raises-put", "raises_put", "MissingAllowOriginHeader", path="/api/boom", method="PUT"
    ),
    # no CORSMiddleware
    fastapi("fa-no-cors-get", "no_cors", "MissingAllowOriginHeader"),
    fastapi(
        "fa-no-cors-put-405",
        "no_cors",
        "PreflightMissingAllowOriginHeader",
        method="PUT",
        **ITEM_1,
        **JSON_BODY,
    ),
    fastapi(
        "fa-no-cors-slash-preflight-307",
        "no_cors",
        "PreflightDisallowedRedirect",
        path="/items",
        method="POST",
        **JSON_BODY,
    ),
    fastapi(
        "fa-no-cors-post-text",
        "no_cors",
        "MissingAllowOriginHeader",
        method="POST",
        body="not json",
    ),
    fastapi("fa-no-cors-mode-no-cors", "no_cors", "opaque", mode="no-cors"),
    # auth middleware outside CORS
    fastapi(
        "fa-auth-outside-put-auth",
        "auth_outside_cors",
        "PreflightMissingAllowOriginHeader",
        method="PUT",
        **ITEM_1,
        body=JSON_BODY["body"],
        headers=(("Content-Type", "application/json"), ("Authorization", "Bearer t")),
    ),
    fastapi("fa-auth-outside-get-401", "auth_outside_cors", "MissingAllowOriginHeader"),
    fastapi("fa-auth-outside-cred-cookie", "auth_outside_cors", ALLOWED, path="/api/me", **INCLUDE),
    # "http://localhost:3000/" in allow_origins
    fastapi("fa-trailing-slash-get", "trailing_slash", "MissingAllowOriginHeader"),
    fastapi(
        "fa-trailing-slash-put",
        "trailing_slash",
        "PreflightMissingAllowOriginHeader",
        method="PUT",
        **ITEM_1,
        **JSON_BODY,
    ),
]

CASES: list[Case] = [
    *ACTUAL_ORIGIN_CHECKS,
    *CREDENTIALED_ACTUAL,
    *CREDENTIALED_WITHOUT_COOKIE,
    *PREFLIGHT_ORIGIN_CHECKS,
    *PREFLIGHT_STATUS,
    *PREFLIGHT_METHODS,
    *PREFLIGHT_HEADERS,
    *SAFELIST,
    *EXPOSE,
    *NO_CORS,
    *SAME_ORIGIN,
    *REDIRECTS,
    *PREFLIGHT_CACHE,
    *OPAQUE_ORIGIN,
    *LOCALHOST_VS_IP,
    *FASTAPI,
]
CASES_BY_ID: dict[str, Case] = {case.id: case for case in CASES}
assert len(CASES_BY_ID) == len(CASES), "case ids must be unique"
