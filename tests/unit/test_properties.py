"""Property-based tests over generated exchanges: the engine never crashes, and its
decisions keep the invariants a browser's do."""

import pytest

pytest.importorskip("hypothesis", reason="the property tests need hypothesis (the test extra)")

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cors_inspector.engine import Analyzer, Exchange, Headers, Request, Response

ORIGINS = [
    "http://localhost:3000",
    "http://127.0.0.1:3000",
    "null",
    "https://app.test",
    "http://localhost:3000/",
    "",
    "HTTP://LOCALHOST:3000",
]
URLS = [
    "http://localhost:8000/items",
    "http://localhost:3000/api",
    "https://api.test/x?a=1",
    "http://[::1]:8000/",
    "http://user:pw@localhost:8000/",
    "not a url",
    "ftp://x/",
    "http://localhost:99999999/",
    "http://ex\u00e4mple.test/",
]
METHODS = ["GET", "POST", "PUT", "patch", "OPTIONS", "DELETE", "HEAD", "FOO", "get", ""]
HEADER_NAMES = [
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Credentials",
    "Access-Control-Allow-Methods",
    "Access-Control-Allow-Headers",
    "Access-Control-Expose-Headers",
    "Access-Control-Max-Age",
    "Location",
    "Content-Type",
    "Set-Cookie",
    "X-Custom",
    "Vary",
]
REQUEST_NAMES = [
    "Origin",
    "Sec-Fetch-Mode",
    "Sec-Fetch-Site",
    "Cookie",
    "Authorization",
    "Access-Control-Request-Method",
    "Access-Control-Request-Headers",
    "Content-Type",
    "Range",
    "Accept",
    "X-Token",
    "Upgrade",
    "Sec-Fetch-Storage-Access",
]
# Latin-1 text: what the readers produce (one character a byte), obs-text and controls included.
values = st.one_of(
    st.sampled_from(
        ORIGINS
        + METHODS
        + [
            "*",
            "true",
            "True",
            "cors",
            "no-cors",
            "navigate",
            "same-origin",
            "websocket",
            "x-token,authorization",
            "bytes=0-",
            "text/plain",
            "application/json",
            "600",
            "-1",
            "abc",
        ]
    ),
    st.text(alphabet=st.characters(max_codepoint=255), max_size=200),
)


def header_pairs(names):
    return st.lists(st.tuples(st.sampled_from(names), values), max_size=8).map(tuple)


@st.composite
def exchanges(draw):
    response = draw(
        st.one_of(
            st.none(),
            st.builds(
                Response,
                st.integers(100, 999),
                header_pairs(HEADER_NAMES).map(Headers),
                st.just(""),
                st.sampled_from(["", "Disallowed CORS origin, method"]),
            ),
        )
    )
    return Exchange(
        id=draw(st.uuids()).hex,
        started=draw(st.floats(0, 100, allow_nan=False)),
        request=Request(
            draw(st.sampled_from(METHODS)),
            draw(st.sampled_from(URLS)),
            Headers(draw(header_pairs(REQUEST_NAMES))),
        ),
        response=response,
        ended=None,
        error=draw(st.one_of(st.none(), st.just("Connection refused"))),
        browser_error=draw(
            st.one_of(st.none(), st.sampled_from(["net::ERR_FAILED", "net::ERR_CONNECTION_RESET"]))
        ),
    )


ACAO, ACAC = "access-control-allow-origin", "access-control-allow-credentials"
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.lists(exchanges(), max_size=12))
def test_every_exchange_gets_exactly_one_decision_and_nothing_raises(capture):
    decisions = list(Analyzer().run(capture))
    assert [d.flow_id for d in decisions] == [e.id for e in capture]
    for decision in decisions:
        assert decision.verdict in ("allowed", "blocked", "not-applicable", "unknown")
        assert (decision.verdict == "blocked") <= (decision.kind in ("preflight", "actual"))


@FAST
@given(exchanges())
def test_same_origin_is_never_blocked(exchange):
    (decision,) = Analyzer().run([exchange])
    if decision.kind == "same-origin":
        assert decision.verdict == "not-applicable"


def _swap_case(headers: Headers) -> Headers:
    return Headers(tuple((name.swapcase(), value) for name, value in headers.pairs))


@FAST
@given(exchanges())
def test_verdict_does_not_depend_on_header_name_case(exchange):
    (before,) = Analyzer().run([exchange])
    exchange.request.headers = _swap_case(exchange.request.headers)
    if exchange.response:
        exchange.response.headers = _swap_case(exchange.response.headers)
    (after,) = Analyzer().run([exchange])
    assert (after.kind, after.verdict, after.reason) == (before.kind, before.verdict, before.reason)


@FAST
@given(exchanges())
def test_adding_the_missing_allow_origin_never_turns_allowed_into_blocked(exchange):
    """Allowing the exact origin (and credentials) can only help a CORS response."""
    (before,) = Analyzer().run([exchange])
    if before.kind != "actual" or exchange.response is None or before.verdict != "blocked":
        return
    if "," in before.origin or " " in before.origin or before.origin == "*":
        # No Access-Control-Allow-Origin value can name such an origin (`*` is the wildcard,
        # never an origin: no browser sends `Origin: *`).
        return
    if before.reason not in (
        "MissingAllowOriginHeader",
        "AllowOriginMismatch",
        "InvalidAllowOriginValue",
        "WildcardOriginNotAllowed",
        "MultipleAllowOriginValues",
        "InvalidAllowCredentials",
    ):
        return
    kept = [
        (name, value)
        for name, value in exchange.response.headers.pairs
        if name.lower() not in (ACAO, ACAC, "location")
    ]
    fixed = (*kept, (ACAO, before.origin), (ACAC, "true"))
    exchange.response.headers = Headers(fixed)
    (after,) = Analyzer().run([exchange])
    assert after.verdict == "allowed", after.explanation


@FAST
@given(exchanges(), exchanges())
def test_an_unrelated_exchange_never_changes_a_verdict(first, second):
    first.request.url = "http://localhost:8000/items"
    second.request.url = "http://unrelated.test/elsewhere"
    (alone,) = Analyzer().run([second])
    together = list(Analyzer().run([first, second]))[1]
    assert (together.verdict, together.reason) == (alone.verdict, alone.reason)
