"""The Firefox bridge's reading of WebDriver BiDi events (as Firefox 153 ESR sends them:
tests/bridge/test_firefox_bridge.py runs the real one): CORS requests settle by their console
line, or as allowed once Firefox stayed quiet; a failed preflight stops its actual request."""

from __future__ import annotations

import pytest

from cors_inspector.browsers.bidi import CONSOLE_WAIT_S, BiDiEvents
from cors_inspector.browsers.bridge import BrowserRequest, Pairing
from cors_inspector.cli import main
from cors_inspector.engine.reasons import (
    FIREFOX_CONSOLE,
    firefox_console_message,
    firefox_reason_of,
)

API = "http://127.0.0.1:8000/api"
PAGE = "http://localhost:8000"


@pytest.mark.parametrize("reason", sorted(FIREFOX_CONSOLE))
def test_every_firefox_console_line_reads_back_as_its_reason_and_url(reason):
    line = firefox_console_message(reason, f"{API}/items", "X-Token", 200)
    assert firefox_reason_of(line) == (reason, f"{API}/items")


def test_other_console_lines_have_no_reason():
    assert firefox_reason_of("Uncaught TypeError: x is undefined") is None


def before(request_id: str, method: str, url: str, **headers: str) -> dict:
    fields = {"Origin": PAGE, "Sec-Fetch-Mode": "cors", **headers}
    return {
        "type": "event",
        "method": "network.beforeRequestSent",
        "params": {
            "timestamp": 1_000_000.0,
            "redirectCount": 0,
            "request": {
                "request": request_id,
                "url": url,
                "method": method,
                "headers": [
                    {"name": name.replace("_", "-"), "value": {"type": "string", "value": value}}
                    for name, value in fields.items()
                ],
            },
        },
    }


def ended(request_id: str, failed: bool = False) -> dict:
    method = "network.fetchError" if failed else "network.responseCompleted"
    return {"type": "event", "method": method, "params": {"request": {"request": request_id}}}


def put_and_its_preflight(url: str, failed: bool) -> list[dict]:
    """A PUT and its preflight as Firefox tells them: the actual request first, then the
    preflight; both end (the preflight first), failed or not."""
    return [
        before("1", "PUT", url),
        before("2", "OPTIONS", url, Access_Control_Request_Method="PUT"),
        ended("2", failed),
        ended("1", failed),
    ]


def logged(reason: str, url: str, status: int | None = 200) -> dict:
    text = firefox_console_message(reason, url, None, status)
    return {"type": "event", "method": "log.entryAdded", "params": {"text": text}}


class Events:
    """BiDiEvents and a real Pairing, the timers run when the test says time has passed."""

    def __init__(self) -> None:
        self.timers: list[tuple[float, object]] = []
        self.pairing = Pairing("firefox")
        self.bidi = BiDiEvents(self.pairing, lambda delay, call: self.timers.append((delay, call)))

    @property
    def requests(self) -> list[BrowserRequest]:
        """The browser requests the pairing was given (none paired: no proxy here)."""
        return [request for queue in self.pairing._open.values() for request in queue]

    def feed(self, *messages: dict) -> None:
        for message in messages:
            self.bidi.handle(message)

    def wait(self) -> None:
        timers, self.timers = self.timers, []
        assert all(delay == CONSOLE_WAIT_S for delay, _ in timers)
        for _, call in timers:
            call()  # type: ignore[operator]


def test_a_refused_response_completes_and_is_settled_by_its_console_line():
    events = Events()
    events.feed(before("1", "GET", f"{API}/missing"), ended("1"))
    (request,) = events.requests
    assert not request.finished  # completed, but the console has not spoken yet
    events.feed(logged("CORSMissingAllowOrigin", f"{API}/missing"))
    assert (request.verdict, request.reason) == ("blocked", "CORSMissingAllowOrigin")
    events.wait()  # its quiet timer changes nothing
    assert request.verdict == "blocked"


def test_a_cors_request_is_allowed_once_firefox_stayed_quiet_and_a_navigation_at_once():
    events = Events()
    events.feed(before("1", "GET", f"{API}/allowed"), ended("1"))
    events.feed(before("2", "GET", f"{PAGE}/page", Sec_Fetch_Mode="navigate"), ended("2"))
    allowed, page = events.requests
    assert (page.finished, page.verdict, allowed.finished) == (True, "allowed", False)
    events.wait()
    assert (allowed.verdict, allowed.reason) == ("allowed", None)


def test_a_failed_preflight_blocks_itself_and_stops_its_actual_request():
    events = Events()
    url = f"{API}/preflight-fails"
    events.feed(
        *put_and_its_preflight(url, failed=True),
        logged("CORSMissingAllowOrigin", url, 400),
        logged("CORSDidNotSucceed", url, None),  # the trailing line: not a second refusal
    )
    actual, preflight = events.requests
    assert preflight.actual is actual and actual.preflights == [preflight]
    assert (preflight.verdict, preflight.reason) == ("blocked", "CORSMissingAllowOrigin")
    assert (actual.verdict, actual.reason, actual.sent) == (
        "blocked",
        "CORSMissingAllowOrigin",
        False,
    )


def test_a_passed_preflight_leaves_the_refusal_to_its_actual_request():
    events = Events()
    url = f"{API}/actual-refused"
    events.feed(
        *put_and_its_preflight(url, failed=False),
        logged("CORSMissingAllowOrigin", url),
    )
    actual, preflight = events.requests
    assert (actual.verdict, actual.sent) == ("blocked", True)
    assert not preflight.finished
    events.wait()
    assert preflight.verdict == "allowed"


def test_firefox_without_with_browser_is_a_one_line_error(capsys):
    assert main(["proxy", "--firefox"]) == 2
    line = capsys.readouterr().err.splitlines()[-1]
    assert line.startswith("cors-inspector: error: ") and "--with-browser" in line


def test_firefoxs_reason_name_agrees_with_the_rebuild_in_the_tui():
    from dataclasses import replace

    from cors_inspector.engine import Analyzer
    from cors_inspector.tui.store import disagrees

    from .builders import cors_get

    (decision,) = Analyzer().run([cors_get({})])  # no Access-Control-Allow-Origin
    assert decision.firefox_reason == "CORSMissingAllowOrigin"
    seen = replace(decision, browser_verdict="blocked", browser_reason="CORSMissingAllowOrigin")
    assert not disagrees(seen)
    assert disagrees(replace(seen, browser_reason="CORSMissingAllowCredentials"))
