"""Rules that span exchanges: classification, pairing, the preflight cache, redirects, exposed
headers, and the streaming order of decisions."""

from cors_inspector.engine import Analyzer
from cors_inspector.engine.preflight import parse_max_age

from .builders import API, PAGE, cors_get, exchange, judge, judge_one, preflight

ACAO = "Access-Control-Allow-Origin"
ACAC = "Access-Control-Allow-Credentials"
ACAM = "Access-Control-Allow-Methods"
ACAH = "Access-Control-Allow-Headers"
ACEH = "Access-Control-Expose-Headers"
ACMA = "Access-Control-Max-Age"


# -- main fetch step 12: which path a request takes -----------------------------------------


def test_same_origin_request_is_not_checked():
    """Main fetch step 12.2: same origin, basic tainting, no CORS check."""
    decision = judge_one(cors_get({}, url=f"{PAGE}/api", origin=PAGE))
    assert (decision.kind, decision.verdict) == ("same-origin", "not-applicable")


def test_same_origin_get_without_origin_header():
    """Same-origin GETs carry no Origin; Sec-Fetch-Site says same-origin."""
    decision = judge_one(
        exchange("GET", f"{PAGE}/x", {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"})
    )
    assert decision.kind == "same-origin"


def test_no_cors_is_opaque_not_checked():
    """Main fetch step 12.4: mode no-cors, opaque tainting, never CORS-checked."""
    decision = judge_one(
        exchange("POST", f"{API}/x", {"Origin": PAGE, "Sec-Fetch-Mode": "no-cors"}, 200, {})
    )
    assert (decision.kind, decision.verdict) == ("not-cors", "not-applicable")
    assert "opaque" in decision.explanation


def test_navigation_and_websocket_are_not_cors():
    nav = exchange("POST", f"{API}/form", {"Origin": PAGE, "Sec-Fetch-Mode": "navigate"})
    socket = exchange("GET", f"{API}/ws", {"Origin": PAGE, "Upgrade": "websocket"}, 101)
    assert [d.kind for d in judge(nav, socket)] == ["not-cors", "not-cors"]


def test_request_without_origin_is_a_non_browser_client():
    decision = judge_one(exchange("GET", f"{API}/x", {"User-Agent": "curl/8"}))
    assert decision.kind == "not-cors"
    assert "curl" in decision.explanation


def test_plain_http_without_sec_fetch_is_taken_as_cors_and_says_so():
    """Browsers send Sec-Fetch-* only to trustworthy URLs; an Origin on a GET means CORS."""
    decision = judge_one(
        exchange("GET", "http://api.test/x", {"Origin": "http://app.test"}, 200, {})
    )
    assert (decision.kind, decision.reason) == ("actual", "MissingAllowOriginHeader")
    assert "taken as mode cors" in decision.trace[0].observed


# -- pairing -----------------------------------------------------------------------------------


def test_preflight_is_paired_with_its_actual_request():
    pre = preflight("PUT", {ACAO: PAGE, ACAM: "PUT"}, at=1.0)
    actual = cors_get({ACAO: PAGE}, method="PUT", at=1.05)
    first, second = judge(pre, actual)
    assert (first.kind, first.preflight_for) == ("preflight", actual.id)
    assert (second.kind, second.preflight_id) == ("actual", pre.id)
    assert first.verdict == second.verdict == "allowed"


def test_failed_preflight_says_the_actual_request_was_never_sent():
    decision = judge_one(preflight("PUT", {}, status=405))
    assert decision.preflight_for is None
    assert "The actual request was never sent." in decision.explanation


def test_decisions_come_out_in_capture_order_while_a_preflight_waits():
    analyzer = Analyzer()
    pre = preflight("PUT", {ACAO: PAGE, ACAM: "PUT"}, at=1.0)
    other = cors_get({ACAO: PAGE}, url=f"{API}/other", at=1.01)
    actual = cors_get({ACAO: PAGE}, method="PUT", at=1.02)
    assert analyzer.feed(pre) == []
    assert analyzer.feed(other) == []  # behind the waiting preflight
    assert [d.flow_id for d in analyzer.feed(actual)] == [pre.id, other.id, actual.id]


def test_waiting_preflight_is_settled_after_the_pairing_window():
    """Memory stays bounded: an unpaired preflight is settled once capture time moves on."""
    analyzer = Analyzer(pairing_window=10)
    pre = preflight("PUT", {ACAO: PAGE, ACAM: "PUT"}, at=1.0)
    assert analyzer.feed(pre) == []
    later = cors_get({ACAO: PAGE}, url=f"{API}/later", at=20.0)
    assert [d.flow_id for d in analyzer.feed(later)] == [pre.id, later.id]


# -- the CORS-preflight cache ------------------------------------------------------------------


def test_cached_preflight_explains_a_request_sent_without_one():
    """CORS-preflight cache: within max-age, a matching request sends no preflight."""
    pre = preflight("PUT", {ACAO: PAGE, ACAM: "PUT", ACMA: "600"}, at=1.0)
    first = cors_get({ACAO: PAGE}, method="PUT", at=1.1)
    second = cors_get({ACAO: PAGE}, method="PUT", at=60.0)
    decisions = judge(pre, first, second)
    cache_step = next(s for s in decisions[2].trace if s.check == "Preflight cache")
    assert cache_step.outcome == "pass"
    assert pre.id in cache_step.observed
    assert decisions[2].verdict == "allowed"


def test_expired_cache_entry_is_not_used_and_the_gap_is_explained():
    """Default max-age is 5 s (CORS-preflight fetch step 7.9)."""
    pre = preflight("PUT", {ACAO: PAGE, ACAM: "PUT"}, at=1.0)
    first = cors_get({ACAO: PAGE}, method="PUT", at=1.1)
    late = cors_get({ACAO: PAGE}, method="PUT", at=30.0)
    decision = judge(pre, first, late)[2]
    cache_step = next(s for s in decision.trace if s.check == "Preflight cache")
    assert cache_step.outcome == "info"
    assert "none is in the capture" in cache_step.observed
    assert decision.verdict == "allowed"  # judged on the response, not misjudged


def test_max_age_parsing_follows_chromium():
    """CORS-preflight fetch steps 7.8-7.10, with Chromium's 2 h cap."""
    assert [parse_max_age(v) for v in (None, "abc", "-1", "600", "86400")] == [5, 5, 0, 600, 7200]


def test_uncredentialed_cache_entry_does_not_serve_a_credentialed_request():
    """Cache entry match: an entry made without credentials serves no `include` request."""
    pre = preflight("PUT", {ACAO: PAGE, ACAM: "PUT", ACMA: "600"}, at=1.0)
    first = cors_get({ACAO: PAGE}, method="PUT", at=1.1)
    credentialed = cors_get({ACAO: PAGE, ACAC: "true"}, method="PUT", cookie=True, at=2.0)
    cache_step = next(
        s for s in judge(pre, first, credentialed)[2].trace if s.check == "Preflight cache"
    )
    assert cache_step.outcome == "info"


# -- redirects ---------------------------------------------------------------------------------


def test_redirect_with_userinfo_is_blocked():
    """HTTP-redirect fetch steps 9-10: a CORS redirect to a URL with credentials fails."""
    decision = judge_one(
        cors_get({ACAO: PAGE, "Location": "http://user:pw@localhost:8001/x"}, status=302)
    )
    assert (decision.reason, decision.failed_parameter) == (
        "RedirectContainsCredentials",
        "http://user:pw@localhost:8001/x",
    )
    # Firefox 153 ESR fails it as a network error and logs CORSDidNotSucceed.
    assert decision.firefox_reason == "CORSDidNotSucceed"


def test_redirect_response_itself_must_pass_the_cors_check():
    """Chromium runs the CORS check on each redirect response while the CORS flag is set."""
    decision = judge_one(cors_get({"Location": f"{API}/elsewhere"}, status=302))
    assert decision.reason == "MissingAllowOriginHeader"


def test_hop_after_a_cross_origin_redirect_is_checked_against_null():
    """After a cross-origin redirect the origin serializes to "null" (redirect-taint)."""
    hop = cors_get({ACAO: PAGE}, url=f"{PAGE}/back", origin="null")
    decision = judge_one(hop)
    assert (decision.kind, decision.reason) == ("actual", "AllowOriginMismatch")


# -- exposed headers ---------------------------------------------------------------------------


def test_readable_headers_are_safelisted_plus_exposed():
    """Main fetch step 14: CORS-safelisted response-header names + ACEH."""
    decision = judge_one(
        cors_get(
            {
                ACAO: PAGE,
                "Content-Type": "application/json",
                "X-Total": "3",
                "X-Page": "1",
                ACEH: "X-Total",
            }
        )
    )
    assert decision.readable_headers == ["content-type", "x-total"]
    assert "x-page" in decision.hidden_headers
    assert "`x-page`" in decision.explanation


def test_expose_star_without_credentials_exposes_all_but_set_cookie():
    decision = judge_one(cors_get({ACAO: PAGE, "X-A": "1", "Set-Cookie": "a=b", ACEH: "*"}))
    assert "x-a" in decision.readable_headers
    assert "set-cookie" in decision.hidden_headers


def test_expose_star_with_credentials_is_literal():
    decision = judge_one(cors_get({ACAO: PAGE, ACAC: "true", "X-A": "1", ACEH: "*"}, cookie=True))
    assert "x-a" in decision.hidden_headers


# -- what the browser itself recorded ----------------------------------------------------------


def test_har_entry_failed_by_the_browser_without_response_is_blocked():
    failed = exchange(
        "GET",
        f"{API}/x",
        {"Origin": PAGE, "Sec-Fetch-Mode": "cors"},
        None,
        browser_error="net::ERR_FAILED",
    )
    decision = judge_one(failed)
    assert decision.verdict == "blocked"
    assert decision.reason is None


def test_network_error_is_not_called_cors():
    refused = exchange(
        "GET",
        f"{API}/x",
        {"Origin": PAGE, "Sec-Fetch-Mode": "cors"},
        None,
        browser_error="net::ERR_CONNECTION_REFUSED",
    )
    decision = judge_one(refused)
    assert decision.verdict == "unknown"
    assert "not a CORS one" in decision.explanation


def test_authorization_the_preflight_did_not_ask_for_means_credentials():
    """A page's Authorization is always preflighted; one added by the browser (HTTP auth)
    is sent only with credentials, so `*` is refused."""
    pre = preflight("PUT", {ACAO: "*", ACAM: "PUT"}, at=1.0)
    actual = cors_get({ACAO: "*"}, method="PUT", extra={"Authorization": "Basic dTpw"}, at=1.1)
    first, second = judge(pre, actual)
    assert second.credentials == "include"
    assert "HTTP authentication" in second.credentials_basis
    assert first.reason == "PreflightWildcardOriginNotAllowed"
