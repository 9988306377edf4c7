"""The credentials mode the wire does not show (browser-views.md): read it from the client
connection, deduce it from a preflight, take it from the browser's own record, and where
nothing tells and it would change the verdict, never call the request plainly allowed."""

from __future__ import annotations

from dataclasses import replace

from cors_inspector.engine import Analyzer, Decision, Exchange

from .builders import API, PAGE, cors_get, exchange, judge, preflight

ACAO = "Access-Control-Allow-Origin"
ACAC = "Access-Control-Allow-Credentials"


def on(connection: str, *exchanges: Exchange) -> list[Exchange]:
    return [replace(e, connection=connection) for e in exchanges]


def page_load(at: float) -> Exchange:
    return exchange(
        "GET",
        f"{API}/",
        {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Site": "none"},
        at=at,
    )


def by_id(decisions: list[Decision]) -> dict[str, Decision]:
    return {d.flow_id: d for d in decisions}


def test_wildcard_without_any_sign_is_allowed_but_says_what_credentials_would_do():
    """CORS check step 3: `*` is refused with credentials, and a cookie-less `include` fetch
    looks exactly like an uncredentialed one."""
    (decision,) = judge(cors_get({ACAO: "*"}))
    assert decision.verdict == "allowed" and decision.credentials == "unknown"
    assert decision.verdict_if_credentials == "blocked"
    assert decision.reason_if_credentials == "WildcardOriginNotAllowed"
    assert decision.firefox_reason_if_credentials == "CORSNotSupportingCredentials"
    assert decision.explanation.startswith(
        "Allowed — but blocked if the page sends credentials (fetch `credentials: 'include'`"
    )


def test_echoed_origin_without_allow_credentials_names_invalid_allow_credentials():
    (decision,) = judge(cors_get({ACAO: PAGE}))
    assert decision.reason_if_credentials == "InvalidAllowCredentials"
    assert decision.firefox_reason_if_credentials == "CORSMissingAllowCredentials"


def test_a_response_that_allows_credentials_needs_no_warning():
    (decision,) = judge(cors_get({ACAO: PAGE, ACAC: "true"}))
    assert decision.verdict_if_credentials is None and decision.verdict == "allowed"


def test_a_cookie_on_the_connection_later_settles_an_earlier_request_as_credentialed():
    """Offline, the undecided request waits for its connection to tell (in capture order)."""
    first = cors_get({ACAO: "*"}, at=1000.0)
    later = cors_get({ACAO: PAGE, ACAC: "true"}, cookie=True, at=1001.0)
    decisions = judge(*on("c1", first, later))
    assert [d.flow_id for d in decisions] == [first.id, later.id]  # capture order kept
    settled = decisions[0]
    assert settled.verdict == "blocked" and settled.reason == "WildcardOriginNotAllowed"
    assert settled.credentials == "include"
    assert f"flow {later.id}" in settled.credentials_basis
    assert "Cookie header" in settled.credentials_basis


def test_a_navigation_on_the_connection_means_credentials():
    decisions = judge(*on("c1", page_load(999.0), cors_get({ACAO: PAGE}, at=1000.0)))
    assert decisions[1].verdict == "blocked"
    assert decisions[1].reason == "InvalidAllowCredentials"


def test_a_preflight_on_the_connection_means_without_credentials():
    options = preflight("PUT", {ACAO: "*", "Access-Control-Allow-Methods": "PUT"}, at=999.0)
    put = cors_get({ACAO: "*"}, method="PUT", at=999.5, url=f"{API}/other")
    decisions = judge(*on("c2", options, put))
    actual = by_id(decisions)[put.id]
    assert actual.verdict == "allowed" and actual.credentials == "omit"
    assert actual.verdict_if_credentials is None
    assert "CORS preflight" in actual.credentials_basis


def test_another_connection_tells_nothing():
    decisions = judge(
        *on("c1", cors_get({ACAO: "*"}, at=1000.0)),
        *on("c2", cors_get({ACAO: "*"}, cookie=True, at=1001.0)),
    )
    assert decisions[0].verdict == "allowed" and decisions[0].verdict_if_credentials == "blocked"


def test_nothing_tells_within_the_window_so_it_goes_out_undecided():
    early = cors_get({ACAO: "*"}, at=1000.0)
    late = cors_get({ACAO: PAGE, ACAC: "true"}, cookie=True, at=1100.0)  # past the window
    decisions = judge(*on("c1", early, late))
    assert decisions[0].verdict == "allowed" and decisions[0].verdict_if_credentials == "blocked"


def test_a_connection_that_carries_both_kinds_is_left_out():
    """Where the rule does not hold, nothing is inferred from the connection."""
    options = preflight("PUT", {ACAO: PAGE, "Access-Control-Allow-Methods": "PUT"}, at=999.0)
    with_cookie = cors_get({ACAO: PAGE, ACAC: "true"}, cookie=True, at=999.5, url=f"{API}/a")
    undecided = cors_get({ACAO: "*"}, at=1000.0, url=f"{API}/b")
    decisions = by_id(judge(*on("c3", options, with_cookie, undecided)))
    assert decisions[undecided.id].verdict_if_credentials == "blocked"


def test_sent_after_a_preflight_that_passes_only_without_credentials_means_without():
    """The browser sends the actual request only after its preflight passes."""
    options = preflight("PUT", {ACAO: "*", "Access-Control-Allow-Methods": "PUT"})
    put = cors_get({ACAO: "*"}, method="PUT", at=1000.1)
    pre, actual = judge(options, put)
    assert actual.verdict == "allowed" and actual.credentials == "omit"
    assert "preflight passes only without credentials" in actual.credentials_basis
    assert pre.verdict == "allowed"


def test_live_the_undecided_request_goes_out_at_once_and_a_correction_follows():
    analyzer = Analyzer(ordered=False)
    first = replace(cors_get({ACAO: "*"}, at=1000.0), connection="c1")
    (out,) = analyzer.feed(first)
    assert out.verdict == "allowed" and out.verdict_if_credentials == "blocked"
    later = replace(cors_get({ACAO: PAGE, ACAC: "true"}, cookie=True, at=1001.0), connection="c1")
    outs = analyzer.feed(later)
    correction = next(d for d in outs if d.supersedes == first.id)
    assert correction.flow_id == first.id and correction.verdict == "blocked"
    assert correction.reason == "WildcardOriginNotAllowed"
    assert [d.flow_id for d in outs if d.supersedes is None] == [later.id]


def test_live_a_waiting_preflight_holds_nothing_back():
    analyzer = Analyzer(ordered=False)
    options = preflight("PUT", {ACAO: PAGE, "Access-Control-Allow-Methods": "PUT"}, at=1000.0)
    assert analyzer.feed(options) == []  # waits for its actual request
    other = cors_get({ACAO: PAGE, ACAC: "true"}, cookie=True, url=f"{API}/other", at=1000.1)
    assert [d.flow_id for d in analyzer.feed(other)] == [other.id]
    assert [d.flow_id for d in analyzer.finish()] == [options.id]


def netlog_style(e: Exchange, **known) -> Exchange:
    return replace(e, **known)


def test_the_browser_record_of_credentials_wins_over_the_wire():
    known = netlog_style(
        cors_get({ACAO: "*"}), credentials="include", credentials_basis="Chrome NetLog: privacy"
    )
    (decision,) = judge(known)
    assert decision.verdict == "blocked" and decision.reason == "WildcardOriginNotAllowed"
    assert decision.credentials_basis == "Chrome NetLog: privacy"


def test_a_request_never_sent_takes_its_failed_preflights_reason():
    options = preflight("PUT", {}, status=404)
    never = netlog_style(
        exchange("PUT", f"{API}/items", {"Origin": PAGE, "Sec-Fetch-Mode": "cors"}, status=None),
        sent=False,
        preflight_of=options.id,
        credentials="omit",
    )
    _, actual = judge(options, never)
    assert actual.verdict == "blocked" and actual.reason == "PreflightMissingAllowOriginHeader"
    assert actual.sent is False and "never sent" in actual.explanation


def test_a_disagreement_with_the_browser_is_said_never_hidden():
    claimed = netlog_style(
        cors_get({ACAO: PAGE, ACAC: "true"}, cookie=True),
        browser_verdict="blocked",
        browser_reason="InvalidAllowCredentials",
    )
    (decision,) = judge(claimed)
    assert decision.verdict == "allowed" and decision.browser_verdict == "blocked"
    assert decision.browser_reason == "InvalidAllowCredentials"
    assert "they disagree" in decision.explanation
    assert any(step.check == "The browser's own verdict" for step in decision.trace)


def test_fix_shows_the_credentialed_case_next_to_the_plain_one_and_never_a_wildcard():
    from cors_inspector.fix import suggestions_for

    (suggestion,) = suggestions_for(judge(cors_get({ACAO: "*"}))).values()
    assert suggestion.config.allow_origins == ["*"]  # nothing is blocked as captured
    alternative = suggestion.if_credentials
    assert alternative is not None
    assert alternative.config.allow_origins == [PAGE] and alternative.config.allow_credentials
    assert alternative.verification is not None and alternative.verification.ok
