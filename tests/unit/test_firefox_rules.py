"""Each request is judged as the browser that sent it: Firefox's rules where they differ from
Chromium's (as measured against Firefox 153 ESR by tests/browser/test_agreement_firefox.py)."""

from cors_inspector.engine.browsers import browser_of
from cors_inspector.engine.exchange import Headers
from cors_inspector.engine.preflight import parse_max_age

from .builders import API, PAGE, cors_get, judge, judge_one, preflight

FIREFOX_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0"
CHROMIUM_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/156.0.0.0 Safari/537.36"
FIREFOX = {"User-Agent": FIREFOX_UA}
ACAO = "Access-Control-Allow-Origin"
ACAM = "Access-Control-Allow-Methods"


def firefox(exchange):
    exchange.request.headers = Headers((*exchange.request.headers.pairs, *FIREFOX.items()))
    return exchange


def test_the_browser_is_read_from_the_request():
    assert browser_of(Headers((("User-Agent", FIREFOX_UA),))) == "firefox"
    assert browser_of(Headers((("User-Agent", CHROMIUM_UA),))) == "chromium"
    assert browser_of(Headers((("sec-ch-ua", '"Chromium";v="156"'),))) == "chromium"
    assert browser_of(Headers((("User-Agent", "curl/8"),))) == "unknown"
    assert browser_of(Headers()) == "unknown"


def test_firefox_traffic_is_reported_with_firefox_s_reason_and_console_line():
    decision = judge_one(firefox(cors_get({}, status=200)))
    assert (decision.browser, decision.verdict) == ("firefox", "blocked")
    assert decision.reason == "MissingAllowOriginHeader"  # Chromium's name stays in `reason`
    assert decision.headline_reason == "CORSMissingAllowOrigin (Chromium: MissingAllowOriginHeader)"
    assert decision.firefox_console_message == (
        "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote "
        f"resource at {API}/items. (Reason: CORS header \u2018Access-Control-Allow-Origin\u2019 "
        "missing). Status code: 200."
    )


def test_unknown_traffic_keeps_chromium_s_headline():
    decision = judge_one(cors_get({}))
    assert (decision.browser, decision.headline_reason) == ("unknown", "MissingAllowOriginHeader")


def test_a_preflight_redirect_without_acao_is_firefox_s_missing_allow_origin():
    """Firefox runs the CORS check before refusing the redirect (nsCORSListenerProxy.cpp)."""
    decision = judge_one(preflight("PUT", {"Location": f"{API}/other"}, status=307))
    assert decision.reason == "PreflightDisallowedRedirect"
    assert decision.firefox_reason == "CORSMissingAllowOrigin"
    with_acao = judge_one(preflight("PUT", {ACAO: PAGE, "Location": f"{API}/x"}, status=301))
    assert with_acao.firefox_reason == "CORSExternalRedirectNotAllowed"


def test_a_redirect_to_data_is_blocked_for_firefox_only():
    redirect = {ACAO: PAGE, "Location": "data:text/plain,hi"}
    decision = judge_one(firefox(cors_get(redirect, status=302)))
    assert (decision.verdict, decision.reason, decision.firefox_reason) == (
        "blocked",
        None,
        "CORSDidNotSucceed",
    )
    assert decision.firefox_console_message.endswith("Status code: (null).")
    unknown = judge_one(cors_get(redirect, status=302))
    assert unknown.verdict == "allowed"
    assert any("Firefox: CORSDidNotSucceed" in step.needed for step in unknown.trace)


def test_a_21st_redirect_is_blocked_for_firefox():
    def hop(n: int, browser: dict[str, str]):
        location = {ACAO: PAGE, "Location": f"{API}/r{n + 1}"}
        return cors_get(location, status=302, url=f"{API}/r{n}", extra=browser, at=1000 + n)

    chain = judge(*(hop(n, FIREFOX) for n in range(21)))
    assert [d.verdict for d in chain[:20]] == ["allowed"] * 20
    assert (chain[20].verdict, chain[20].firefox_reason) == ("blocked", "CORSDidNotSucceed")
    unknown = judge(*(hop(n, {}) for n in range(21)))
    assert unknown[20].verdict == "allowed"  # Chromium's rules: a network error, no CORS error
    assert any(step.check == "Redirect count" for step in unknown[20].trace)


def test_firefox_s_null_actual_request_pairs_with_its_real_origin_preflight():
    """After a cross-origin redirect Firefox's preflight carries the page's origin and its
    actual request `null`: paired, and judged allowed (not "never sent", not credentialed)."""
    url = f"{API}/two"
    pf = firefox(preflight("PUT", {ACAO: "*", ACAM: "PUT"}, status=204, url=url))
    actual = firefox(cors_get({ACAO: "*"}, url=url, origin="null", method="PUT", at=1000.1))
    preflight_decision, actual_decision = judge(pf, actual)
    assert actual_decision.preflight_id == pf.id
    assert (preflight_decision.verdict, actual_decision.verdict) == ("allowed", "allowed")
    assert preflight_decision.origin == PAGE


def test_firefox_caches_no_preflight_whose_max_age_is_not_digits():
    assert parse_max_age("ten", firefox=True) == 0
    assert parse_max_age("-1", firefox=True) == 0
    assert parse_max_age(None, firefox=True) == 5
    assert parse_max_age("100000", firefox=True) == 86400
    assert parse_max_age("ten") == 5  # Chromium: the 5 s default
