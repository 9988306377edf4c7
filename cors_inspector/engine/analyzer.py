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

from .classify import Classification, classify
from .cors_check import ACAC, ACAO, cors_check, header_values, redirect_check
from .credentials import credentials_of
from .decision import Credentials, Decision, Failure, Step
from .exchange import Exchange
from .preflight import PreflightGrant, PreflightResult, preflight_check
from .safelists import SAFELISTED_METHODS, page_unsafe_headers, trim
from .verdicts import allowed, block, decision_for, not_checked, note_proxy_answer, without_response

PAIRING_WINDOW = 10.0  # seconds of capture time a preflight waits for its actual request
MAX_WAITING = 2000  # preflights waiting at once, before the oldest is settled unpaired
PREFLIGHT_CACHE_ENTRIES = 1024  # Chromium's limit
FAILED_PREFLIGHTS = 1024  # failed preflights remembered for the unsent requests they stopped


@dataclass(slots=True)
class _PreflightVerdicts:
    """A preflight judged both ways, until its actual request tells the credentials mode."""

    exchange: Exchange
    origin: str
    method: str
    unsafe_headers: list[str]
    without: PreflightResult
    slot: list[Decision | None]
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
            )
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
        self._failed: dict[str, Failure] = {}  # preflight id -> why it failed
        self._clock = 0.0

    def feed(self, exchange: Exchange) -> list[Decision]:
        self._clock = max(self._clock, exchange.started)
        self._settle_expired()
        found = classify(exchange)
        slot: list[Decision | None] = [None]
        self._queue.append(slot)
        if found.kind == "preflight":
            self._hold_preflight(exchange, found, slot)
        elif found.kind == "actual" and not exchange.sent:
            slot[0] = self._judge_unsent(exchange, found)
        elif found.kind == "actual":
            slot[0] = self._judge_actual(exchange, found)
        else:
            slot[0] = not_checked(exchange, found)
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
        self, exchange: Exchange, found: Classification, slot: list[Decision | None]
    ) -> None:
        headers = exchange.request.headers
        origin = found.origin or "null"
        method = headers.get("access-control-request-method") or ""
        unsafe = header_values(headers, "access-control-request-headers")
        without = preflight_check(exchange.response, exchange.error, origin, method, unsafe, False)
        if without.failure is not None:
            # Fails whatever the credentials: the actual request was never sent.
            self._failed[exchange.id] = without.failure
            if len(self._failed) > FAILED_PREFLIGHTS:
                del self._failed[next(iter(self._failed))]
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
        if not preflight.released:  # an unsent actual request may have released it
            self._release(preflight)
        exchange = preflight.exchange
        if preflight.with_credentials.failure is not None:
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
        self._remember_grant(preflight.origin, exchange, preflight.without.grant)

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
        served_by = exchange.preflight_of  # the browser's own record (Chrome's NetLog)
        for preflight in self._waiting.get((origin, exchange.request.url), ()):
            if (
                preflight.exchange.id == served_by
                if served_by is not None
                else preflight.method == exchange.request.method
            ):
                self._release(preflight)
                return preflight
        return None

    def _preflight_decision(
        self,
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
            decision.explanation = (
                f"Preflight passed: the server allows `{method}` from {origin}"
                + (
                    " with those headers."
                    if "access-control-request-headers" in request.headers
                    else "."
                )
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

    # -- actual requests ----------------------------------------------------------------------

    def _judge_actual(self, exchange: Exchange, found: Classification) -> Decision:
        request = exchange.request
        origin = found.origin or "null"
        response = exchange.response
        decision = decision_for(exchange, "actual", origin, "allowed")
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
        credentials, basis = credentials_of(
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
                    "fail" if verdicts.failure else "pass",
                )
            )
            if verdicts.failure is not None:
                # The capture shows the request sent although its preflight fails: the
                # credentials mode inferred from the wire must differ from the page's.
                block(decision, verdicts.failure, origin)
                decision.credentials, decision.credentials_basis = credentials, basis
                return decision
            self._remember_grant(origin, preflight.exchange, verdicts.grant)
        else:
            self._note_missing_preflight(exchange, include, trace)
        decision.credentials, decision.credentials_basis = credentials, basis
        if response is None:
            return without_response(decision, exchange)
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
            block(decision, failure, origin)
            note_proxy_answer(decision, exchange)
            return decision
        # It passed without credentials, so ACAO is the origin or `*`; with credentials
        # (CORS check steps 3-7) `*` fails, and so does anything but ACAC `true`.
        if (
            not include
            and exchange.credentials is None
            and (
                trim(response.headers.get(ACAO) or "") == "*"
                or response.headers.get(ACAC) != "true"
            )
        ):
            decision.credentials = "unknown"
            decision.credentials_basis = (
                "no Cookie header; had the page asked for credentials ('include') with no "
                "cookie stored, the browser would block this: it needs the exact origin in "
                "Access-Control-Allow-Origin and Access-Control-Allow-Credentials: true"
            )
        allowed(decision, response, include, origin)
        return decision

    def _judge_unsent(self, exchange: Exchange, found: Classification) -> Decision:
        """An actual request the browser never sent (its own record says so): the preflight
        that served it failed, and the request carries that failure."""
        origin = found.origin or "null"
        decision = decision_for(exchange, "actual", origin, "unknown")
        decision.preflight_id = exchange.preflight_of
        preflight = self._pair(origin, exchange)
        if preflight is not None:
            # It passes only without credentials, yet the browser stopped there: with them.
            self._settle_unpaired(preflight)
            failure = preflight.with_credentials.failure
            decision.credentials = "include"
            decision.credentials_basis = (
                "inferred: its preflight passes only without credentials, and the browser "
                "did not send it"
            )
        else:
            failure = self._failed.get(exchange.preflight_of or "")
        decision.trace.append(
            Step(
                "Sent?",
                "the browser's own record",
                f"never sent; its preflight is flow {exchange.preflight_of}",
                "a passed preflight",
                "fail",
            )
        )
        if failure is None:
            decision.explanation = (
                "The browser never sent this request, and its preflight is not in the capture "
                "or passes: the reason is not in the capture."
            )
            return decision
        block(decision, failure, origin)
        decision.explanation = (
            f"Never sent: its preflight (flow {exchange.preflight_of}) failed. "
            + decision.explanation
        )
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
        if exchange.preflight_cached:
            trace.append(
                Step(
                    "Preflight cache",
                    "Chrome NetLog: CHECK_CORS_PREFLIGHT_CACHE hit-and-pass",
                    f"no preflight sent: {reasons}, but the browser's preflight cache allowed it",
                    "a cached, matching preflight",
                    "pass",
                )
            )
            return
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


def analyze(exchanges: Iterable[Exchange]) -> Iterator[Decision]:
    """Decisions for a whole capture, in capture order."""
    return Analyzer().run(exchanges)
