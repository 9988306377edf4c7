"""The Firefox bridge: what the Firefox this tool started decided, over WebDriver BiDi, paired
with the proxy's decisions as the Chromium bridge's are (bridge.Pairing).

Firefox (firefox-esr) starts with a throwaway profile through the proxy (firefox.py's prefs and
certificate), `--remote-debugging-port=0`, and says on stderr where its remote agent listens
("WebDriver BiDi listening on ws://127.0.0.1:PORT"). The bridge opens a session there,
subscribes to events only (network.beforeRequestSent, responseCompleted, fetchError and
log.entryAdded: nothing is intercepted, no script is run in the page) and opens the one page
it was asked to open.

Firefox's network events never carry a CORS verdict: a refused response still "completes".
Its reason is only in the console: every refusal logs "Cross-Origin Request Blocked: ...
(Reason: ...)", one of the lines of engine.reasons.FIREFOX_CONSOLE (read backwards by
firefox_reason_of), naming the URL; the first such line for a URL is the reason (a failed
preflight adds a trailing CORSDidNotSucceed), and it may come up to ~3 s after the fetch
failed. So a CORS request that ended is settled by its console line, or as allowed (failed:
unknown) once CONSOLE_WAIT_S passed without one. Firefox's BiDi gives no script location of
the call (its initiator is {"type": "other"}): the records' initiator stays empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import websockets

from ..engine.reasons import firefox_reason_of
from . import chromium, firefox, profiles
from .bridge import (
    READY_TIMEOUT_S,
    BrowserBridge,
    BrowserRequest,
    Pairing,
    link,
    wait_for_proxy,
)

LISTENING = re.compile(rb"WebDriver BiDi listening on (ws://[\d.]+:\d+)")
CONSOLE_WAIT_S = 4.0  # Firefox logs a refusal up to ~3 s after the request ended
HOLD_S = CONSOLE_WAIT_S + 2.0  # a decision waits this long for Firefox's word on it
STOP_TIMEOUT_S = 10.0
EVENTS = [
    "network.beforeRequestSent",
    "network.responseCompleted",
    "network.fetchError",
    "log.entryAdded",
]


class BiDiError(RuntimeError):
    pass


# How a session with Firefox can fail (Firefox gone, the protocol broken).
SESSION_ERRORS = (
    OSError,
    ValueError,
    KeyError,
    TypeError,
    BiDiError,
    websockets.WebSocketException,
)


def _stop_with_parent() -> None:
    """In the child, before exec: on Linux, SIGTERM when this process dies, however it dies.
    (A Chromium on a pipe exits when the pipe closes; Firefox on a port would outlive us.)"""
    if sys.platform == "linux":
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class FirefoxProcess:
    """Firefox with a throwaway profile through the proxy, its remote agent on a free port.
    Its own session (process group), stopped by its pid; the profile is removed with it."""

    def __init__(self, executable: str, proxy_host: str, proxy_port: int, headless: bool) -> None:
        self.profile = profiles.new_profile()
        try:
            firefox.write_profile(self.profile, proxy_host, proxy_port)
            firefox.trust_ca(self.profile, chromium.mitmproxy_ca_pem())
            argv = firefox.firefox_arguments(executable, self.profile, "about:blank", headless)
            argv.insert(-1, "--remote-debugging-port=0")
            self._process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,  # stopping it stops every Firefox process
                preexec_fn=_stop_with_parent,
            )
        except BaseException:
            shutil.rmtree(self.profile, ignore_errors=True)
            raise
        self.pid = self._process.pid

    def address(self, deadline: float) -> str:
        """The websocket address Firefox prints once its remote agent listens; what it prints
        after is read and dropped (its own thread), so that Firefox never blocks on it."""
        assert self._process.stderr is not None
        fd = self._process.stderr.fileno()
        seen = b""
        while not (found := LISTENING.search(seen)):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise OSError("Firefox did not say where its WebDriver BiDi agent listens")
            if not (chunk := os.read(fd, 1 << 16)):
                raise OSError("Firefox exited before its WebDriver BiDi agent listened")
            seen = seen[-4096:] + chunk
        threading.Thread(target=self._drain, args=(fd,), daemon=True).start()
        return found.group(1).decode()

    @staticmethod
    def _drain(fd: int) -> None:
        with contextlib.suppress(OSError):
            while os.read(fd, 1 << 16):
                pass

    def close(self) -> None:
        """Stop Firefox (its whole process group) and remove its profile."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGTERM)
        try:
            self._process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            self._process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def exited(self) -> bool:
        return self._process.poll() is not None


class BiDiEvents:
    """Firefox's BiDi events turned into BrowserRequests for the pairing. `later(delay, call)`
    runs `call` after `delay` seconds on the same thread as `handle`."""

    def __init__(self, pairing: Pairing, later: Callable[[float, Callable[[], None]], Any]):
        self.pairing = pairing
        self._later = later
        self._requests: dict[str, BrowserRequest] = {}  # BiDi request id -> not settled yet
        self._ids: dict[BrowserRequest, str] = {}
        self._cors: set[str] = set()  # ids of CORS requests (their verdict is the console's)
        self._ended: dict[str, bool] = {}  # id -> True: it failed (fetchError)
        self._named: dict[str, float] = {}  # URL -> when its first refusal line came

    def handle(self, message: dict[str, Any]) -> None:
        method = message.get("method")
        params = message.get("params") or {}
        if method == "network.beforeRequestSent":
            self._before(params)
        elif method == "network.responseCompleted":
            self._end(params["request"]["request"], failed=False)
        elif method == "network.fetchError":
            self._end(params["request"]["request"], failed=True)
        elif method == "log.entryAdded":
            self._logged(params.get("text") or "")

    def _before(self, params: dict[str, Any]) -> None:
        request = params["request"]
        request_id = request["request"]
        if (hop := self._requests.get(request_id)) is not None:  # a redirect: the last hop
            self._settle(hop, "allowed", None)
        headers = {
            h["name"].lower(): (h.get("value") or {}).get("value", "")
            for h in request.get("headers", ())
        }
        mode = headers.get("sec-fetch-mode")
        cors = mode == "cors" or (mode is None and "origin" in headers)
        preflight = (
            cors and request["method"] == "OPTIONS" and ("access-control-request-method" in headers)
        )
        started = params.get("timestamp")
        browser_request = BrowserRequest(
            method=request["method"],
            url=request["url"],
            started=started / 1000 if started else time.time(),
            preflight=preflight,
            initiator=None,  # Firefox's BiDi names no script location
        )
        if preflight:  # Firefox reports its actual request first, with the method it asks for
            asked = headers["access-control-request-method"].upper()
            for candidate in reversed(self._requests.values()):
                if (
                    candidate.url == browser_request.url
                    and candidate.method == asked
                    and not candidate.preflight
                    and not candidate.preflights
                ):
                    link(browser_request, candidate)
                    break
        self._requests[request_id] = browser_request
        self._ids[browser_request] = request_id
        if cors:
            self._cors.add(request_id)
        self.pairing.request(browser_request)

    def _end(self, request_id: str, failed: bool) -> None:
        request = self._requests.get(request_id)
        if request is None:
            return
        if request_id not in self._cors:
            self._settle(request, "unknown" if failed else "allowed", None)
            return
        self._ended[request_id] = failed
        self._later(CONSOLE_WAIT_S, lambda: self._quiet(request))

    def _quiet(self, request: BrowserRequest) -> None:
        """No refusal logged for it in time: it passed (or failed on the network)."""
        request_id = self._ids.get(request)
        if request_id is not None:
            self._settle(request, "unknown" if self._ended.get(request_id) else "allowed", None)

    def _logged(self, text: str) -> None:
        named = firefox_reason_of(text)
        if named is None:
            return
        reason, url = named
        now = time.monotonic()
        if reason == "CORSDidNotSucceed" and now - self._named.get(url, -CONSOLE_WAIT_S) < (
            CONSOLE_WAIT_S
        ):
            return  # the trailing line after a failed preflight or refused redirect
        for request_id, request in list(self._requests.items()):
            if request.url != url or request_id not in self._cors:
                continue
            if request.preflight and not self._ended.get(request_id):
                continue  # a preflight that passed (or has not ended): not the one refused
            self._named[url] = now
            if request.preflight or (request.preflights and self._failed_preflight(request)):
                self._refuse_preflight(request.actual if request.preflight else request, reason)
            else:
                self._settle(request, "blocked", reason)
            return

    def _failed_preflight(self, actual: BrowserRequest) -> bool:
        return any(self._ended.get(self._ids.get(preflight, "")) for preflight in actual.preflights)

    def _refuse_preflight(self, actual: BrowserRequest | None, reason: str) -> None:
        """Its preflight failed: the preflight is blocked, the actual request never sent."""
        if actual is None:
            return
        actual.sent = False
        for preflight in actual.preflights:
            if preflight in self._ids:
                self._settle(preflight, "blocked", reason, notify=False)
        self._settle(actual, "blocked", reason)

    def _settle(
        self, request: BrowserRequest, verdict: str, reason: str | None, notify: bool = True
    ) -> None:
        request_id = self._ids.pop(request, None)
        if request_id is None:
            return
        self._requests.pop(request_id, None)
        self._cors.discard(request_id)
        self._ended.pop(request_id, None)
        request.finished, request.verdict, request.reason = True, verdict, reason
        if notify:
            self.pairing.settled(request)
            if request.actual is not None:  # a preflight settles with its actual request
                self.pairing.settled(request.actual)


class FirefoxBridge(BrowserBridge):
    """Firefox, over WebDriver BiDi: its events read with an event loop of the bridge's own
    thread (never the proxy's)."""

    thread_name = "cors-browser-bridge-firefox"

    def _new_pairing(self) -> Pairing:
        return Pairing("firefox", HOLD_S)

    def _start_browser(self, executable: str, headless: bool) -> None:
        self._firefox = FirefoxProcess(executable, *self._proxy, headless)

    @property
    def pid(self) -> int:
        return self._firefox.pid

    def _stop_browser(self) -> None:
        self._firefox.close()

    def _read(self) -> str:
        try:
            address = self._firefox.address(time.monotonic() + READY_TIMEOUT_S)
            wait_for_proxy(self._proxy)
            asyncio.run(run_session(address, self.url, self.pairing))
        except SESSION_ERRORS as error:
            if not self._firefox.exited():
                return f"the browser's WebDriver BiDi channel failed ({error})"
        return "the browser closed"


async def run_session(address: str, url: str, pairing: Any) -> None:
    """Subscribe to the events, open `url` in the first tab, and feed every event to
    BiDiEvents for `pairing` (a Pairing, or what stands in for one) until Firefox closes."""
    events = BiDiEvents(pairing, asyncio.get_running_loop().call_later)
    async with websockets.connect(
        f"{address}/session", max_size=None, ping_interval=None
    ) as connection:
        session = BiDiSession(connection, events.handle)
        await session.command("session.new", {"capabilities": {}})
        await session.command("session.subscribe", {"events": EVENTS})
        if url != "about:blank":
            context = await session.top_context(time.monotonic() + READY_TIMEOUT_S)
            await session.command(
                "browsingContext.navigate", {"context": context, "url": url, "wait": "none"}
            )
        await session.read_events()


class BiDiSession:
    """Commands one at a time, their answers matched by id; every event on the way (and
    after, in `read_events`) goes to `on_event`."""

    def __init__(self, connection: Any, on_event: Callable[[dict[str, Any]], None]) -> None:
        self._connection = connection
        self._on_event = on_event
        self._next_id = 0

    async def command(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self._next_id += 1
        command_id = self._next_id
        await self._connection.send(
            json.dumps({"id": command_id, "method": method, "params": params})
        )
        async for raw in self._connection:
            message = json.loads(raw)
            if message.get("id") != command_id:
                self._event(message)
                continue
            if message.get("type") == "error":
                raise BiDiError(f"{method}: {message.get('error')}: {message.get('message')}")
            return message.get("result") or {}
        raise BiDiError(f"{method}: the connection closed before its answer")

    async def top_context(self, deadline: float) -> str:
        """The first tab's browsing context (Firefox may still be opening it)."""
        while True:
            tree = await self.command("browsingContext.getTree", {"maxDepth": 0})
            if tree.get("contexts"):
                return tree["contexts"][0]["context"]
            if time.monotonic() > deadline:
                raise BiDiError("Firefox opened no tab")
            await asyncio.sleep(0.05)  # the poll interval of a wait with a deadline

    async def read_events(self) -> None:
        async for raw in self._connection:
            self._event(json.loads(raw))

    def _event(self, message: dict[str, Any]) -> None:
        if message.get("type") == "event":
            self._on_event(message)
