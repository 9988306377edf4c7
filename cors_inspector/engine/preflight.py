"""The CORS-preflight fetch's checks on an OPTIONS response, and what a passed one grants.

Order follows Chromium where it departs from the standard's wording
(`preflight_controller.cc`): any 3xx with a Location is a disallowed redirect, checked first;
then the origin (the CORS check), and only then the status. Firefox checks the origin even
before the redirect (nsCORSListenerProxy.cpp: CheckRequestApproved runs before the preflight
listener refuses the redirect), so its reason for a redirect without a good ACAO is the CORS
check's; its cache keeps no preflight whose max-age is not plain digits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from . import explain
from .cors_check import ACAC, ACAH, ACAM, ACMA, cors_check
from .decision import Failure, Step
from .exchange import Response
from .safelists import SAFELISTED_METHODS, parse_token_list, trim

DEFAULT_MAX_AGE = 5  # Fetch: CORS-preflight fetch, step 7.9
CHROMIUM_MAX_AGE = 7200  # Chromium caps the preflight cache at 2 hours (preflight_result.cc)
FIREFOX_MAX_AGE = 86400  # Firefox caps it at 24 hours (nsCORSListenerProxy.cpp)


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


class PreflightResult(NamedTuple):
    """A preflight judged for one credentials mode: why it failed, or what it grants."""

    failure: Failure | None
    grant: PreflightGrant | None
    trace: list[Step]


def parse_max_age(value: str | None, firefox: bool = False) -> int:
    """Chromium: missing or unparseable -> 5 s, negative -> 0, capped at 2 hours. Firefox:
    missing -> 5 s, anything but digits -> not cached (0), capped at 24 hours."""
    if value is None:
        return DEFAULT_MAX_AGE
    if firefox:
        digits = trim(value)
        return min(int(digits), FIREFOX_MAX_AGE) if digits.isascii() and digits.isdigit() else 0
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
    firefox: bool = False,
) -> PreflightResult:
    """Fetch "CORS-preflight fetch", step 7, in Chromium's order (Firefox's cache rules for
    Firefox's traffic)."""
    trace: list[Step] = []
    failure = _response_check(response, error, origin, include, trace)
    if failure is not None or response is None:
        return PreflightResult(failure, None, trace)
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
        return PreflightResult(failure, None, trace)
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
        return PreflightResult(failure, None, trace)
    failure = _method_check(method, methods, allow_methods, include, trace)
    if failure:
        return PreflightResult(failure, None, trace)
    allowed_names = {name.lower() for name in header_names}
    failure = _headers_check(unsafe_headers, allowed_names, allow_headers, include, trace)
    if failure:
        return PreflightResult(failure, None, trace)
    max_age = parse_max_age(response.headers.get(ACMA), firefox)
    in_firefox = parse_max_age(response.headers.get(ACMA), True)
    trace.append(
        Step(
            "Access-Control-Max-Age",
            "Fetch: CORS-preflight fetch, steps 7.8-7.15",
            response.headers.get(ACMA) or "absent",
            f"cached for {max_age} s (default 5 s, "
            + (
                "Firefox caps at 86400 s and caches nothing but digits)"
                if firefox
                else "Chromium caps at 7200 s)"
                + ("" if in_firefox == max_age else f"; Firefox would cache it {in_firefox} s")
            ),
            "info",
        )
    )
    grant = PreflightGrant(
        frozenset(methods), frozenset(allowed_names), response.headers.get(ACAC) == "true", max_age
    )
    return PreflightResult(None, grant, trace)


def _response_check(
    response: Response | None, error: str | None, origin: str, include: bool, trace: list[Step]
) -> Failure | None:
    """Steps 6-7 up to the lists: a response, no redirect, the CORS check, an ok status."""
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
        return Failure("InvalidResponse", None, explain.preflight_without_response(error))
    status = response.status
    location = response.headers.get("location")
    if 300 <= status < 400 and location is not None:
        # Firefox runs the CORS check first: its reason is the check's when that fails.
        before = cors_check(response, origin, include, [], preflight=True)
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
            explain.preflight_redirected(status, location),
            before.firefox if before else None,
        )
    failure = cors_check(response, origin, include, trace, preflight=True)
    if failure:
        return failure
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
        words = explain.preflight_status_not_ok(status, response.body_head)
        return Failure("PreflightInvalidStatus", None, words)
    return None


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
    return items, Failure(reason, bad, explain.unparseable_list(header, value, bad, item, example))


def _method_check(
    method: str, methods: list[str], allow_methods: str | None, include: bool, trace: list[Step]
) -> Failure | None:
    """Fetch CORS-preflight fetch step 7.5; with credentials, `*` is only a literal name."""
    spec = "Fetch: CORS-preflight fetch, step 7.5"
    if method in SAFELISTED_METHODS:
        needed = "a CORS-safelisted method needs no permission"
        trace.append(Step("Method", spec, f"`{method}`", needed, "pass"))
        return None
    shown = "absent" if allow_methods is None else f"`{allow_methods}`"
    needed = f"`{method}` (case-sensitive)"
    if method in methods or (not include and "*" in methods):
        trace.append(Step("Access-Control-Allow-Methods", spec, shown, needed, "pass"))
        return None
    trace.append(Step("Access-Control-Allow-Methods", spec, shown, needed, "fail"))
    return Failure(
        "MethodDisallowedByPreflightResponse",
        method,
        explain.method_not_allowed(method, methods, allow_methods, include),
    )


def _headers_check(
    unsafe_headers: list[str],
    allowed_names: set[str],
    allow_headers: str | None,
    include: bool,
    trace: list[Step],
) -> Failure | None:
    """Fetch CORS-preflight fetch steps 7.6-7.7; with credentials, `*` is only a literal name."""
    spec = "Fetch: CORS-preflight fetch, step 7.7"
    shown = "absent" if allow_headers is None else f"`{allow_headers}`"
    wildcard = not include and "*" in allowed_names
    for name in unsafe_headers:
        if name in allowed_names:
            continue
        if wildcard:
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
        needed = f"`{name}` (the page sends it)"
        trace.append(Step("Access-Control-Allow-Headers", spec, shown, needed, "fail"))
        return Failure(
            "HeaderDisallowedByPreflightResponse",
            name,
            explain.header_not_allowed(name, allow_headers, include),
        )
    if unsafe_headers:
        needed = ", ".join(f"`{name}`" for name in unsafe_headers)
        trace.append(Step("Access-Control-Allow-Headers", spec, shown, needed, "pass"))
    return None
