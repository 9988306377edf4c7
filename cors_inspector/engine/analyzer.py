"""Rebuild the browser's CORS decision for every exchange of a capture, in capture order.

The Analyzer is fed exchanges one by one (from a file or live from the proxy) and hands back
decisions as soon as they are final. A preflight's verdict depends on the credentials mode of
the actual request it served, which comes later, so a preflight waits (a bounded time, in
capture time) for its actual request; everything behind it waits with it, so that decisions
come out in capture order. Memory is bounded by that window, not by the capture.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .checks import (
    ACAC,
    ACAO,
    PreflightGrant,
    cors_check,
    exposed_headers,
    header_values,
    preflight_check,
    redirect_check,
)
from .decision import Credentials, Decision, Failure, Kind, Step, Verdict
from .exchange import Exchange, Response
from .origins import url_parts
from .reasons import CORS_ERRORS, console_message
from .safelists import SAFELISTED_METHODS, page_unsafe_headers, trim

PAIRING_WINDOW = 10.0  # seconds of capture time a preflight waits for its actual request
MAX_WAITING = 2000  # preflights waiting at once, before the oldest is settled unpaired
PREFLIGHT_CACHE_ENTRIES = 1024  # Chromium's limit


@dataclass(slots=True)
class _Classification:
    kind: Kind
    origin: str | None
    why: str
    inferred_mode: bool = False  # no Sec-Fetch-Mode on the wire: the mode is a guess


def classify(exchange: Exchange) -> _Classification:
    """Fetch "main fetch" step 12: which path the browser took, read back from the wire."""
    request = exchange.request
    headers = request.headers
    origin = headers.get("origin")
    if origin is not None:
        origin = trim(origin)  # as any HTTP parser reads a field value
    mode = headers.get("sec-fetch-mode")
    site = headers.get("sec-fetch-site")
    if (
        request.method.upper() == "OPTIONS"
        and origin is not None
        and ("access-control-request-method" in headers)
    ):
        return _Classification(
            "preflight",
            origin,
            "OPTIONS with Origin and Access-Control-Request-Method: a CORS preflight",
        )
    target = url_parts(request.url)
    if target is None:
        return _Classification("not-cors", origin, "not an http(s) URL: no CORS check applies")
    if mode == "websocket" or (headers.get("upgrade") or "").lower() == "websocket":
        return _Classification(
            "not-cors",
            origin,
            "a WebSocket handshake: the browser does no "
            "CORS check; the server must check Origin itself",
        )
    if mode == "navigate":
        return _Classification(
            "not-cors", origin, "a navigation (Sec-Fetch-Mode: navigate): no CORS check"
        )
    if mode == "no-cors":
        return _Classification(
            "not-cors",
            origin,
            "mode no-cors (Sec-Fetch-Mode: no-cors): "
            "never CORS-checked; a cross-origin response is opaque to the "
            "page (status 0, no headers, no body)",
        )
    if origin is None:
        if site == "same-origin" or mode == "same-origin":
            return _Classification(
                "same-origin", None, "same origin (Sec-Fetch-Site: same-origin): no CORS check"
            )
        return _Classification(
            "not-cors",
            None,
            "no Origin header: a navigation, a no-cors "
            "GET, or a client that is not a browser (curl, Postman, a "
            "server); no CORS check applies",
        )
    if origin == target.origin:
        return _Classification(
            "same-origin", origin, f"the page's origin {origin} is the target's: no CORS check"
        )
    if mode == "cors":
        return _Classification(
            "actual",
            origin,
            f"a cross-origin request from {origin} to "
            f"{target.origin} in mode cors (Sec-Fetch-Mode: cors)",
        )
    # No Sec-Fetch-Mode: browsers send it only to https and loopback URLs.
    accept = headers.get("accept") or ""
    if request.method.upper() not in ("GET", "HEAD") and accept.startswith("text/html"):
        return _Classification(
            "not-cors",
            origin,
            "looks like a form submission (Origin on a "
            f"{request.method} asking for HTML, no Sec-Fetch-Mode): a "
            "navigation, no CORS check",
            inferred_mode=True,
        )
    return _Classification(
        "actual",
        origin,
        f"a cross-origin request from {origin} to "
        f"{target.origin}; taken as mode cors (an Origin header and no "
        "Sec-Fetch-Mode, which browsers send only to https and loopback "
        "URLs)",
        inferred_mode=True,
    )


def _credentials_of(
    exchange: Exchange, preflighted_headers: list[str] | None = None
) -> tuple[Credentials, str]:
    """The credentials mode, as far as the wire shows it (it is never sent as such)."""
    headers = exchange.request.headers
    if "cookie" in headers:
        return "include", "inferred: the request carries a Cookie header"
    if (
        "authorization" in headers
        and preflighted_headers is not None
        and "authorization" not in preflighted_headers
    ):
        # A page's own Authorization is always preflighted; one its preflight did not ask
        # for was added by the browser: HTTP authentication, sent only with credentials.
        return "include", "inferred: the browser added HTTP authentication (Authorization)"
    if "sec-fetch-storage-access" in headers:
        # Storage Access Headers: sent only on cross-site requests whose mode is 'include'.
        return "include", "inferred: Chromium sent Sec-Fetch-Storage-Access, which it adds "
        "only to cross-site requests made with credentials"
    return "omit", "inferred: the request carries no Cookie header"


@dataclass(slots=True)
class _PreflightVerdicts:
    """A preflight judged both ways, until its actual request tells the credentials mode."""

    exchange: Exchange
    origin: str
    method: str
    unsafe_headers: list[str]
    without: tuple[Failure | None, PreflightGrant | None, list[Step]]
    slot: list[Decision | None]
    released: bool = False  # paired or settled: no longer waiting
    _with_credentials: tuple[Failure | None, PreflightGrant | None, list[Step]] | None = None

    @property
    def with_credentials(self) -> tuple[Failure | None, PreflightGrant | None, list[Step]]:
        """Judged for a credentialed actual request, when (and only if) that question comes."""
        if self._with_credentials is None:
            trace: list[Step] = []
            exchange = self.exchange
            failure, grant = preflight_check(
                exchange.response,
                exchange.error,
                self.origin,
                self.method,
                self.unsafe_headers,
                True,
                trace,
            )
            self._with_credentials = (failure, grant, trace)
        return self._with_credentials


class Analyzer:
    """Feed exchanges in capture order; get final decisions back in the same order."""

    def __init__(self, pairing_window: float = PAIRING_WINDOW) -> None:
        self._window = pairing_window
        self._queue: deque[list[Decision | None]] = deque()  # one-item slots, in capture order
        self._waiting: dict[tuple[str, str], list[_PreflightVerdicts]] = {}
        self._arrivals: deque[_PreflightVerdicts] = deque()  # waiting ones, oldest first
        self._waiting_count = 0
        self._cache: dict[tuple[str, str], tuple[float, PreflightGrant, str]] = {}
        self._clock = 0.0

    def feed(self, exchange: Exchange) -> list[Decision]:
        self._clock = max(self._clock, exchange.started)
        self._settle_expired()
        found = classify(exchange)
        slot: list[Decision | None] = [None]
        self._queue.append(slot)
        if found.kind == "preflight":
            self._hold_preflight(exchange, found, slot)
        elif found.kind == "actual":
            slot[0] = self._judge_actual(exchange, found)
        else:
            slot[0] = _not_checked(exchange, found)
        return self._drain()

    def tick(self, now: float) -> list[Decision]:
        """Let capture time pass without traffic (live capture): settle expired preflights."""
        self._clock = max(self._clock, now)
        self._settle_expired()
        return self._drain()

    def finish(self) -> list[Decision]:
        """Settle every preflight still waiting (end of the capture)."""
        while self._arrivals:
            preflight = self._arrivals.popleft()
            if not preflight.released:
                self._settle_unpaired(preflight)
        return self._drain()

    def _drain(self) -> list[Decision]:
        ready: list[Decision] = []
        queue = self._queue
        while queue and queue[0][0] is not None:
            ready.append(queue.popleft()[0])  # type: ignore[arg-type]
        return ready

    def run(self, exchanges: Iterable[Exchange]) -> Iterator[Decision]:
        for exchange in exchanges:
            yield from self.feed(exchange)
        yield from self.finish()

    # -- preflights ---------------------------------------------------------------------------

    def _hold_preflight(
        self, exchange: Exchange, found: _Classification, slot: list[Decision | None]
    ) -> None:
        headers = exchange.request.headers
        origin = found.origin or "null"
        method = headers.get("access-control-request-method") or ""
        unsafe = header_values(headers, "access-control-request-headers")
        trace_without: list[Step] = []
        failure, grant = preflight_check(
            exchange.response, exchange.error, origin, method, unsafe, False, trace_without
        )
        without = (failure, grant, trace_without)
        if failure is not None:
            # Fails whatever the credentials: the actual request was never sent.
            slot[0] = self._preflight_decision(
                exchange,
                origin,
                without,
                None,
                "unknown",
                "no actual request was sent, so its credentials mode cannot be seen; "
                "it would not change this verdict",
            )
            return
        verdicts = _PreflightVerdicts(exchange, origin, method, unsafe, without, slot)
        self._waiting.setdefault((origin, exchange.request.url), []).append(verdicts)
        self._arrivals.append(verdicts)
        self._waiting_count += 1
        while self._waiting_count > MAX_WAITING:
            oldest = self._arrivals.popleft()
            if not oldest.released:
                self._settle_unpaired(oldest)

    def _release(self, preflight: _PreflightVerdicts) -> None:
        key = (preflight.origin, preflight.exchange.request.url)
        waiting = self._waiting[key]
        waiting.remove(preflight)
        if not waiting:
            del self._waiting[key]
        preflight.released = True
        self._waiting_count -= 1

    def _settle_expired(self) -> None:
        """Settle the preflights that waited longer than the pairing window, oldest first."""
        arrivals = self._arrivals
        horizon = self._clock - self._window
        while arrivals:
            oldest = arrivals[0]
            if (
                not oldest.released
                and (oldest.exchange.ended or oldest.exchange.started) >= horizon
            ):
                return
            arrivals.popleft()
            if not oldest.released:
                self._settle_unpaired(oldest)

    def _settle_unpaired(self, preflight: _PreflightVerdicts) -> None:
        self._release(preflight)
        exchange = preflight.exchange
        failure_with = preflight.with_credentials[0]
        if failure_with is not None:
            # It passes only without credentials, and no actual request followed: the page
            # asked for credentials, and the browser stopped at the preflight.
            preflight.slot[0] = self._preflight_decision(
                exchange,
                preflight.origin,
                preflight.with_credentials,
                None,
                "include",
                "inferred: the preflight passes only without credentials, and no actual "
                "request followed it, so the page must have asked for credentials",
            )
            return
        decision = self._preflight_decision(
            exchange,
            preflight.origin,
            preflight.without,
            None,
            "unknown",
            "no actual request followed it",
        )
        decision.explanation += (
            " No actual request followed it in the capture (the page may have been closed, or "
            "the capture stopped)."
        )
        preflight.slot[0] = decision
        self._remember_grant(preflight.origin, exchange, preflight.without[1])

    def _remember_grant(
        self, origin: str, exchange: Exchange, grant: PreflightGrant | None
    ) -> None:
        if grant is None or grant.max_age <= 0:
            return
        # Fetch "CORS-preflight cache": keyed by origin and URL; Chromium keeps one entry a key,
        # and at most 1024 entries (preflight_cache.cc): the oldest goes first.
        key = (origin, exchange.request.url)
        fetched = exchange.ended or exchange.started
        self._cache.pop(key, None)
        self._cache[key] = (fetched + grant.max_age, grant, exchange.id)
        if len(self._cache) > PREFLIGHT_CACHE_ENTRIES:
            del self._cache[next(iter(self._cache))]

    def _pair(self, origin: str, exchange: Exchange) -> _PreflightVerdicts | None:
        for preflight in self._waiting.get((origin, exchange.request.url), ()):
            if preflight.method == exchange.request.method:
                self._release(preflight)
                return preflight
        return None

    def _preflight_decision(
        self,
        exchange: Exchange,
        origin: str,
        verdicts: tuple[Failure | None, PreflightGrant | None, list[Step]],
        actual_id: str | None,
        credentials: Credentials,
        basis: str,
    ) -> Decision:
        failure, _, trace = verdicts
        request = exchange.request
        method = request.headers.get("access-control-request-method") or "?"
        decision = _decision_for(exchange, "preflight", origin, "allowed")
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
            decision.explanation = (
                f"Preflight passed: the server allows `{method}` from {origin}"
                + (
                    " with those headers."
                    if "access-control-request-headers" in request.headers
                    else "."
                )
            )
            return decision
        _block(decision, failure, origin)
        _note_proxy_answer(decision, exchange)
        if actual_id is None:
            decision.explanation += " The actual request was never sent."
        else:
            decision.explanation += (
                f" Yet the actual request was sent (flow {actual_id}): the page's credentials "
                "mode must differ from the one read off the wire."
            )
        return decision

    # -- actual requests ----------------------------------------------------------------------

    def _judge_actual(self, exchange: Exchange, found: _Classification) -> Decision:
        request = exchange.request
        origin = found.origin or "null"
        response = exchange.response
        decision = _decision_for(exchange, "actual", origin, "allowed")
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
        preflight = self._pair(origin, exchange)
        credentials, basis = _credentials_of(
            exchange, preflight.unsafe_headers if preflight else None
        )
        include = credentials == "include"
        key = (origin, request.url)
        if preflight is not None:
            decision.preflight_id = preflight.exchange.id
            verdicts = preflight.with_credentials if include else preflight.without
            preflight.slot[0] = self._preflight_decision(
                preflight.exchange, origin, verdicts, exchange.id, credentials, basis
            )
            trace.append(
                Step(
                    "Preflight",
                    "Fetch: HTTP fetch, step 4.1",
                    f"sent first (flow {preflight.exchange.id})",
                    "a passed preflight",
                    "fail" if verdicts[0] else "pass",
                )
            )
            if verdicts[0] is not None:
                # The capture shows the request sent although its preflight fails: the
                # credentials mode inferred from the wire must differ from the page's.
                _block(decision, verdicts[0], origin)
                decision.credentials, decision.credentials_basis = credentials, basis
                return decision
            self._remember_grant(origin, preflight.exchange, verdicts[1])
        else:
            self._note_missing_preflight(exchange, include, trace)
        decision.credentials, decision.credentials_basis = credentials, basis
        if response is None:
            return _without_response(decision, exchange)
        if response.status == 304:
            trace.append(
                Step("Revalidation", "Fetch: HTTP fetch, step 4.4", "304 Not Modified", "", "info")
            )
            decision.explanation = (
                "304 Not Modified: the browser reuses its cached response, "
                "whose CORS headers it checked before."
            )
            return decision
        failure = cors_check(response, origin, include, trace)
        if failure is None and 300 <= response.status < 400:
            failure = redirect_check(response, trace)
        if failure is not None:
            self._cache.pop(key, None)  # Fetch main fetch step 12.6: a failure clears the cache
            _block(decision, failure, origin)
            _note_proxy_answer(decision, exchange)
            return decision
        # It passed without credentials, so ACAO is the origin or `*`; with credentials
        # (CORS check steps 3-7) `*` fails, and so does anything but ACAC `true`.
        if not include and (
            trim(response.headers.get(ACAO) or "") == "*" or response.headers.get(ACAC) != "true"
        ):
            decision.credentials = "unknown"
            decision.credentials_basis = (
                "no Cookie header; had the page asked for credentials ('include') with no "
                "cookie stored, the browser would block this: it needs the exact origin in "
                "Access-Control-Allow-Origin and Access-Control-Allow-Credentials: true"
            )
        _allowed(decision, response, include, origin)
        return decision

    def _note_missing_preflight(self, exchange: Exchange, include: bool, trace: list[Step]) -> None:
        request = exchange.request
        unsafe = page_unsafe_headers(request.headers)
        method = request.method
        why = []
        if method not in SAFELISTED_METHODS:
            why.append(f"method `{method}` is not GET, HEAD or POST")
        if unsafe:
            why.append(
                "headers " + ", ".join(f"`{name}`" for name in unsafe) + " are not CORS-safelisted"
            )
        if not why:
            trace.append(
                Step(
                    "Preflight needed?",
                    "Fetch: main fetch, step 12.7",
                    f"`{method}` with CORS-safelisted headers only",
                    "no preflight for a simple request",
                    "pass",
                )
            )
            return
        reasons = " and ".join(why)
        cached = self._cache.get((request.headers.get("origin") or "null", request.url))
        if cached is not None:
            expires, grant, source = cached
            if exchange.started <= expires and grant.allows(method, unsafe, include):
                trace.append(
                    Step(
                        "Preflight cache",
                        "Fetch: CORS-preflight cache (HTTP fetch, step 4.1)",
                        f"no preflight sent: {reasons}, but the preflight of flow {source} is "
                        f"cached (max-age {grant.max_age} s)",
                        "a cached, matching preflight",
                        "pass",
                    )
                )
                return
        trace.append(
            Step(
                "Preflight cache",
                "Fetch: CORS-preflight cache (HTTP fetch, step 4.1)",
                f"a preflight was needed ({reasons}), yet none is in the capture",
                "a preflight, or a cached one",
                "info",
            )
        )
        trace.append(
            Step(
                "Why no preflight",
                "Chromium preflight cache",
                "the browser had a preflight "
                "cached from before the capture began (Chromium keeps them up to 2 h), or the "
                "request did not come from a browser",
                "judging the response alone",
                "info",
            )
        )


def _note_proxy_answer(decision: Decision, exchange: Exchange) -> None:
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


def _block(decision: Decision, failure: Failure, origin: str) -> None:
    decision.verdict = "blocked"
    decision.reason = failure.reason
    decision.firefox_reason = failure.firefox_reason or CORS_ERRORS[failure.reason].firefox
    decision.failed_parameter = failure.failed_parameter
    decision.explanation = failure.explanation
    decision.console_message = console_message(
        failure.reason, decision.url, origin, failure.failed_parameter
    )


def _allowed(decision: Decision, response: Response, include: bool, origin: str) -> None:
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


def _without_response(decision: Decision, exchange: Exchange) -> Decision:
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


def _decision_for(exchange: Exchange, kind: Kind, origin: str | None, verdict: Verdict) -> Decision:
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
    )


def _not_checked(exchange: Exchange, found: _Classification) -> Decision:
    decision = _decision_for(exchange, found.kind, found.origin, "not-applicable")
    decision.explanation = found.why[0].upper() + found.why[1:] + "."
    decision.trace.append(Step("Request mode", "Fetch: main fetch, step 12", found.why, "", "info"))
    decision.credentials, decision.credentials_basis = _credentials_of(exchange)
    return decision


def analyze(exchanges: Iterable[Exchange]) -> Iterator[Decision]:
    """Decisions for a whole capture, in capture order."""
    return Analyzer().run(exchanges)
