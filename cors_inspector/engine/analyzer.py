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
from urllib.parse import urljoin

from .actual import (
    PreflightVerdicts,
    Slot,
    decide_preflight,
    failure_with_credentials,
    judge_actual,
    mark_undecided,
    too_many_redirects,
)
from .classify import Classification, classify
from .connections import ConnectionModes
from .cors_check import header_values
from .credentials import credentials_of
from .decision import Credentials, Decision, Failure
from .exchange import Exchange
from .preflight import preflight_check
from .preflight_cache import PreflightCache
from .verdicts import (
    not_checked,
    note_browser_view,
    unrecorded,
)

PAIRING_WINDOW = 10.0  # seconds of capture time a preflight waits for its actual request
MAX_WAITING = 2000  # preflights (and undecided requests) waiting at once, before the oldest goes
MAX_REDIRECTS = 20  # Fetch: HTTP-redirect fetch, step 5
REDIRECTS_KEPT = 4096  # redirect targets awaited at once, before the oldest goes


@dataclass(slots=True)
class _Undecided:
    """An actual request whose credentials mode nothing has told yet, and would change its
    verdict: held (ordered) or sent out as undecided (unordered) until its connection tells."""

    exchange: Exchange
    found: Classification
    origin: str
    preflight: PreflightVerdicts | None
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
        self._waiting: dict[tuple[str, str], list[PreflightVerdicts]] = {}
        self._arrivals: deque[PreflightVerdicts] = deque()  # waiting ones, oldest first
        self._waiting_count = 0
        self._cache = PreflightCache()
        self._connections = ConnectionModes()
        self._undecided: dict[str, list[_Undecided]] = {}  # by connection
        self._undecided_arrivals: deque[_Undecided] = deque()
        self._redirected_to: dict[str, int] = {}  # a redirect's target URL -> redirects so far
        self._too_many: dict[str, int] = {}  # flow id -> redirects before its own (> 20 in all)
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
            self._count_redirects(exchange)
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

    def _count_redirects(self, exchange: Exchange) -> None:
        """Follow redirect chains: a request to the Location of a redirect is its next hop."""
        url = exchange.request.url
        redirects = self._redirected_to.pop(url, 0)
        response = exchange.response
        location = response.headers.get("location") if response is not None else None
        if response is None or location is None or not 300 <= response.status < 400:
            return
        if redirects >= MAX_REDIRECTS:
            self._too_many[exchange.id] = redirects
            if len(self._too_many) > REDIRECTS_KEPT:
                del self._too_many[next(iter(self._too_many))]
            return
        self._redirected_to[urljoin(url, location)] = redirects + 1
        if len(self._redirected_to) > REDIRECTS_KEPT:
            del self._redirected_to[next(iter(self._redirected_to))]

    def _settle(self, slot: Slot, decision: Decision) -> None:
        if decision.kind == "actual" and (redirects := self._too_many.get(decision.flow_id)):
            too_many_redirects(decision, redirects)
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
        firefox = found.browser == "firefox"
        without = preflight_check(
            exchange.response, exchange.error, origin, method, unsafe, False, firefox
        )
        if without.failure is not None:
            # Fails whatever the credentials: the actual request was never sent.
            self._cache.failed(exchange.id, without.failure)
            self._settle(
                slot,
                decide_preflight(
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
        verdicts = PreflightVerdicts(exchange, origin, method, unsafe, without, slot, firefox)
        self._waiting.setdefault((origin, exchange.request.url), []).append(verdicts)
        self._arrivals.append(verdicts)
        self._waiting_count += 1
        while self._waiting_count > MAX_WAITING:
            oldest = self._arrivals.popleft()
            if not oldest.released:
                self._settle_unpaired(oldest)

    def _release(self, preflight: PreflightVerdicts) -> None:
        key = (preflight.origin, preflight.exchange.request.url)
        waiting = self._waiting[key]
        waiting.remove(preflight)
        if not waiting:
            del self._waiting[key]
        preflight.released = True
        self._waiting_count -= 1

    def _settle_unpaired(self, preflight: PreflightVerdicts) -> None:
        self._release(preflight)
        exchange = preflight.exchange
        if preflight.with_credentials.failure is not None:
            # It passes only without credentials, and no actual request followed: the page
            # asked for credentials, and the browser stopped at the preflight.
            self._cache.failed(exchange.id, preflight.with_credentials.failure)
            self._settle(
                preflight.slot,
                decide_preflight(
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
        decision = decide_preflight(
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
        self._cache.remember(preflight.origin, exchange, preflight.without.grant)

    def _pair(self, found: Classification, exchange: Exchange) -> PreflightVerdicts | None:
        """The waiting preflight this request followed: the one the browser named (NetLog),
        else the first for the same origin, URL and method. After a cross-origin redirect,
        Firefox's preflight carries the page's origin and its actual request `null`
        (nsCORSListenerProxy.cpp UpdateChannel): a Firefox `null` takes a Firefox preflight
        of the same URL and method from any origin."""
        named = exchange.preflight_of
        url = exchange.request.url
        keys = [(found.origin or "null", url)]
        if found.browser == "firefox" and found.origin == "null" and not named:
            keys += [key for key in self._waiting if key[1] == url and key != keys[0]]
        for key in keys:
            for preflight in self._waiting.get(key, ()):
                if (
                    preflight.exchange.id == named
                    if named
                    else preflight.method == exchange.request.method
                    and (key == keys[0] or preflight.firefox)
                ):
                    self._release(preflight)
                    return preflight
        return None

    # -- actual requests ----------------------------------------------------------------------

    def _judge_actual(self, exchange: Exchange, found: Classification, slot: Slot) -> None:
        if found.origin is None:  # nothing recorded but the failure
            self._settle(slot, unrecorded(exchange, found))
            return
        origin = found.origin
        preflight = self._pair(found, exchange)
        credentials, basis, tentative = self._credentials_for(exchange, preflight)
        if tentative and (failure := failure_with_credentials(exchange, origin)):
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
        decision, preflight_decision = judge_actual(
            exchange,
            found,
            origin,
            preflight,
            credentials,
            basis,
            self._cache,
        )
        if preflight is not None and preflight_decision is not None:
            self._settle(preflight.slot, preflight_decision)
        self._settle(slot, decision)

    def _credentials_for(
        self, exchange: Exchange, preflight: PreflightVerdicts | None
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
            decision, preflight_decision = judge_actual(
                undecided.exchange,
                undecided.found,
                undecided.origin,
                undecided.preflight,
                told.credentials,
                told.basis,
                self._cache,
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
        decision, preflight_decision = judge_actual(
            undecided.exchange,
            undecided.found,
            undecided.origin,
            undecided.preflight,
            "unknown",
            undecided.basis,
            self._cache,
        )
        mark_undecided(decision, undecided.with_credentials)
        if undecided.preflight is not None and preflight_decision is not None:
            self._settle(undecided.preflight.slot, preflight_decision)
        self._settle(undecided.slot, decision)


def analyze(exchanges: Iterable[Exchange]) -> Iterator[Decision]:
    """Decisions for a whole capture, in capture order."""
    return Analyzer().run(exchanges)
