"""Errors that only look like CORS, named for what they are, and risky policies the traffic
reveals. A CORS configuration change cannot fix the first kind; it must not hide the second.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from ..engine.cors_check import ACAC, ACAM, ACAO
from ..engine.origins import url_parts
from ..engine.safelists import parse_token_list
from .observe import Backend, Observation, page_method

STARLETTE_SETTINGS = {
    "origin": "allow_origins / allow_origin_regex (the page's origin is not listed)",
    "method": "allow_methods (the requested method is not listed; the default allows GET only)",
    "headers": "allow_headers (a requested header is not listed)",
    "private-network": "allow_private_network (a Private Network Access preflight)",
}


@dataclass(slots=True)
class Lookalike:
    code: str
    title: str
    fix: str
    cors_change_helps: bool  # whether the suggested CORSMiddleware change is part of the fix


@dataclass(slots=True)
class Risk:
    severity: str  # "high" | "medium" | "low"
    title: str
    detail: str


def _duplicate_allow_origin() -> Lookalike:
    return Lookalike(
        "duplicate-allow-origin",
        "Access-Control-Allow-Origin sent twice",
        "Two layers add the header (typically a reverse proxy such as nginx and the app's "
        "CORSMiddleware): remove it from one of them, usually the proxy.",
        cors_change_helps=False,
    )


def _method_case(observation: Observation) -> Lookalike | None:
    """A page's `patch`: only six methods are upper-cased by the browser, and both the browser
    and Starlette compare methods case-sensitively."""
    method = observation.method
    wanted = page_method(method)
    if wanted == method:
        return None
    preflight = observation.preflight
    response = preflight.response if preflight else None
    allowed = parse_token_list(response.headers.get(ACAM))[0] if response else []
    return Lookalike(
        "method-case",
        f"The page sends `{method}`, not `{wanted}`",
        f"Browsers upper-case only DELETE, GET, HEAD, OPTIONS, POST and PUT, and methods are "
        f"compared case-sensitively, so `{method}` needs its own permission. Write `{wanted}` in "
        "the page's fetch() call.",
        cors_change_helps=wanted not in allowed,
    )


def _preflight_lookalike(observation: Observation, backend_sends_cors: bool) -> Lookalike | None:
    preflight = observation.preflight
    response = preflight.response if preflight else None
    if preflight is None or response is None:
        return None
    status = response.status
    has_origin = ACAO in response.headers
    location = response.headers.get("location")
    if 300 <= status < 400 and location is not None:
        request_path = urlsplit(preflight.request.url).path
        location_path = urlsplit(location).path
        slashes = request_path.rstrip("/") == location_path.rstrip("/")
        why = "a redirect"
        if slashes:
            why = "FastAPI's redirect_slashes (the route is declared with a trailing slash)"
        elif preflight.request.url.startswith("http://") and location.startswith("https://"):
            why = "an http to https redirect"
        fix = (
            f"Browsers never follow a redirect on a preflight. Call the final URL `{location}` "
            "from the page (with FastAPI: the path exactly as the route declares it)."
        )
        # Without CORSMiddleware the app's router redirects OPTIONS; with it, the middleware
        # answers the preflight before routing, so adding it is enough.
        helps = slashes and not backend_sends_cors
        if helps:
            fix += (
                " Adding the suggested CORSMiddleware also works: it answers the preflight "
                "before FastAPI's router can redirect it."
            )
        return Lookalike(
            "preflight-redirect",
            f"Redirect on the preflight ({status}): {why}",
            fix,
            cors_change_helps=helps,
        )
    if len(response.headers.get_all(ACAO)) > 1:
        return _duplicate_allow_origin()
    if status in (404, 405) and not has_origin:
        return Lookalike(
            "no-cors-middleware",
            f"OPTIONS answered {status}: nothing handles preflights",
            "The preflight reached the routes, so no CORSMiddleware answered it: add the "
            "suggested CORSMiddleware to the app uvicorn serves.",
            cors_change_helps=True,
        )
    if status in (401, 403) and not has_origin:
        return Lookalike(
            "auth-before-cors",
            f"OPTIONS answered {status}: an auth layer runs before CORS",
            "Preflights never carry credentials, so an authentication middleware that sees "
            "them first rejects them. Add CORSMiddleware last (the last add_middleware call is "
            "the outermost layer), after the auth middleware, so it answers preflights first.",
            cors_change_helps=True,
        )
    if status == 400 and response.body_head.startswith("Disallowed CORS"):
        rejected = [
            item.strip() for item in response.body_head[len("Disallowed CORS") :].split(",")
        ]
        settings = "; ".join(STARLETTE_SETTINGS.get(item, item) for item in rejected if item)
        return Lookalike(
            "starlette-rejected",
            f"Starlette's CORSMiddleware refused the preflight: {response.body_head.strip()}",
            f"Rejected by: {settings}.",
            cors_change_helps=True,
        )
    return None


def _network_error(observation: Observation) -> str:
    for exchange in (observation.actual, observation.preflight):
        if exchange is not None and (exchange.error or exchange.browser_error):
            return exchange.error or exchange.browser_error or ""
    return "no response"


def diagnose(observation: Observation, backend_sends_cors: bool) -> Lookalike | None:
    """Name what a blocked request's failure really is, when it is not a CORS setting."""
    decision = observation.decision
    if observation.origin == "null":
        return Lookalike(
            "null-origin",
            "Origin `null`: the page has no origin",
            "The request came from a page opened from file://, a sandboxed iframe, or after a "
            "cross-origin redirect. Serve the page over http (e.g. `python -m http.server` in "
            "its folder) and call the API from there; do not allow the origin `null`, which "
            "any sandboxed page can claim.",
            cors_change_helps=False,
        )
    found = _method_case(observation) or _preflight_lookalike(observation, backend_sends_cors)
    if found is not None:
        return found
    exchange = observation.actual
    response = exchange.response if exchange else None
    answered_by_proxy = any(
        e is not None and e.answered_by_proxy for e in (observation.preflight, exchange)
    )
    if (exchange is not None and response is None) or answered_by_proxy:
        return Lookalike(
            "network-error",
            "No response: a network error",
            f"The server did not answer ({_network_error(observation)}). Is it up and "
            "reachable at that address?",
            cors_change_helps=False,
        )
    if response is None:
        return None
    if decision.reason == "RedirectContainsCredentials":
        return Lookalike(
            "redirect-credentials",
            "Redirect to a URL with a username and password",
            f"The server redirects to `{decision.failed_parameter}`; browsers refuse a CORS "
            "redirect whose Location carries credentials. Redirect to the URL without them.",
            cors_change_helps=False,
        )
    if len(response.headers.get_all(ACAO)) > 1:
        return _duplicate_allow_origin()
    if ACAO not in response.headers and (response.status >= 500 or response.status == 413):
        where = "on other responses" if backend_sends_cors else "(none seen on any response)"
        return Lookalike(
            "server-error",
            f"A {response.status} without CORS headers: the server failed, not CORS",
            f"The backend sends CORS headers {where}, but this error response has none: the "
            "handler raised (or a proxy answered) and the error left without them. Look at the "
            "server log. To keep CORS headers on unhandled errors, wrap the whole app: "
            "`app = CORSMiddleware(app=api, ...)` and serve that, or catch the exception and "
            "return a normal response.",
            cors_change_helps=False,
        )
    if decision.reason in ("AllowOriginMismatch", "PreflightAllowOriginMismatch") and (
        decision.failed_parameter
    ):
        return Lookalike(
            "origin-near-miss",
            f"Allowed origin `{decision.failed_parameter}` is not `{observation.origin}`",
            "List the origin exactly as the browser sends it in the Origin header: "
            f"`{observation.origin}`.",
            cors_change_helps=True,
        )
    return None


def risks(backend: Backend) -> list[Risk]:
    """Risky policies the responses reveal."""
    found: list[Risk] = []
    reflected: set[str] = set()
    for observation in backend.observations:
        for exchange in (observation.preflight, observation.actual):
            response = exchange.response if exchange else None
            if response is None:
                continue
            allowed = response.headers.get(ACAO)
            credentials = response.headers.get(ACAC) == "true"
            if allowed == "null":
                found.append(
                    Risk(
                        "high" if credentials else "medium",
                        "The origin `null` is allowed",
                        "Any sandboxed iframe or file:// page sends Origin "
                        "`null`, so any site can read these responses"
                        + (" with the user's cookies." if credentials else "."),
                    )
                )
            elif credentials and allowed is not None and allowed == observation.origin:
                reflected.add(allowed)
            if allowed == "*" and "set-cookie" in response.headers:
                found.append(
                    Risk(
                        "medium",
                        "`*` on a response that sets a cookie",
                        "The response sets a cookie yet lets every origin read it: "
                        "check that nothing private is in it.",
                    )
                )
    hosts = [parts.host for origin in reflected if (parts := url_parts(origin))]
    sites = {tuple(host.split(".")[-2:]) for host in hosts}
    if len(sites) > 1:
        found.append(
            Risk(
                "medium",
                "Origins echoed with credentials from several sites",
                "The server answers each origin with itself and `Access-Control-Allow-"
                f"Credentials: true` ({', '.join(sorted(reflected))}). If it echoes any origin "
                "(Starlette does for allow_origins=['*'] with allow_credentials=True), every "
                "site can read authenticated responses: list the origins explicitly.",
            )
        )
    unique: dict[str, Risk] = {}
    for risk in found:
        unique.setdefault(risk.title, risk)
    return list(unique.values())
