"""Judge an actual CORS request in one credentials mode, with the preflight that served it."""

from __future__ import annotations

from dataclasses import dataclass

from . import explain
from .classify import Classification
from .cors_check import ACAC, ACAO, cors_check, redirect_check
from .decision import Credentials, Decision, Failure, Step
from .exchange import Exchange
from .preflight import PreflightResult, preflight_check
from .preflight_cache import PreflightCache
from .safelists import trim
from .verdicts import allowed, block, decision_for, note_proxy_answer, without_response

Slot = list[Decision | None]  # one decision, filled in when it is final
BUT_WITH_CREDENTIALS = (
    "Allowed — but blocked if the page sends credentials (fetch `credentials: 'include'`, "
    "XHR `withCredentials`)"
)


@dataclass(slots=True)
class PreflightVerdicts:
    """A preflight judged both ways, until its actual request tells the credentials mode."""

    exchange: Exchange
    origin: str
    method: str
    unsafe_headers: list[str]
    without: PreflightResult
    slot: Slot
    firefox: bool = False  # Firefox's rules (its preflight cache)
    released: bool = False  # paired or settled: no longer waiting
    _with_credentials: PreflightResult | None = None

    @property
    def with_credentials(self) -> PreflightResult:
        """Judged for a credentialed actual request, when (and only if) that question comes."""
        if self._with_credentials is None:
            exchange = self.exchange
            self._with_credentials = preflight_check(
                exchange.response,
                exchange.error,
                self.origin,
                self.method,
                self.unsafe_headers,
                True,
                self.firefox,
            )
        return self._with_credentials


def decide_preflight(
    exchange: Exchange,
    origin: str,
    verdicts: PreflightResult,
    actual_id: str | None,
    credentials: Credentials,
    basis: str,
) -> Decision:
    failure, _, trace = verdicts
    request = exchange.request
    method = request.headers.get("access-control-request-method") or "?"
    decision = decision_for(exchange, "preflight", origin, "allowed")
    decision.credentials, decision.credentials_basis = credentials, basis
    decision.preflight_for = actual_id
    decision.trace = list(trace)
    decision.trace.insert(
        0,
        Step(
            "Preflight",
            "Fetch: CORS-preflight fetch, steps 1-5",
            f"OPTIONS for a `{method}` request"
            + (
                f" with headers {request.headers.get('access-control-request-headers')}"
                if "access-control-request-headers" in request.headers
                else ""
            ),
            "the server's permission before the actual request is sent",
            "info",
        ),
    )
    if failure is None:
        decision.explanation = f"Preflight passed: the server allows `{method}` from {origin}" + (
            " with those headers." if "access-control-request-headers" in request.headers else "."
        )
        return decision
    block(decision, failure, origin)
    note_proxy_answer(decision, exchange)
    if actual_id is None:
        decision.explanation += " The actual request was never sent."
    else:
        decision.explanation += (
            f" Yet the actual request was sent (flow {actual_id}): the page's credentials "
            "mode must differ from the one read off the wire."
        )
    return decision


def judge_actual(
    exchange: Exchange,
    found: Classification,
    origin: str,
    preflight: PreflightVerdicts | None,
    credentials: Credentials,
    basis: str,
    cache: PreflightCache,
) -> tuple[Decision, Decision | None]:
    """The actual request judged in one credentials mode, with its preflight's decision."""
    request = exchange.request
    response = exchange.response
    include = credentials == "include"
    decision = decision_for(exchange, "actual", origin, "allowed")
    decision.credentials, decision.credentials_basis = credentials, basis
    trace = decision.trace
    trace.append(
        Step(
            "Request mode",
            "Fetch: main fetch, step 12",
            found.why,
            "a CORS request: the response must pass the CORS check",
            "info",
        )
    )
    preflight_decision = None
    if preflight is not None:
        decision.preflight_id = preflight.exchange.id
        verdicts = preflight.with_credentials if include else preflight.without
        # Firefox's preflight after a cross-origin redirect carries the page's origin, its
        # actual request `null` (nsCORSListenerProxy.cpp): each is judged with its own.
        preflight_decision = decide_preflight(
            preflight.exchange, preflight.origin, verdicts, exchange.id, credentials, basis
        )
        trace.append(
            Step(
                "Preflight",
                "Fetch: HTTP fetch, step 4.1",
                f"sent first (flow {preflight.exchange.id})",
                "a passed preflight",
                "fail" if verdicts.failure else "pass",
            )
        )
        if verdicts.failure is not None:
            block(decision, verdicts.failure, origin)
            if not exchange.sent:
                decision.explanation += " The actual request was never sent."
            return decision, preflight_decision
        cache.remember(preflight.origin, preflight.exchange, verdicts.grant)
    elif not exchange.sent:
        return never_sent(decision, exchange, origin, cache), None
    else:
        cache.explain_missing(exchange, include, trace)
    if response is None:
        return without_response(decision, exchange), preflight_decision
    if response.status == 304:
        trace.append(
            Step("Revalidation", "Fetch: HTTP fetch, step 4.4", "304 Not Modified", "", "info")
        )
        decision.explanation = (
            "304 Not Modified: the browser reuses its cached response, "
            "whose CORS headers it checked before."
        )
        return decision, preflight_decision
    failure = cors_check(response, origin, include, trace)
    if failure is None and 300 <= response.status < 400:
        failure = redirect_check(response, trace, found.browser == "firefox")
    if failure is not None:
        cache.forget(origin, request.url)
        block(decision, failure, origin)
        note_proxy_answer(decision, exchange)
        return decision, preflight_decision
    allowed(decision, response, include, origin)
    return decision, preflight_decision


def never_sent(
    decision: Decision, exchange: Exchange, origin: str, cache: PreflightCache
) -> Decision:
    """The browser's record says it never sent this request: its preflight failed."""
    failure = cache.failure_of(exchange.preflight_of)
    if failure is None:
        decision.verdict = "unknown"
        decision.explanation = (
            "The browser never sent this request, and the capture holds no failed "
            "preflight to say why."
        )
        return decision
    decision.preflight_id = exchange.preflight_of
    decision.trace.append(
        Step(
            "Preflight",
            "Fetch: HTTP fetch, step 4.1",
            f"failed (flow {exchange.preflight_of})",
            "a passed preflight",
            "fail",
        )
    )
    block(decision, failure, origin)
    decision.explanation += " The actual request was never sent."
    return decision


def too_many_redirects(decision: Decision, redirects: int) -> None:
    """Fetch HTTP-redirect fetch, step 5: a 21st redirect is a network error. Firefox logs
    CORSDidNotSucceed for it (and Chromium no CORS error): blocked for Firefox's traffic;
    for the others, the trace says so."""
    if decision.verdict != "allowed":
        return
    firefox = decision.browser == "firefox"
    decision.trace.append(
        Step(
            "Redirect count",
            "Fetch: HTTP-redirect fetch, step 5",
            f"{redirects} redirects followed before this one",
            "at most 20" + ("" if firefox else " (Firefox: CORSDidNotSucceed)"),
            "fail" if firefox else "info",
        )
    )
    if firefox:
        failure = Failure(None, None, explain.too_many_redirects(redirects), "CORSDidNotSucceed")
        block(decision, failure, decision.origin or "null")


def failure_with_credentials(exchange: Exchange, origin: str) -> Failure | None:
    """Why the response would fail the CORS check with credentials where it passes
    without (CORS check steps 3-7: `*` is refused, and ACAC must be `true`)."""
    response = exchange.response
    if response is None or response.status == 304 or not exchange.sent:
        return None
    # On the hot path for every CORS response: the header tells, before any check runs.
    # Without credentials it passes only with `*` or the origin (CORS check steps 1-4)...
    allowed = ", ".join(trim(value) for value in response.headers.get_all(ACAO))
    if allowed != "*" and allowed != origin:
        return None  # blocked either way
    # ... and with them, only with the origin and ACAC `true` (steps 3-7).
    if allowed == origin and response.headers.get(ACAC) == "true":
        return None
    return cors_check(response, origin, True, [])


def mark_undecided(decision: Decision, failure: Failure) -> None:
    """Judged without credentials, saying what credentials would change."""
    decision.verdict_if_credentials = "blocked"
    decision.reason_if_credentials = failure.reason
    decision.firefox_reason_if_credentials = failure.firefox
    decision.credentials_basis = (
        "no Cookie header, and nothing on its connection tells; had the page asked for "
        "credentials ('include') with no cookie stored, the browser would block this: it "
        "needs the exact origin in Access-Control-Allow-Origin and "
        "Access-Control-Allow-Credentials: true"
    )
    decision.trace.append(
        Step(
            "Credentials mode",
            "Fetch: CORS check, steps 3-7",
            "not shown by the wire (no Cookie, nothing on the connection)",
            f"with credentials: {failure.reason}",
            "info",
        )
    )
    decision.explanation = (
        f"{BUT_WITH_CREDENTIALS}: {failure.explanation} Without credentials: "
        + decision.explanation
    )
