"""Rebuild the browser's CORS decision for every exchange of a capture.

The Analyzer is fed exchanges one by one (from a file or live from the proxy) and hands back
decisions as soon as they are final. Two things can only be told later:
- a preflight's verdict depends on the credentials mode of the actual request it served, so
  a preflight waits (a bounded time, in capture time) for its actual request;
- a request whose credentials mode the wire does not show, and would change its verdict, can
  be settled by a later request on the same client connection (connections.py).
Ordered (files), everything behind a waiting decision waits with it, so that decisions come
out in capture order; unordered (live), the others go out at once, and a request settled
later comes out again as a correction (`supersedes`). Memory is bounded by the window.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .classify import Classification, classify
from .connections import ConnectionModes
from .cors_check import cors_check, header_values, redirect_check
from .credentials import credentials_of
from .decision import Credentials, Decision, Failure, Step
from .exchange import Exchange
from .preflight import PreflightGrant, PreflightResult, preflight_check
from .reasons import CORS_ERRORS
from .safelists import SAFELISTED_METHODS, page_unsafe_headers
from .verdicts import (
    allowed,
    block,
    decision_for,
    not_checked,
    note_browser_view,
    note_proxy_answer,
    unrecorded,
    without_response,
)

PAIRING_WINDOW = 10.0  # seconds of capture time a preflight waits for its actual request
MAX_WAITING = 2000  # preflights (and undecided requests) waiting at once, before the oldest goes
PREFLIGHT_CACHE_ENTRIES = 1024  # Chromium's limit
KEEP_FAILED_PREFLIGHTS = 1024  # failed preflights remembered for the requests never sent

Slot = list[Decision | None]  # one decision, filled in when it is final
BUT_WITH_CREDENTIALS = (
    "Allowed — but blocked if the page sends credentials (fetch `credentials: 'include'`, "
    "XHR `withCredentials`)"
)


@dataclass(slots=True)
class _PreflightVerdicts:
    """A preflight judged both ways, until its actual request tells the credentials mode."""

    exchange: Exchange
    origin: str
    method: str
    unsafe_headers: list[str]
    without: PreflightResult
    slot: Slot
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


@dataclass(slots=True)
class _Undecided:
    """An actual request whose credentials mode nothing has told yet, and would change its
    verdict: held (ordered) or sent out as undecided (unordered) until its connection tells."""

    exchange: Exchange
    found: Classification
    origin: str
    preflight: _PreflightVerdicts | None
    slot: Slot
    with_credentials: Failure  # what the browser says if the page sends credentials
    basis: str
    settled: bool = False


class Analyzer:
    """Feed exchanges in capture order; get final decisions back (in the same order when
    `ordered`, else as soon as each is final, corrections included)."""

    def __init__(self, pairing_window: float = PAIRING_WINDOW, ordered: bool = True) -> None:
        self._window = pairing_window
        self._ordered = ordered
        self._queue: deque[Slot] = deque()  # ordered: one-item slots, in capture order
        self._ready: list[Decision] = []  # unordered: final, not yet handed out
        self._waiting: dict[tuple[str, str], list[_PreflightVerdicts]] = {}
        self._arrivals: deque[_PreflightVerdicts] = deque()  # waiting ones, oldest first
        self._waiting_count = 0
        self._cache: dict[tuple[str, str], tuple[float, PreflightGrant, str]] = {}
        self._failed_preflights: dict[str, Failure] = {}  # id -> why (for requests never sent)
        self._connections = ConnectionModes()
        self._undecided: dict[str, list[_Undecided]] = {}  # by connection
        self._undecided_arrivals: deque[_Undecided] = deque()
        self._clock = 0.0

    def feed(self, exchange: Exchange) -> list[Decision]:
        self._clock = max(self._clock, exchange.started)
        self._settle_expired()
        found = classify(exchange)
        slot: Slot = [None]
        if self._ordered:
            self._queue.append(slot)
        told = self._connections.learn(exchange, found)
        if found.kind == "preflight":
            self._hold_preflight(exchange, found, slot)
        elif found.kind == "actual":
            self._judge_actual(exchange, found, slot)
        else:
            self._settle(slot, not_checked(exchange, found))
        if told is not None:
            self._connection_told(told)
        return self._drain()

    def tick(self, now: float) -> list[Decision]:
        """Let capture time pass without traffic (live capture): settle expired waits."""
        self._clock = max(self._clock, now)
        self._settle_expired()
        return self._drain()

    def finish(self) -> list[Decision]:
        """Settle everything still waiting (end of the capture)."""
        while self._arrivals:
            preflight = self._arrivals.popleft()
            if not preflight.released:
                self._settle_unpaired(preflight)
        while self._undecided_arrivals:
            self._settle_undecided(self._undecided_arrivals.popleft())
        return self._drain()

    def _settle(self, slot: Slot, decision: Decision) -> None:
        note_browser_view(decision)
        slot[0] = decision
        if not self._ordered:
            self._ready.append(decision)

    def _drain(self) -> list[Decision]:
        if not self._ordered:
            ready, self._ready = self._ready, []
            return ready
        ready: list[Decision] = []
        queue = self._queue
        while queue and queue[0][0] is not None:
            ready.append(queue.popleft()[0])  # type: ignore[arg-type]
        return ready

    def run(self, exchanges: Iterable[Exchange]) -> Iterator[Decision]:
        for exchange in exchanges:
            yield from self.feed(exchange)
        yield from self.finish()

    def _settle_expired(self) -> None:
        """Settle what waited longer than the pairing window, oldest first."""
        horizon = self._clock - self._window
        arrivals = self._arrivals
        while arrivals:
            oldest = arrivals[0]
            if (
                not oldest.released
                and (oldest.exchange.ended or oldest.exchange.started) >= horizon
            ):
                break
            arrivals.popleft()
            if not oldest.released:
                self._settle_unpaired(oldest)
        undecided = self._undecided_arrivals
        while undecided:
            oldest_request = undecided[0]
            exchange = oldest_request.exchange
            if not oldest_request.settled and (exchange.ended or exchange.started) >= horizon:
                break
            self._settle_undecided(undecided.popleft())

    # -- preflights ---------------------------------------------------------------------------

    def _hold_preflight(self, exchange: Exchange, found: Classification, slot: Slot) -> None:
        headers = exchange.request.headers
        origin = found.origin or "null"
        method = headers.get("access-control-request-method") or ""
        unsafe = header_values(headers, "access-control-request-headers")
        without = preflight_check(exchange.response, exchange.error, origin, method, unsafe, False)
        if without.failure is not None:
            # Fails whatever the credentials: the actual request was never sent.
            self._failed_preflights[exchange.id] = without.failure
            if len(self._failed_preflights) > KEEP_FAILED_PREFLIGHTS:
                del self._failed_preflights[next(iter(self._failed_preflights))]
            self._settle(
                slot,
                self._preflight_decision(
                    exchange,
                    origin,
                    without,
                    None,
                    "unknown",
                    "no actual request was sent, so its credentials mode cannot be seen; "
                    "it would not change this verdict",
                ),
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

    def _settle_unpaired(self, preflight: _PreflightVerdicts) -> None:
        self._release(preflight)
        exchange = preflight.exchange
        if preflight.with_credentials.failure is not None:
            # It passes only without credentials, and no actual request followed: the page
            # asked for credentials, and the browser stopped at the preflight.
            self._failed_preflights[exchange.id] = preflight.with_credentials.failure
            self._settle(
                preflight.slot,
                self._preflight_decision(
                    exchange,
                    preflight.origin,
                    preflight.with_credentials,
                    None,
                    "include",
                    "inferred: the preflight passes only without credentials, and no actual "
                    "request followed it, so the page must have asked for credentials",
                ),
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
        self._settle(preflight.slot, decision)
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
        """The waiting preflight this request followed: the one the browser named (NetLog),
        else the first for the same origin, URL and method."""
        named = exchange.preflight_of
        for preflight in self._waiting.get((origin, exchange.request.url), ()):
            if (
                preflight.exchange.id == named
                if named
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

    def _judge_actual(self, exchange: Exchange, found: Classification, slot: Slot) -> None:
        if found.origin is None:  # nothing recorded but the failure
            self._settle(slot, unrecorded(exchange, found))
            return
        origin = found.origin
        preflight = self._pair(origin, exchange)
        credentials, basis, tentative = self._credentials_for(exchange, preflight)
        if tentative and (failure := self._failure_with_credentials(exchange, origin)):
            undecided = _Undecided(exchange, found, origin, preflight, slot, failure, basis)
            if exchange.connection is not None:
                self._undecided.setdefault(exchange.connection, []).append(undecided)
                self._undecided_arrivals.append(undecided)
                while len(self._undecided_arrivals) > MAX_WAITING:
                    self._settle_undecided(self._undecided_arrivals.popleft())
            if not self._ordered or exchange.connection is None:
                # Live, nothing waits for the connection to tell: a correction follows.
                self._publish_undecided(undecided)
            return
        decision, preflight_decision = self._judge_paired(
            exchange, found, origin, preflight, credentials, basis
        )
        if preflight is not None and preflight_decision is not None:
            self._settle(preflight.slot, preflight_decision)
        self._settle(slot, decision)

    def _credentials_for(
        self, exchange: Exchange, preflight: _PreflightVerdicts | None
    ) -> tuple[Credentials, str, bool]:
        """The credentials mode, its basis, and whether it is only a guess from absence."""
        if exchange.credentials in ("include", "omit"):
            return (
                exchange.credentials,
                exchange.credentials_basis or "the browser's own record",
                False,
            )
        credentials, basis = credentials_of(
            exchange, preflight.unsafe_headers if preflight else None
        )
        if credentials == "include":
            return credentials, basis, False
        if (
            preflight is not None
            and preflight.without.failure is None
            and preflight.with_credentials.failure is not None
        ):
            # The browser sends the actual request only after its preflight passes.
            if exchange.sent:
                return (
                    "omit",
                    "inferred: its preflight passes only without credentials, and the browser "
                    "sent it, so the page made it without",
                    False,
                )
            return (
                "include",
                "inferred: its preflight passes only without credentials, and the browser "
                "did not send it, so the page asked for credentials",
                False,
            )
        told = self._connections.mode(exchange.connection)
        if told is not None:
            return told.credentials, told.basis, False
        return credentials, basis, True

    @staticmethod
    def _failure_with_credentials(exchange: Exchange, origin: str) -> Failure | None:
        """Why the response would fail the CORS check with credentials where it passes
        without (CORS check steps 3-7: `*` is refused, and ACAC must be `true`)."""
        response = exchange.response
        if response is None or response.status == 304 or not exchange.sent:
            return None
        if cors_check(response, origin, False, []) is not None:
            return None  # blocked either way
        return cors_check(response, origin, True, [])

    def _connection_told(self, connection: str) -> None:
        """A request on `connection` has told its credentials mode: settle its undecided."""
        waiting = self._undecided.pop(connection, ())
        told = self._connections.mode(connection)
        for undecided in waiting:
            if undecided.settled:
                continue
            undecided.settled = True
            if told is None:  # the connection showed both modes: nothing is inferred from it
                if self._ordered:
                    self._publish_undecided(undecided)
                continue
            decision, preflight_decision = self._judge_paired(
                undecided.exchange,
                undecided.found,
                undecided.origin,
                undecided.preflight,
                told.credentials,
                told.basis,
            )
            if self._ordered:
                if undecided.preflight is not None and preflight_decision is not None:
                    self._settle(undecided.preflight.slot, preflight_decision)
                self._settle(undecided.slot, decision)
                continue
            # Live: it went out undecided; this is its correction (and its preflight's, when
            # credentials change that verdict too).
            previous_preflight = undecided.preflight.slot[0] if undecided.preflight else None
            if (
                preflight_decision is not None
                and previous_preflight is not None
                and preflight_decision.verdict != previous_preflight.verdict
            ):
                preflight_decision.supersedes = previous_preflight.flow_id
                self._settle([None], preflight_decision)
            decision.supersedes = decision.flow_id
            self._settle([None], decision)

    def _settle_undecided(self, undecided: _Undecided) -> None:
        """Nothing told in time (or at all): it goes out undecided, if it has not already."""
        if undecided.settled:
            return
        undecided.settled = True
        connection = undecided.exchange.connection
        waiting = self._undecided.get(connection or "")
        if waiting is not None:
            waiting.remove(undecided)
            if not waiting:
                del self._undecided[connection or ""]
        if self._ordered:
            self._publish_undecided(undecided)

    def _publish_undecided(self, undecided: _Undecided) -> None:
        """Judged without credentials, saying what credentials would change."""
        decision, preflight_decision = self._judge_paired(
            undecided.exchange,
            undecided.found,
            undecided.origin,
            undecided.preflight,
            "unknown",
            undecided.basis,
        )
        failure = undecided.with_credentials
        decision.verdict_if_credentials = "blocked"
        decision.reason_if_credentials = failure.reason
        decision.firefox_reason_if_credentials = (
            failure.firefox_reason or CORS_ERRORS[failure.reason].firefox
        )
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
        if undecided.preflight is not None and preflight_decision is not None:
            self._settle(undecided.preflight.slot, preflight_decision)
        self._settle(undecided.slot, decision)

    def _judge_paired(
        self,
        exchange: Exchange,
        found: Classification,
        origin: str,
        preflight: _PreflightVerdicts | None,
        credentials: Credentials,
        basis: str,
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
            preflight_decision = self._preflight_decision(
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
                block(decision, verdicts.failure, origin)
                if not exchange.sent:
                    decision.explanation += " The actual request was never sent."
                return decision, preflight_decision
            self._remember_grant(origin, preflight.exchange, verdicts.grant)
        elif not exchange.sent:
            return self._never_sent(decision, exchange, origin), None
        else:
            self._note_missing_preflight(exchange, include, trace)
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
            failure = redirect_check(response, trace)
        if failure is not None:
            # Fetch main fetch step 12.6: a failure clears the preflight cache entry.
            self._cache.pop((origin, request.url), None)
            block(decision, failure, origin)
            note_proxy_answer(decision, exchange)
            return decision, preflight_decision
        allowed(decision, response, include, origin)
        return decision, preflight_decision

    def _never_sent(self, decision: Decision, exchange: Exchange, origin: str) -> Decision:
        """The browser's record says it never sent this request: its preflight failed."""
        failure = self._failed_preflights.get(exchange.preflight_of or "")
        if failure is None:
            decision.verdict = "unknown"
            decision.explanation = (
                "The browser never sent this request, and the capture holds no failed "
                "preflight to say why."
            )
            return decision
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
