"""The CORS check on a response (also a redirect, or a preflight response), the redirect
check, and which response headers script may read. Each check appends the Steps it ran to a
trace and returns the first Failure.

Order follows Chromium where it departs from the standard's wording (network service
`cors.cc` CheckAccess): the origin is checked before anything else.
"""

from __future__ import annotations

import re

from . import explain
from .decision import Failure, Step
from .exchange import Headers, Response
from .origins import is_parseable_url, url_userinfo
from .safelists import (
    FORBIDDEN_RESPONSE_HEADERS,
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
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")  # an absolute URL's scheme


def cors_check(
    response: Response, origin: str, include: bool, trace: list[Step], preflight: bool = False
) -> Failure | None:
    """Fetch "CORS check" on a response (or a redirect, or a preflight response)."""
    prefix = "Preflight" if preflight else ""
    where = explain.subject(preflight)
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
            explain.missing_allow_origin(origin, response.status, preflight),
        )
    # Several header lines are combined with ", " before the comparison (Fetch "get").
    allowed = ", ".join(trim(value) for value in values)
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
                explain.wildcard_with_credentials(preflight, origin),
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
        return _origin_mismatch(allowed, len(values), origin, include, trace, preflight)
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
            explain.credentials_not_allowed(preflight, shown),
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


def _origin_mismatch(
    allowed: str, lines: int, origin: str, include: bool, trace: list[Step], preflight: bool
) -> Failure:
    """CORS check step 4 failed: name how (several values, not an origin, another origin)."""
    prefix = "Preflight" if preflight else ""
    credentials_needed = " (credentials mode 'include')" if include else ""
    observed = f"`{allowed}`" + (f" ({lines} header lines)" if lines > 1 else "")
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
        duplicated = lines > 1
        return Failure(
            prefix + "MultipleAllowOriginValues",
            allowed,
            explain.several_allow_origins(preflight, allowed, lines, origin),
            # Firefox names only duplicated header lines "multiple"; one line is a mismatch.
            None if duplicated else "CORSAllowOriginNotMatchingOrigin",
        )
    if allowed != "null" and not is_parseable_url(allowed):
        return Failure(
            prefix + "InvalidAllowOriginValue", allowed, explain.not_an_origin(allowed, origin)
        )
    return Failure(
        prefix + "AllowOriginMismatch", allowed, explain.origin_mismatch(preflight, allowed, origin)
    )


def redirect_check(response: Response, trace: list[Step], firefox: bool = False) -> Failure | None:
    """Fetch "HTTP-redirect fetch", steps 6 and 9-10: a CORS redirect goes to an HTTP(S) URL
    without userinfo. A redirect elsewhere (`data:`) is a network error in both browsers;
    Firefox alone logs it, as CORSDidNotSucceed."""
    location = response.headers.get("location")
    if location is None:
        return None
    scheme = _SCHEME.match(location)
    if scheme is not None and scheme.group(1).lower() not in ("http", "https"):
        trace.append(
            Step(
                "Redirect Location",
                "Fetch: HTTP-redirect fetch, step 6",
                f"`{location}`",
                "an http(s) URL" + ("" if firefox else " (Firefox: CORSDidNotSucceed)"),
                "fail" if firefox else "info",
            )
        )
        if not firefox:
            return None
        return Failure(None, location, explain.redirect_not_http(location), "CORSDidNotSucceed")
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
        "RedirectContainsCredentials", location, explain.redirect_with_credentials(location)
    )


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
