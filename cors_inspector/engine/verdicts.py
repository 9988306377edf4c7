"""Write what the checks found into a Decision: blocked, allowed, no response, not checked."""

from __future__ import annotations

from .browsers import browser_of
from .classify import Classification
from .cors_check import exposed_headers
from .credentials import credentials_of
from .decision import Decision, Failure, Kind, Step, Verdict
from .exchange import Exchange, Response
from .reasons import console_message, firefox_console_message


def note_proxy_answer(decision: Decision, exchange: Exchange) -> None:
    """Say so when the proxy, not the server, answered the browser."""
    if not exchange.answered_by_proxy:
        return
    decision.trace.insert(
        0,
        Step(
            "Answered by the proxy",
            "capture",
            f"{decision.status} from the proxy: {exchange.error}",
            "an answer from the server",
            "info",
        ),
    )
    decision.explanation = (
        f"The server never answered ({exchange.error}), so the proxy answered "
        f"{decision.status} itself, without CORS headers, and that is what the browser judged. "
        "The server is down or unreachable at that address: fix that first, no CORS setting "
        "helps. " + decision.explanation
    )


def block(decision: Decision, failure: Failure, origin: str) -> None:
    decision.verdict = "blocked"
    decision.reason = failure.reason
    decision.firefox_reason = failure.firefox
    decision.failed_parameter = failure.failed_parameter
    decision.explanation = failure.explanation
    if failure.reason is not None:
        decision.console_message = console_message(
            failure.reason, decision.url, origin, failure.failed_parameter
        )
    if decision.firefox_reason is not None:
        # Firefox names the value it refused: Access-Control-Allow-Origin's, the token, the
        # header; a network-level failure (CORSDidNotSucceed) has no status.
        status = None if decision.firefox_reason == "CORSDidNotSucceed" else decision.status
        decision.firefox_console_message = firefox_console_message(
            decision.firefox_reason, decision.url, _firefox_value(decision, failure), status
        )


def _firefox_value(decision: Decision, failure: Failure) -> str | None:
    """What Firefox quotes: the whole Access-Control-Allow-Origin value it compared."""
    response = decision.exchange.response if decision.exchange is not None else None
    if decision.firefox_reason == "CORSAllowOriginNotMatchingOrigin" and response is not None:
        return response.headers.get("access-control-allow-origin")
    return failure.failed_parameter


def allowed(decision: Decision, response: Response, include: bool, origin: str) -> None:
    readable, hidden = exposed_headers(response, include)
    decision.readable_headers = readable
    decision.hidden_headers = hidden
    trace = decision.trace
    trace.append(
        Step(
            "Readable response headers",
            "Fetch: main fetch, step 14",
            ", ".join(readable) or "none",
            "CORS-safelisted names + Access-Control-Expose-Headers",
            "info",
        )
    )
    words = f"Allowed: the response lets {origin} read it."
    unexposed = [name for name in hidden if not name.startswith("access-control-")]
    if unexposed:
        words += (
            " Script cannot read "
            + ", ".join(f"`{name}`" for name in unexposed[:8])
            + (" and more" if len(unexposed) > 8 else "")
            + ": a header must be listed in Access-Control-Expose-Headers to be readable."
        )
    decision.explanation = words


def without_response(decision: Decision, exchange: Exchange) -> Decision:
    if exchange.browser_error:
        # The browser recorded a failure (a HAR's status 0 and _error) without the response.
        decision.trace.append(
            Step(
                "Response", "the browser's own record", exchange.browser_error, "a response", "fail"
            )
        )
        if exchange.browser_error.endswith("ERR_FAILED"):
            decision.verdict = "blocked"
            decision.explanation = (
                f"The browser failed this request ({exchange.browser_error}) and the capture "
                "keeps no response to show why: a CORS failure is the usual cause, but its "
                "reason needs the response headers (capture it through the proxy)."
            )
            return decision
        decision.verdict = "unknown"
        decision.explanation = (
            f"The browser got no response ({exchange.browser_error}): a network error, not a "
            "CORS one. Is the server up and reachable at that address?"
        )
        return decision
    decision.verdict = "unknown"
    decision.trace.append(
        Step("Response", "Fetch: HTTP fetch", exchange.error or "none", "a response", "fail")
    )
    decision.explanation = (
        f"No response in the capture ({exchange.error or 'the request did not complete'}): "
        "the browser reports a network error, not a CORS one."
    )
    return decision


def decision_for(exchange: Exchange, kind: Kind, origin: str | None, verdict: Verdict) -> Decision:
    request = exchange.request
    return Decision(
        exchange=exchange,
        flow_id=exchange.id,
        started=exchange.started,
        method=request.method,
        url=request.url,
        origin=origin,
        status=exchange.response.status if exchange.response else None,
        kind=kind,
        verdict=verdict,
        sent=exchange.sent,
        browser_verdict=exchange.browser_verdict,
        browser_reason=exchange.browser_reason,
        browser=browser_of(request.headers),
    )


def unrecorded(exchange: Exchange, found: Classification) -> Decision:
    """A failed request whose headers the capture did not keep: the failure alone."""
    decision = decision_for(exchange, "actual", None, "unknown")
    decision.trace.append(Step("Request mode", "Fetch: main fetch, step 12", found.why, "", "info"))
    decision.credentials_basis = "no request headers recorded"
    return without_response(decision, exchange)


def not_checked(exchange: Exchange, found: Classification) -> Decision:
    decision = decision_for(exchange, found.kind, found.origin, "not-applicable")
    decision.explanation = found.why[0].upper() + found.why[1:] + "."
    decision.trace.append(Step("Request mode", "Fetch: main fetch, step 12", found.why, "", "info"))
    decision.credentials, decision.credentials_basis = credentials_of(exchange)
    return decision


def note_browser_view(decision: Decision) -> None:
    """Say so wherever the browser's own verdict disagrees with the rebuild: both answers
    are shown, never one silently."""
    exchange = decision.exchange
    if exchange is None:
        return
    theirs = exchange.browser_verdict  # copied into the decision by decision_for
    if theirs is None:
        return
    # Chromium names its reason as decision.reason does, Firefox as decision.firefox_reason.
    if theirs == decision.verdict and (
        theirs != "blocked"
        or exchange.browser_reason in (None, decision.reason, decision.firefox_reason)
    ):
        return
    browser = theirs + (f" ({exchange.browser_reason})" if exchange.browser_reason else "")
    rebuilt = decision.verdict + (f" ({decision.reason})" if decision.reason else "")
    decision.trace.append(
        Step(
            "The browser's own verdict",
            "the browser's record",
            browser,
            f"rebuilt: {rebuilt}",
            "info",
        )
    )
    decision.explanation += (
        f" The browser itself reported {browser}, where this rebuild says {rebuilt}: they disagree."
    )
