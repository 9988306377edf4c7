"""The stories a FastAPI developer meets, as small page sessions for ``sample_flows/``.

A story is one browser run (``capture.run_capture``) of a few fetches from one page against
its own backends: ``scripts/make_sample_flows.py`` records each and writes the samples.
Fetches are ordinary ``Case`` objects (see cases.py) with ids local to the story; the
backend instance names map to apps in apps.py.  ``expect`` is what Chromium 156 was seen
to decide, and the script refuses to write samples whose story Chromium told differently.
Texts say "the page's origin" rather than a port: ports change with every run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from .cases import (
    ALLOWED,
    AUTHORIZATION,
    INCLUDE,
    ITEM_1,
    JSON_BODY,
    NO_COOKIE,
    X_TOTAL,
    Case,
    acac,
    acam,
    acao,
    fastapi,
    one,
    preflighted,
    simple,
)


@dataclass(frozen=True)
class Story:
    id: str
    page_did: str
    fix: str
    backends: Mapping[str, str]  # backend instance -> app name in apps.py
    fetches: tuple[Case, ...]  # run in this order

    @property
    def cases(self) -> list[Case]:
        """The fetches with story-qualified ids: flows of different stories never mix."""
        return [replace(case, id=f"{self.id}.{case.id}") for case in self.fetches]


JSON_POST: dict[str, Any] = {"method": "POST", **JSON_BODY}
JSON_PUT: dict[str, Any] = {"method": "PUT", **ITEM_1, **JSON_BODY}
JSON_AUTH_PUT: dict[str, Any] = {
    "method": "PUT",
    **ITEM_1,
    "body": JSON_BODY["body"],
    "headers": (("Content-Type", "application/json"), ("Authorization", "Bearer t")),
}
# nginx's `add_header Access-Control-Allow-Origin *` on top of the app's own header.
NGINX_AND_APP = (acao("*"), acao())

STORIES: list[Story] = [
    Story(
        "missing-middleware",
        page_did="Lists items (GET /api/items) and saves one (PUT /api/items/1, JSON) against "
        "a FastAPI app with no CORSMiddleware at all.",
        fix="app.add_middleware(CORSMiddleware, allow_origins=[<the page's origin>], "
        "allow_methods=['*'], allow_headers=['*']); the 405 to OPTIONS is FastAPI's router "
        "saying nothing answers preflights.",
        backends={"api": "no_cors"},
        fetches=(
            fastapi("list-items", "api", "MissingAllowOriginHeader"),
            fastapi("update-item", "api", "PreflightMissingAllowOriginHeader", **JSON_PUT),
        ),
    ),
    Story(
        "origin-not-listed",
        page_did="Lists and creates items (GET, then POST JSON to /api/items) from a page "
        "served on another port than the allow_origins=['http://localhost:3000'] the API "
        "lists (e.g. Vite's dev server instead of Create React App's).",
        fix="List the page's exact origin (scheme://host:port) in allow_origins, e.g. read "
        "from an environment variable per deployment.",
        backends={"api": "hardcoded_origin"},
        fetches=(
            fastapi("list-items", "api", "MissingAllowOriginHeader"),
            fastapi("create-item", "api", "PreflightMissingAllowOriginHeader", **JSON_POST),
        ),
    ),
    Story(
        "origin-trailing-slash",
        page_did="Lists items and saves one (PUT JSON) against an API configured with the "
        "origin pasted from the address bar: allow_origins=['http://localhost:<port>/'].",
        fix="Drop the trailing slash: an origin is scheme://host:port and Starlette compares "
        "it byte for byte with the Origin header.",
        backends={"api": "trailing_slash"},
        fetches=(
            fastapi("list-items", "api", "MissingAllowOriginHeader"),
            fastapi("update-item", "api", "PreflightMissingAllowOriginHeader", **JSON_PUT),
        ),
    ),
    Story(
        "localhost-vs-127",
        page_did="The page is opened as http://127.0.0.1:<port> while allow_origins lists "
        "http://localhost:<port>; it lists items and saves one (PUT JSON).",
        fix="Open the page at the origin the API lists, or list both origins: localhost and "
        "127.0.0.1 are different origins to the browser.",
        backends={"api": "exact"},
        fetches=(
            fastapi("list-items", "api", "MissingAllowOriginHeader", page="ip"),
            fastapi(
                "update-item", "api", "PreflightMissingAllowOriginHeader", page="ip", **JSON_PUT
            ),
        ),
    ),
    Story(
        "wildcard-with-credentials",
        page_did="Against allow_origins=['*'] (no allow_credentials), lists items without "
        "credentials, then asks who the user is (GET /api/me) and saves an item (PUT JSON), "
        "both with credentials: 'include' to send the session cookie.",
        fix="allow_origins=[<the page's origin>] with allow_credentials=True: a credentialed "
        "response must name the origin and say Access-Control-Allow-Credentials: true, "
        "never '*'.",
        backends={"api": "wildcard"},
        fetches=(
            fastapi("list-items", "api", ALLOWED),
            fastapi("who-am-i", "api", "WildcardOriginNotAllowed", path="/api/me", **INCLUDE),
            fastapi(
                "update-item", "api", "PreflightWildcardOriginNotAllowed", **JSON_PUT, **INCLUDE
            ),
        ),
    ),
    Story(
        "header-not-allowed",
        page_did="Lists items three times with an extra request header, against "
        "allow_headers=['Content-Type', 'X-Custom-Header']: X-Custom-Header, then "
        "Authorization: Bearer ..., then X-Request-ID.",
        fix="Add the headers the page sends to allow_headers (['Authorization', "
        "'X-Custom-Header', 'X-Request-ID']); Starlette answers the preflight 400 "
        "'Disallowed CORS headers', which Chromium reports as a non-OK preflight status.",
        backends={"api": "no_authorization_header"},
        fetches=(
            fastapi("custom-header", "api", ALLOWED, headers=one("X-Custom-Header", "1")),
            fastapi("authorization", "api", "PreflightInvalidStatus", **AUTHORIZATION),
            fastapi(
                "request-id", "api", "PreflightInvalidStatus", headers=one("X-Request-ID", "1")
            ),
        ),
    ),
    Story(
        "method-not-allowed",
        page_did="Against a CORSMiddleware with only allow_origins (allow_methods defaults to "
        "GET), lists items, saves one (PUT) and deletes one (DELETE); then, against "
        "allow_methods=['*'], sends method: 'patch' in lower case and method: 'PATCH'.",
        fix="allow_methods=['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] (or ['*']), and write "
        "'PATCH' in upper case: fetch() upper-cases only DELETE, GET, HEAD, OPTIONS, POST and "
        "PUT, and methods are compared case-sensitively.",
        backends={"api": "defaults", "api_all_methods": "exact"},
        fetches=(
            fastapi("list-items", "api", ALLOWED),
            fastapi("update-item", "api", "PreflightInvalidStatus", **JSON_PUT),
            fastapi("delete-item", "api", "PreflightInvalidStatus", method="DELETE", **ITEM_1),
            fastapi(
                "patch-lower-case",
                "api_all_methods",
                "PreflightInvalidStatus",
                method="patch",
                **ITEM_1,
                **JSON_BODY,
            ),
            fastapi(
                "patch-upper-case",
                "api_all_methods",
                ALLOWED,
                method="PATCH",
                **ITEM_1,
                **JSON_BODY,
            ),
        ),
    ),
    Story(
        "server-error-500",
        page_did="Lists items, asks for a missing one (404 from HTTPException), then calls a "
        "route that raises (PUT /api/boom) on an API with a correct CORSMiddleware.",
        fix="Fix the exception (see the server log) or turn it into an HTTPException: "
        "ServerErrorMiddleware's 500 is sent from outside CORSMiddleware, so it never carries "
        "CORS headers, and the browser reports a CORS error instead of the 500.",
        backends={"api": "raises"},
        fetches=(
            fastapi("list-items", "api", ALLOWED),
            fastapi("missing-item", "api", ALLOWED, path="/api/items/999"),
            # Last: uvicorn closes the connection after the unhandled exception.
            fastapi(
                "boom",
                "api",
                "MissingAllowOriginHeader",
                path="/api/boom",
                method="PUT",
                **JSON_BODY,
            ),
        ),
    ),
    Story(
        "preflight-redirect",
        page_did="Creates an item with POST /items (JSON) while the route is /items/, against "
        "a FastAPI app without CORSMiddleware: redirect_slashes answers the preflight 307.",
        fix="Call the route's exact path (/items/) and add CORSMiddleware, which answers "
        "preflights before routing; a preflight may never be redirected.",
        backends={"api": "no_cors"},
        fetches=(
            fastapi(
                "create-item", "api", "PreflightDisallowedRedirect", path="/items", **JSON_POST
            ),
        ),
    ),
    Story(
        "null-origin-file",
        page_did="The CRUD page opened from a file:// URL (Origin: null) lists items and saves "
        "one (PUT JSON) against allow_origins=['http://localhost:<port>'].",
        fix="Serve the page over HTTP (e.g. python -m http.server 3000) and list that origin; "
        "do not add 'null' to allow_origins, every sandboxed or file:// page sends it.",
        backends={"api": "exact"},
        fetches=(
            fastapi("list-items", "api", "MissingAllowOriginHeader", page="file"),
            fastapi(
                "update-item", "api", "PreflightMissingAllowOriginHeader", page="file", **JSON_PUT
            ),
        ),
    ),
    Story(
        "unexposed-header",
        page_did="Lists items and reads the pagination header X-Total-Count that the route "
        "sets, against a CORSMiddleware without expose_headers.",
        fix="Nothing is blocked; cors-inspector fix names X-Total-Count as hidden from script and "
        "offers the commented-out line # expose_headers=['X-Total-Count']: uncomment it, since "
        "this page reads the header (script can only read CORS-safelisted response headers and "
        "the ones listed in Access-Control-Expose-Headers).",
        backends={"api": "exact"},
        fetches=(fastapi("list-items", "api", ALLOWED, read_header=(X_TOTAL, None)),),
    ),
    Story(
        "healthy-session",
        page_did="Against the tutorial's complete CORSMiddleware example: lists items and reads "
        "the exposed X-Custom-Header, saves one with PUT (JSON + Authorization, preflighted), "
        "and asks who the user is with credentials: 'include'.",
        fix="Nothing to fix: every request is allowed.",
        backends={"api": "complete"},
        fetches=(
            fastapi("list-items", "api", ALLOWED, read_header=("X-Custom-Header", "custom")),
            fastapi("update-item", "api", ALLOWED, **JSON_AUTH_PUT),
            fastapi("who-am-i", "api", ALLOWED, path="/api/me", **INCLUDE),
        ),
    ),
    Story(
        "auth-before-cors",
        page_did="With an auth middleware added after CORSMiddleware (so outermost): asks who "
        "the user is with the session cookie, lists items without it, and saves one with "
        "PUT (JSON + Authorization).",
        fix="Add CORSMiddleware last so it is outermost (or let the auth middleware pass "
        "OPTIONS through): preflights never carry cookies or Authorization, so the auth layer "
        "401s them, and its 401s carry no CORS headers.",
        backends={"api": "auth_outside_cors"},
        fetches=(
            fastapi("who-am-i", "api", ALLOWED, path="/api/me", **INCLUDE),
            fastapi("list-items", "api", "MissingAllowOriginHeader"),
            fastapi("update-item", "api", "PreflightMissingAllowOriginHeader", **JSON_AUTH_PUT),
        ),
    ),
    Story(
        "duplicate-allow-origin",
        page_did="Lists items and saves one (PUT) against a server where nginx adds "
        "Access-Control-Allow-Origin: * and the app adds its own, so every response carries "
        "the header twice.",
        fix="Set CORS headers in one place only: drop the add_header lines from nginx (or the "
        "CORSMiddleware from the app).",
        backends={},
        fetches=(
            simple("list-items", "MultipleAllowOriginValues", *NGINX_AND_APP, path="/api/items"),
            preflighted(
                "update-item",
                "PreflightMultipleAllowOriginValues",
                *NGINX_AND_APP,
                acam("PUT"),
                actual=NGINX_AND_APP,
                path="/api/items/1",
            ),
        ),
    ),
    Story(
        "credentials-without-allow-credentials",
        page_did="Asks who the user is with fetch(..., {credentials: 'include'}) before any "
        "cookie is stored, against a CORSMiddleware with allow_origins=[<the page>] but no "
        "allow_credentials: the request carries nothing that shows it is credentialed.",
        fix="allow_credentials=True (with the exact origin, never '*'): Chromium refuses a "
        "credentialed response without Access-Control-Allow-Credentials: true even when no "
        "cookie went with it.",
        backends={"api": "defaults"},
        fetches=(fastapi("who-am-i", "api", "InvalidAllowCredentials", **NO_COOKIE),),
    ),
    Story(
        "login-against-wildcard",
        page_did="Logs in with fetch(..., {credentials: 'include'}) and no cookie yet against "
        "a server that answers Access-Control-Allow-Origin: * to a request without a cookie "
        "(Starlette before 1.0 with allow_origins=['*'] and allow_credentials=True), then "
        "lists items without credentials.",
        fix="List the page's origin in allow_origins (Starlette then echoes it with "
        "Access-Control-Allow-Credentials: true); '*' is refused for credentialed requests, "
        "cookie or not.",
        backends={},
        fetches=(
            simple(
                "log-in",
                "WildcardOriginNotAllowed",
                acao("*"),
                acac(),
                path="/api/login",
                **NO_COOKIE,
            ),
            simple("list-items", ALLOWED, acao("*"), acac(), path="/api/items"),
        ),
    ),
]
assert len({story.id for story in STORIES}) == len(STORIES), "story ids must be unique"
