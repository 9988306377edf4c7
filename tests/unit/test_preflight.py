"""Fetch "CORS-preflight fetch", step 7, in Chromium's order (preflight_controller.cc)."""

import pytest

from .builders import PAGE, cors_get, judge, judge_one, judge_with_actual, preflight

ACAO = "Access-Control-Allow-Origin"
ACAC = "Access-Control-Allow-Credentials"
ACAM = "Access-Control-Allow-Methods"
ACAH = "Access-Control-Allow-Headers"


def test_redirect_is_disallowed_whatever_its_headers():
    """CORS-preflight fetch step 6: redirects are not followed; Chromium names any 3xx with a
    Location PreflightDisallowedRedirect, before checking the origin."""
    decision = judge_one(preflight("PUT", {"Location": "/items/", ACAO: PAGE}, status=307))
    assert (decision.verdict, decision.reason) == ("blocked", "PreflightDisallowedRedirect")
    assert decision.firefox_reason == "CORSExternalRedirectNotAllowed"
    assert "never sent" in decision.explanation


def test_3xx_without_location_is_invalid_status():
    """CORS-preflight fetch step 7: not an ok status (with the origin allowed)."""
    decision = judge_one(preflight("PUT", {ACAO: PAGE, ACAM: "PUT"}, status=304))
    assert decision.reason == "PreflightInvalidStatus"


def test_origin_is_checked_before_status():
    """CORS-preflight fetch step 7 runs the CORS check first: a 404 without ACAO is a missing
    ACAO, not a bad status (as Chromium reports it)."""
    decision = judge_one(preflight("PUT", {}, status=404))
    assert decision.reason == "PreflightMissingAllowOriginHeader"


def test_405_without_cors_headers_says_middleware_missing():
    decision = judge_one(preflight("PUT", {"Allow": "GET"}, status=405))
    assert decision.reason == "PreflightMissingAllowOriginHeader"
    assert "middleware is missing" in decision.explanation


def test_starlette_400_with_allow_origin_is_invalid_status_and_names_the_body():
    """CORS-preflight fetch step 7: status 400 is not ok; Starlette's body says why."""
    exchange = preflight("DELETE", {ACAO: PAGE, ACAM: "GET"}, status=400)
    exchange.response.body_head = "Disallowed CORS method"
    decision = judge_one(exchange)
    assert decision.reason == "PreflightInvalidStatus"
    assert "Disallowed CORS method" in decision.explanation


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({ACAO: "*"}, "PreflightWildcardOriginNotAllowed"),
        ({ACAO: f"{PAGE}/"}, "PreflightAllowOriginMismatch"),
        ({ACAO: f"{PAGE}, {PAGE}"}, "PreflightMultipleAllowOriginValues"),
        ({ACAO: "nope"}, "PreflightInvalidAllowOriginValue"),
        ({ACAO: PAGE}, "PreflightInvalidAllowCredentials"),
    ],
)
def test_preflight_origin_and_credentials_use_the_actual_requests_mode(headers, reason):
    """CORS-preflight fetch step 7: the CORS check for *request* uses the actual request's
    credentials mode (here: a credentialed request, so the verdict waits for it)."""
    headers = {**headers, ACAM: "PUT"}
    decisions = judge(
        preflight("PUT", headers, at=1.0), cors_get({ACAO: PAGE}, cookie=True, method="PUT", at=1.1)
    )
    assert decisions[0].reason == reason


def test_preflight_allowed_only_without_credentials_and_no_actual_request_infers_include():
    """A preflight that passes only without credentials, with no actual request after it:
    the browser stopped there, so the page asked for credentials."""
    decision = judge_one(preflight("PUT", {ACAO: "*", ACAM: "PUT"}))
    assert (decision.verdict, decision.reason) == ("blocked", "PreflightWildcardOriginNotAllowed")
    assert decision.credentials == "include"
    assert decision.credentials_basis.startswith("inferred")


@pytest.mark.parametrize(
    ("allow_methods", "reason", "bad"),
    [
        ("GET, P UT", "InvalidAllowMethodsPreflightResponse", "P UT"),
        ("GET;PUT", "InvalidAllowMethodsPreflightResponse", "GET;PUT"),
    ],
)
def test_allow_methods_must_be_tokens(allow_methods, reason, bad):
    """CORS-preflight fetch step 7.1/7.3: extracting ACAM fails on a non-token item."""
    decision = judge_one(preflight("PUT", {ACAO: PAGE, ACAM: allow_methods}))
    assert (decision.reason, decision.failed_parameter) == (reason, bad)


def test_allow_headers_must_be_tokens():
    """CORS-preflight fetch step 7.2/7.3: extracting ACAH fails on a non-token item."""
    decision = judge_one(
        preflight("PUT", {ACAO: PAGE, ACAM: "PUT", ACAH: "x-a, x b"}, request_headers="x-a")
    )
    assert decision.reason == "InvalidAllowHeadersPreflightResponse"


def test_empty_list_items_are_skipped():
    decision = judge_with_actual(preflight("PUT", {ACAO: PAGE, ACAM: "GET,, PUT ,"}))
    assert decision.reason is None


def test_method_not_listed_is_disallowed():
    """CORS-preflight fetch step 7.5."""
    decision = judge_one(preflight("DELETE", {ACAO: PAGE, ACAM: "GET, POST"}))
    assert (decision.reason, decision.failed_parameter) == (
        "MethodDisallowedByPreflightResponse",
        "DELETE",
    )
    assert decision.firefox_reason == "CORSMethodNotFound"


def test_methods_are_compared_case_sensitively():
    """CORS-preflight fetch step 7.5 (Chromium >= 109): `patch` is not `PATCH`."""
    decision = judge_one(preflight("patch", {ACAO: PAGE, ACAM: "GET, PATCH"}))
    assert (decision.reason, decision.failed_parameter) == (
        "MethodDisallowedByPreflightResponse",
        "patch",
    )
    assert "`PATCH`" in decision.explanation


def test_safelisted_method_needs_no_listing():
    """CORS-preflight fetch step 7.5: a CORS-safelisted method is always allowed."""
    decision = judge_with_actual(
        preflight("POST", {ACAO: PAGE, ACAH: "x-a"}, request_headers="x-a")
    )
    assert decision.reason is None


def test_wildcard_method_only_without_credentials():
    """CORS-preflight fetch step 7.5: `*` counts only when credentials mode is not include."""
    allowed = judge(
        preflight("PUT", {ACAO: PAGE, ACAM: "*"}, at=1),
        cors_get({ACAO: PAGE}, method="PUT", at=1.1),
    )
    assert allowed[0].verdict == "allowed"
    blocked = judge(
        preflight("PUT", {ACAO: PAGE, ACAC: "true", ACAM: "*"}, at=1),
        cors_get({ACAO: PAGE, ACAC: "true"}, method="PUT", cookie=True, at=1.1),
    )
    assert blocked[0].reason == "MethodDisallowedByPreflightResponse"


def test_header_not_listed_is_disallowed():
    """CORS-preflight fetch step 7.7; the failed parameter is the lower-case name."""
    decision = judge_one(
        preflight(
            "PUT",
            {ACAO: PAGE, ACAM: "PUT", ACAH: "content-type"},
            request_headers="authorization,content-type",
        )
    )
    assert (decision.reason, decision.failed_parameter) == (
        "HeaderDisallowedByPreflightResponse",
        "authorization",
    )


def test_header_names_compare_case_insensitively():
    """CORS-preflight fetch step 7.7: header names are compared byte-case-insensitively."""
    decision = judge_with_actual(
        preflight("PUT", {ACAO: PAGE, ACAM: "PUT", ACAH: "X-Token"}, request_headers="x-token")
    )
    assert decision.reason is None


def test_authorization_under_wildcard_follows_chromium():
    """CORS-preflight fetch step 7.6 says `*` never covers Authorization; Chromium 156 still
    allows it (deprecation warning only): follow the browser, and say so in the trace."""
    decision = judge_with_actual(
        preflight("PUT", {ACAO: PAGE, ACAM: "PUT", ACAH: "*"}, request_headers="authorization")
    )
    assert decision.reason is None
    assert any("Chromium departs" in step.spec for step in decision.trace)


def test_wildcard_headers_with_credentials_are_literal():
    """CORS-preflight fetch step 7.7: with credentials `*` is only a literal name."""
    decisions = judge(
        preflight(
            "PUT", {ACAO: PAGE, ACAC: "true", ACAM: "PUT", ACAH: "*"}, request_headers="x-a", at=1
        ),
        cors_get({ACAO: PAGE, ACAC: "true"}, method="PUT", cookie=True, extra={"X-A": "1"}, at=1.1),
    )
    assert decisions[0].reason == "HeaderDisallowedByPreflightResponse"


def test_no_response_is_invalid_response():
    """CORS-preflight fetch step 6: a network error (Chromium's DevTools label InvalidResponse)."""
    exchange = preflight("PUT", status=None)
    exchange.error = "Connection refused"
    decision = judge_one(exchange)
    assert (decision.reason, decision.verdict) == ("InvalidResponse", "blocked")
    assert "Connection refused" in decision.explanation
