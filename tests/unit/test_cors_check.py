"""Fetch "CORS check" on the actual response, in Chromium's order (cors.cc CheckAccess)."""

import pytest

from .builders import PAGE, cors_get, judge_one

ACAO = "Access-Control-Allow-Origin"
ACAC = "Access-Control-Allow-Credentials"


def test_missing_allow_origin_is_blocked():
    """CORS check steps 1-2: no ACAO -> failure (MissingAllowOriginHeader)."""
    decision = judge_one(cors_get({}))
    assert (decision.verdict, decision.reason) == ("blocked", "MissingAllowOriginHeader")
    assert decision.firefox_reason == "CORSMissingAllowOrigin"
    assert f"Access-Control-Allow-Origin: {PAGE}" in decision.explanation


def test_exact_origin_is_allowed():
    """CORS check step 4: ACAO equals the serialized request origin."""
    decision = judge_one(cors_get({ACAO: PAGE}))
    assert decision.verdict == "allowed"
    assert decision.reason is None


def test_surrounding_whitespace_is_trimmed():
    """Header parsing trims HTTP whitespace before CORS check step 4 compares."""
    assert judge_one(cors_get({ACAO: f"  {PAGE}\t"})).verdict == "allowed"


def test_wildcard_without_credentials_is_allowed_and_acac_ignored():
    """CORS check step 3: `*` succeeds when credentials mode is not include."""
    decision = judge_one(cors_get({ACAO: "*", ACAC: "true"}))
    assert decision.verdict == "allowed"


def test_wildcard_with_credentials_is_blocked():
    """CORS check step 3 (and 4): with credentials `*` is only a literal, never a match."""
    decision = judge_one(cors_get({ACAO: "*", ACAC: "true"}, cookie=True))
    assert (decision.reason, decision.credentials) == ("WildcardOriginNotAllowed", "include")
    assert decision.firefox_reason == "CORSNotSupportingCredentials"


def test_wildcard_without_cookie_says_credentials_unknown():
    """Credentials mode is not on the wire: say what `include` would change."""
    decision = judge_one(cors_get({ACAO: "*"}))
    assert decision.verdict == "allowed"
    assert decision.credentials == "unknown"
    assert "include" in decision.credentials_basis


@pytest.mark.parametrize(
    ("allowed", "reason", "firefox"),
    [
        (f"{PAGE}/", "AllowOriginMismatch", "CORSAllowOriginNotMatchingOrigin"),
        ("http://127.0.0.1:3000", "AllowOriginMismatch", "CORSAllowOriginNotMatchingOrigin"),
        ("HTTP://LOCALHOST:3000", "AllowOriginMismatch", "CORSAllowOriginNotMatchingOrigin"),
        ("null", "AllowOriginMismatch", "CORSAllowOriginNotMatchingOrigin"),
        ("localhost3000", "InvalidAllowOriginValue", "CORSAllowOriginNotMatchingOrigin"),
        ("", "InvalidAllowOriginValue", "CORSAllowOriginNotMatchingOrigin"),
        ("http://", "InvalidAllowOriginValue", "CORSAllowOriginNotMatchingOrigin"),
        (f"{PAGE}, http://a.test", "MultipleAllowOriginValues", "CORSAllowOriginNotMatchingOrigin"),
        (f"{PAGE} http://a.test", "MultipleAllowOriginValues", "CORSAllowOriginNotMatchingOrigin"),
    ],
)
def test_allow_origin_not_matching(allowed, reason, firefox):
    """CORS check step 4: ACAO must be the origin byte for byte; Chromium names why not."""
    decision = judge_one(cors_get({ACAO: allowed}))
    assert (decision.verdict, decision.reason, decision.firefox_reason) == (
        "blocked",
        reason,
        firefox,
    )
    assert decision.failed_parameter == allowed


def test_duplicated_allow_origin_lines_are_multiple_values():
    """Fetch "get" joins header lines with ", " before CORS check step 4."""
    decision = judge_one(cors_get([(ACAO, PAGE), (ACAO, PAGE)]))
    assert decision.reason == "MultipleAllowOriginValues"
    assert decision.failed_parameter == f"{PAGE}, {PAGE}"
    assert decision.firefox_reason == "CORSMultipleAllowOriginNotAllowed"
    assert "reverse proxy" in decision.explanation


def test_trailing_slash_is_named_in_the_explanation():
    decision = judge_one(cors_get({ACAO: f"{PAGE}/"}))
    assert "trailing slash" in decision.explanation


@pytest.mark.parametrize("value", [None, "True", "false", "true, true"])
def test_credentials_need_acac_exactly_true(value):
    """CORS check steps 6-8: with credentials, ACAC must be `true` (case-sensitive)."""
    headers = {ACAO: PAGE}
    if value is not None:
        headers[ACAC] = value
    decision = judge_one(cors_get(headers, cookie=True))
    assert (decision.reason, decision.failed_parameter) == ("InvalidAllowCredentials", value or "")


def test_credentials_with_exact_origin_and_true_are_allowed():
    """CORS check step 7."""
    decision = judge_one(cors_get({ACAO: PAGE, ACAC: "true"}, cookie=True))
    assert (decision.verdict, decision.credentials) == ("allowed", "include")


def test_null_origin_matches_null():
    """CORS check step 4: the serialized opaque origin is "null", and "null" matches it."""
    decision = judge_one(cors_get({ACAO: "null"}, origin="null"))
    assert decision.verdict == "allowed"


def test_server_error_without_cors_headers_is_named():
    """A 5xx without ACAO is reported as MissingAllowOriginHeader, and called a server error."""
    decision = judge_one(cors_get({}, status=500))
    assert decision.reason == "MissingAllowOriginHeader"
    assert "server error" in decision.explanation


def test_console_message_matches_chromium():
    decision = judge_one(cors_get({ACAO: f"{PAGE}/"}))
    assert decision.console_message == (
        "Access to fetch at 'http://localhost:8000/items' from origin 'http://localhost:3000' "
        "has been blocked by CORS policy: The 'Access-Control-Allow-Origin' header has a value "
        "'http://localhost:3000/' that is not equal to the supplied origin."
    )


def test_sec_fetch_storage_access_reveals_credentials():
    """Storage Access Headers: Chromium adds Sec-Fetch-Storage-Access only to cross-site
    requests whose credentials mode is include, so `*` is refused even with no cookie."""
    decision = judge_one(cors_get({ACAO: "*"}, extra={"Sec-Fetch-Storage-Access": "none"}))
    assert (decision.reason, decision.credentials) == ("WildcardOriginNotAllowed", "include")
    assert "Sec-Fetch-Storage-Access" in decision.credentials_basis


def test_proxy_answered_502_is_judged_as_the_browser_saw_it():
    """With a proxy in the path the browser gets the proxy's 502 (no ACAO): Chromium reports
    MissingAllowOriginHeader; the explanation names the real cause."""
    exchange = cors_get({}, status=502)
    exchange.answered_by_proxy = True
    exchange.error = "Connect call failed ('127.0.0.1', 9)"
    decision = judge_one(exchange)
    assert decision.reason == "MissingAllowOriginHeader"
    assert decision.explanation.startswith("The server never answered (Connect call failed")
