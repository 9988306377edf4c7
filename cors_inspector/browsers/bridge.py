"""The browser bridge: what the Chromium this tool started decided, paired with the proxy's
decisions.

It only reads: it enables the Network domain (events only, nothing intercepted), lets each
new page run, and opens the one page it was asked to open. Its own thread reads the browser;
the proxy's loop only offers decisions and collects them again (`offer`, `due`), under a lock
held for dict operations, so the proxy never waits for the browser. DevTools request ids never
reach the wire: a decision is paired with the browser's request of the same method and URL,
the oldest unpaired one, started within PAIR_WINDOW_S of it. A Chromium's decision waits at
most HOLD_S for its browser request (another client's, none: it cannot be ours); what cannot
be paired is counted (`counts`), and handed on as it is.
"""

from __future__ import annotations

import socket
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ..engine import Analyzer
from ..engine.decision import Decision, Frame, Initiator
from ..engine.exchange import Exchange, Headers, Request
from ..engine.verdicts import note_browser_view
from .cdp import CdpPipe

PAIR_WINDOW_S = 10.0  # a browser request and its flow start this close together
HOLD_S = 1.0  # the longest a decision waits for the browser's word on it
READY_TIMEOUT_S = 30.0  # the proxy must listen by then, or the page is not opened
# A credentialed request gets these where an uncredentialed one would pass (Chromium's names,
# then Firefox's).
CREDENTIALED_ERRORS = (
    "WildcardOriginNotAllowed",
    "InvalidAllowCredentials",
    "CORSNotSupportingCredentials",
    "CORSMissingAllowCredentials",
)
BROWSER_NAMES = {"chromium": "Chromium", "firefox": "Firefox"}
ATTACHED_TYPES = ("page", "iframe", "worker", "shared_worker", "service_worker")
# Every new target (tab, frame, worker) is attached, paused until its Network events are on.
AUTO_ATTACH = {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": True}


@dataclass(eq=False)
class BrowserRequest:
    """One request as the browser's Network events tell it."""

    method: str
    url: str
    started: float  # epoch seconds (the event's wallTime)
    preflight: bool
    initiator: Initiator | None
    actual: BrowserRequest | None = None  # on a preflight: the request it is for
    preflights: list[BrowserRequest] = field(default_factory=list)
    finished: bool = False
    verdict: str | None = None  # allowed or blocked, once finished
    reason: str | None = None  # Chromium's CorsError name
    failed_parameter: str | None = None
    sent: bool = True  # False: an actual request stopped by its failed preflight
    # A preflight whose actual request the browser names but has not announced yet: Chromium
    # may send, and even finish, the preflight before the fetch's requestWillBeSent.
    awaits_actual: bool = False
    decision: Decision | None = None  # the proxy's, once paired
    held_since: float | None = None  # monotonic: when its decision began to wait

    @property
    def settled(self) -> bool:
        """Its verdict is final: a preflight's is its actual request's failure, if any."""
        if self.awaits_actual:
            return False  # that failure may still come (HOLD_S bounds the wait)
        if self.preflight and self.actual is not None:
            return self.finished and self.actual.finished
        return self.finished


def initiator_of(event: dict[str, Any]) -> Initiator | None:
    """The innermost script frame of the request's initiator (the fetch()/XHR call)."""
    initiator = event.get("initiator") or {}
    stack = initiator.get("stack")
    while stack is not None and not stack.get("callFrames"):
        stack = stack.get("parent")  # an async stack keeps its frames in the parent
    if stack:
        frames = tuple(
            Frame(f.get("functionName", ""), f["url"], f["lineNumber"] + 1, f["columnNumber"] + 1)
            for f in stack["callFrames"]
        )
        top = frames[0]
        return Initiator(top.url, top.line, top.column, frames)
    if initiator.get("url") and "lineNumber" in initiator:  # the parser: a tag in the page
        line, column = initiator["lineNumber"] + 1, initiator.get("columnNumber", 0) + 1
        return Initiator(initiator["url"], line, column)
    return None


def link(preflight: BrowserRequest, actual: BrowserRequest) -> None:
    preflight.actual, preflight.initiator = actual, actual.initiator
    preflight.awaits_actual = False
    actual.preflights.append(preflight)


def is_preflight_error(reason: str | None) -> bool:
    return reason is not None and "Preflight" in reason


@dataclass
class Counts:
    paired: int = 0
    unpaired_decisions: int = 0  # the proxy's, with no browser request (other clients too)
    unpaired_requests: int = 0  # the browser's, never seen on the wire
    never_sent: int = 0  # actual requests the browser stopped, reported from its word
    settled_credentials: int = 0

    def line(self) -> str:
        return (
            f"{self.paired} requests paired with the browser's, {self.never_sent} never sent, "
            f"{self.settled_credentials} credentials settled; unpaired: "
            f"{self.unpaired_decisions} of the proxy's, {self.unpaired_requests} of the browser's"
        )


class Pairing:
    """Browser requests (fed from the bridge's thread) and the proxy's decisions (from its
    loop), paired; `due` hands on what is ready, enriched with the browser's facts.

    `browser` is whose requests may be the bridge's (decisions.browser: "chromium" or
    "firefox"); `hold_s` is the longest a decision waits for that browser's word."""

    def __init__(self, browser: str = "chromium", hold_s: float = HOLD_S) -> None:
        self.browser = browser
        self.hold_s = hold_s
        self.counts = Counts()
        self.lost = False  # the browser is gone: decisions pass straight through
        self._lock = threading.Lock()
        self._open: dict[tuple[str, str], deque[BrowserRequest]] = {}  # unpaired, by key
        # No browser request yet (other clients' too): oldest first, and by key to claim.
        self._held: deque[tuple[float, Decision]] = deque()  # (monotonic, decision)
        self._held_by_key: dict[tuple[str, str, bool], deque[Decision]] = {}
        self._waiting: list[BrowserRequest] = []  # paired, not settled
        self._ready: list[Decision] = []

    # -- from the bridge's thread -------------------------------------------------------------

    def request(self, request: BrowserRequest) -> None:
        with self._lock:
            self._open.setdefault((request.method, request.url), deque()).append(request)
            self._claim_held(request)

    def settled(self, request: BrowserRequest) -> None:
        """A browser request (or the actual request of a preflight) has its verdict."""
        with self._lock:
            for candidate in (request, *request.preflights):
                if candidate.settled and candidate in self._waiting:
                    self._waiting.remove(candidate)
                    self._ready.extend(self._enriched(candidate))

    def lose(self) -> None:
        with self._lock:
            self.lost = True

    # -- from the proxy's loop ----------------------------------------------------------------

    def offer(self, decision: Decision) -> list[Decision]:
        """The decisions to hand on now: this one, unless it waits for the browser."""
        if decision.browser != self.browser and not self._open:
            # Another client's, and no browser request to pair it with: the common case
            # under load, decided without the lock (only this loop counts unpaired decisions;
            # a browser request being added meanwhile is the bridge's, never this one's).
            self.counts.unpaired_decisions += not self.lost
            return [decision]
        with self._lock:
            if self.lost:
                return [decision]
            request = self._match(decision)
            if request is None and decision.browser != self.browser:
                self.counts.unpaired_decisions += 1  # another client: it goes on at once
                return [decision]
            if request is None:
                self._held.append((time.monotonic(), decision))
                key = (decision.method, decision.url, decision.kind == "preflight")
                self._held_by_key.setdefault(key, deque()).append(decision)
                return []
            return self._paired(request, decision)

    def due(self) -> list[Decision]:
        """What is ready, and what has waited hold_s (handed on with what is known)."""
        if not (self._ready or self._held or self._waiting or self._open):
            return []  # nothing from the browser, nothing waiting for it: no work, no lock
        with self._lock:
            ready, self._ready = self._ready, []
            expired = time.monotonic() - self.hold_s
            while self._held and (self.lost or self._held[0][0] < expired):
                _, decision = self._held.popleft()
                key = (decision.method, decision.url, decision.kind == "preflight")
                if decision in self._held_by_key.get(key, ()):  # not claimed meanwhile
                    self._unhold(key, decision)
                    self.counts.unpaired_decisions += 1
                    ready.append(decision)
            for request in list(self._waiting):
                if self.lost or (request.held_since or 0) < expired:
                    self._waiting.remove(request)
                    ready.extend(self._enriched(request))
            for key, queue in list(self._open.items()):
                while queue and (self.lost or queue[0].started < time.time() - PAIR_WINDOW_S):
                    stale = queue.popleft()
                    self.counts.unpaired_requests += stale.sent and stale.finished
                if not queue:
                    del self._open[key]
            return ready

    def finish(self) -> list[Decision]:
        self.lose()
        return self.due()

    # -- under the lock -----------------------------------------------------------------------

    def _match(self, decision: Decision) -> BrowserRequest | None:
        queue = self._open.get((decision.method, decision.url))
        for request in queue or ():
            if (
                request.preflight == (decision.kind == "preflight")
                and request.sent
                and abs(request.started - decision.started) <= PAIR_WINDOW_S
            ):
                queue.remove(request)  # type: ignore[union-attr]
                return request
        return None

    def _claim_held(self, request: BrowserRequest) -> None:
        """A decision that arrived before its browser request's event."""
        key = (request.method, request.url, request.preflight)
        if held := self._held_by_key.get(key):
            decision = held[0]
            self._unhold(key, decision)
            self._open[(request.method, request.url)].remove(request)
            self._ready.extend(self._paired(request, decision))

    def _unhold(self, key: tuple[str, str, bool], decision: Decision) -> None:
        held = self._held_by_key[key]
        held.remove(decision)  # the oldest, nearly always: cheap
        if not held:
            del self._held_by_key[key]

    def _paired(self, request: BrowserRequest, decision: Decision) -> list[Decision]:
        request.decision = decision
        self.counts.paired += 1
        if request.settled:
            return self._enriched(request)
        request.held_since = time.monotonic()
        self._waiting.append(request)
        return []

    def _enriched(self, request: BrowserRequest) -> list[Decision]:
        """The paired decision with the browser's facts; and, after a failed preflight, the
        actual request the browser never sent."""
        decision = request.decision
        assert decision is not None
        verdict, reason = request.verdict, request.reason
        actual = request.actual
        if request.preflight and actual is not None and is_preflight_error(actual.reason):
            verdict, reason = "blocked", actual.reason  # its actual request carries the error
        if verdict == "allowed" and not decision.is_cors:
            verdict = "not-applicable"  # it loaded, and no CORS check applied
        decision = self._settle_credentials(decision, verdict, reason)
        shown = replace(
            decision,
            browser_verdict=verdict,
            browser_reason=reason,
            initiator=request.initiator,
            trace=list(decision.trace),
        )
        if shown.exchange is not None:
            shown.exchange.browser_verdict, shown.exchange.browser_reason = verdict, reason
            note_browser_view(shown)  # a disagreement is said, both answers shown
        out = [shown]
        if request.preflight and actual is not None and not actual.sent:
            out.extend(self._never_sent(shown, actual))
            shown.preflight_for = out[-1].flow_id if len(out) > 1 else None
        return out

    def _settle_credentials(
        self, decision: Decision, verdict: str | None, reason: str | None
    ) -> Decision:
        """The browser refused with an error only credentialed requests get: it was one."""
        exchange = decision.exchange
        if (
            exchange is None
            or verdict != "blocked"
            or reason not in CREDENTIALED_ERRORS
            or decision.verdict != "allowed"
            or decision.credentials == "include"
            or decision.preflight_id is not None  # judged again alone, it would lose it
        ):
            return decision
        exchange.credentials = "include"
        exchange.credentials_basis = (
            f"the browser: {BROWSER_NAMES.get(self.browser, self.browser)} refused it with "
            f"{reason}, an error only a credentialed "
            "request gets"
        )
        self.counts.settled_credentials += 1
        return next(iter(Analyzer().run([exchange])))

    def _never_sent(self, preflight: Decision, actual: BrowserRequest) -> list[Decision]:
        """The actual request its failed preflight stopped, judged by the engine from the
        browser's word."""
        if preflight.exchange is None:
            return []
        self.counts.never_sent += 1
        pairs = (("Origin", preflight.origin or "null"), ("Sec-Fetch-Mode", "cors"))
        exchange = Exchange(
            id=f"{preflight.flow_id}-never-sent",
            started=actual.started,
            request=Request(actual.method, actual.url, Headers(pairs)),
            response=None,
            error="never sent: its CORS preflight failed",
            sent=False,
            preflight_of=preflight.flow_id,
            browser_verdict="blocked",
            browser_reason=actual.reason,
        )
        judged = list(Analyzer().run([preflight.exchange, exchange]))
        return [replace(d, initiator=actual.initiator) for d in judged if d.flow_id == exchange.id]


class BrowserBridge(ABC):
    """A throwaway browser through the proxy, what it tells read in a thread of its own;
    each browser's bridge says how it starts, stops and is read.

    `on_lost(line)` is called once (from that thread) when the browser or the protocol
    fails; the pairing then lets every decision through as the wire alone tells it."""

    thread_name = "cors-browser-bridge"

    def __init__(
        self,
        executable: str,
        proxy_host: str,
        proxy_port: int,
        url: str,
        headless: bool,
        on_lost: Callable[[str], None],
    ) -> None:
        self.pairing = self._new_pairing()
        self.url = url
        self.on_lost = on_lost
        self._proxy = (proxy_host, proxy_port)
        self._closing = False
        self._start_browser(executable, headless)
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)

    @property
    @abstractmethod
    def pid(self) -> int: ...

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._closing = True
        self._stop_browser()  # its channel closes with it: the thread's reading ends
        self._thread.join()

    def _run(self) -> None:
        problem = self._read()
        self.pairing.lose()
        if not self._closing:
            self.on_lost(f"{problem}: going on with the wire alone")

    def _new_pairing(self) -> Pairing:
        return Pairing()

    @abstractmethod
    def _start_browser(self, executable: str, headless: bool) -> None: ...

    @abstractmethod
    def _stop_browser(self) -> None: ...

    @abstractmethod
    def _read(self) -> str:
        """Feed the pairing until the browser goes; why it went, in words."""


class Bridge(BrowserBridge):
    """Chromium, over its DevTools pipe: its Network events."""

    def _start_browser(self, executable: str, headless: bool) -> None:
        host, port = self._proxy
        self._pipe = CdpPipe(executable, f"http://{host}:{port}", headless)
        self.events = NetworkEvents(self.pairing, self._pipe.send, self.url)

    @property
    def pid(self) -> int:
        return self._pipe.pid

    def _stop_browser(self) -> None:
        self._pipe.close()

    def _read(self) -> str:
        try:
            self._pipe.send("Target.setAutoAttach", AUTO_ATTACH)
            wait_for_proxy(self._proxy)
            for message in self._pipe.messages():
                self.events.handle(message)
        except (OSError, ValueError, KeyError, TypeError) as error:
            return f"the browser's DevTools channel failed ({error})"
        return "the browser closed"


def wait_for_proxy(proxy: tuple[str, int]) -> None:
    """Return once the proxy at (host, port) listens; OSError after READY_TIMEOUT_S."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        try:
            socket.create_connection(proxy, timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            threading.Event().wait(0.05)  # the poll interval of a wait with a deadline


class NetworkEvents:
    """The browser's messages turned into BrowserRequests for the pairing. What it sends back
    only reads: Network events on for each new target, which may then run; the first tab
    opens `url`."""

    def __init__(self, pairing: Pairing, send: Callable[..., int], url: str) -> None:
        self.pairing = pairing
        self._send = send
        self.url = url
        self._requests: dict[tuple[str, str], BrowserRequest] = {}  # (session, DevTools id)
        self._opened = False  # the first tab has been told to open the page
        # (id of the first tab's Network.enable, its session) until Chromium answers it
        self._navigation: tuple[int, str] | None = None
        self._orphans: dict[tuple[str, str], BrowserRequest] = {}  # preflights before theirs

    def handle(self, message: dict[str, Any]) -> None:
        method = message.get("method")
        params = message.get("params") or {}
        session = message.get("sessionId", "")
        if method is None:
            if self._navigation is not None and message.get("id") == self._navigation[0]:
                # The first tab opens the page once its Network events are on: none is
                # missed. (Navigating at once lost the new renderer's requestWillBeSent
                # events now and then: Chromium answered Page.navigate before Network.enable.)
                self._send("Page.navigate", {"url": self.url}, self._navigation[1])
                self._navigation = None
        elif method == "Target.attachedToTarget":
            attached = params["sessionId"]
            kind = params["targetInfo"]["type"]
            if kind in ATTACHED_TYPES:
                enabled = self._send("Network.enable", session=attached)
                self._send("Target.setAutoAttach", AUTO_ATTACH, attached)
                if kind == "page" and not self._opened:
                    self._opened, self._navigation = True, (enabled, attached)
            self._send("Runtime.runIfWaitingForDebugger", session=attached)
        elif method == "Network.requestWillBeSent":
            self._will_be_sent(session, params)
        elif method == "Network.responseReceived":
            # A CORS response reaches the page only once it passed the check (a fetch whose
            # body is never read may never see loadingFinished).
            self._finished(session, params["requestId"], "allowed", None, None)
        elif method == "Network.loadingFinished":
            self._finished(session, params["requestId"], "allowed", None, None)
        elif method == "Network.loadingFailed":
            cors = params.get("corsErrorStatus") or {}
            verdict = "blocked" if cors else "unknown"
            reason, failed = cors.get("corsError"), cors.get("failedParameter")
            self._finished(session, params["requestId"], verdict, reason, failed)

    def _will_be_sent(self, session: str, params: dict[str, Any]) -> None:
        key = (session, params["requestId"])
        if params.get("redirectResponse") and key in self._requests:
            self._finished(session, params["requestId"], "allowed", None, None)  # the last hop
        initiator = params.get("initiator") or {}
        preflight = params.get("type") == "Preflight" or initiator.get("type") == "preflight"
        request = BrowserRequest(
            method=params["request"]["method"],
            url=params["request"]["url"],
            started=params.get("wallTime", time.time()),
            preflight=preflight,
            initiator=None if preflight else initiator_of(params),
        )
        if preflight:  # its event and its actual request's come in either order
            actual_key = (session, initiator.get("requestId", ""))
            if (actual := self._requests.get(actual_key)) is not None:
                link(request, actual)
            elif actual_key[1]:
                request.awaits_actual = True
                self._orphans[actual_key] = request
        elif (orphan := self._orphans.pop(key, None)) is not None:
            link(orphan, request)
        self._requests[key] = request
        self.pairing.request(request)

    def _finished(
        self,
        session: str,
        request_id: str,
        verdict: str,
        reason: str | None,
        failed_parameter: str | None,
    ) -> None:
        request = self._requests.pop((session, request_id), None)
        if request is None:
            return
        request.finished, request.verdict = True, verdict
        request.reason, request.failed_parameter = reason, failed_parameter
        if not request.preflight and is_preflight_error(reason):
            request.sent = False
        self.pairing.settled(request)
