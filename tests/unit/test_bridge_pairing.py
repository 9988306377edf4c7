"""The bridge's pairing of the browser's requests with the proxy's decisions: the engine's
real decisions, and browser requests as the bridge builds them from Network events."""

from __future__ import annotations

import pytest

from cors_inspector.browsers.bridge import BrowserRequest, NetworkEvents, Pairing
from cors_inspector.cli import main
from cors_inspector.engine import Analyzer
from cors_inspector.engine.decision import Frame, Initiator

from .builders import API, PAGE, cors_get, exchange

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0.0.0 Safari/537.36"
CALLED = Initiator(f"{PAGE}/app.js", 42, 13, (Frame("load", f"{PAGE}/app.js", 42, 13),))


def judged(exchange):
    (decision,) = Analyzer().run([exchange])
    return decision


def seen_by_browser(verdict: str, reason: str | None = None) -> BrowserRequest:
    return BrowserRequest(
        method="GET",
        url=f"{API}/items",
        started=1000.0,
        preflight=False,
        initiator=CALLED,
        finished=True,
        verdict=verdict,
        reason=reason,
    )


def test_a_cookieless_request_chromium_refused_as_credentialed_is_settled():
    decision = judged(cors_get({"Access-Control-Allow-Origin": "*"}))
    assert (decision.verdict, decision.verdict_if_credentials) == ("allowed", "blocked")
    pairing = Pairing()
    pairing.request(seen_by_browser("blocked", "WildcardOriginNotAllowed"))
    (settled,) = pairing.offer(decision)
    assert (settled.verdict, settled.reason) == ("blocked", "WildcardOriginNotAllowed")
    assert settled.credentials == "include"
    assert settled.credentials_basis.startswith("the browser: Chromium refused it with")
    assert (settled.browser_verdict, settled.initiator) == ("blocked", CALLED)
    assert pairing.counts.settled_credentials == pairing.counts.paired == 1


def test_a_disagreement_the_credentials_cannot_explain_keeps_both_answers():
    decision = judged(cors_get({"Access-Control-Allow-Origin": PAGE}))
    pairing = Pairing()
    pairing.request(seen_by_browser("blocked", "MissingAllowOriginHeader"))
    (shown,) = pairing.offer(decision)
    assert (shown.verdict, shown.browser_verdict) == ("allowed", "blocked")
    assert "they disagree" in shown.explanation
    assert decision.explanation in shown.explanation  # the engine's own answer stays


def test_another_clients_request_goes_on_at_once_counted():
    decision = judged(cors_get({"Access-Control-Allow-Origin": PAGE}))  # no User-Agent
    pairing = Pairing()
    assert pairing.offer(decision) == [decision]
    assert pairing.counts.unpaired_decisions == 1


def test_a_chromium_request_the_bridge_has_not_seen_waits_then_goes_on_counted():
    decision = judged(cors_get({"Access-Control-Allow-Origin": PAGE}, extra={"User-Agent": CHROME}))
    assert decision.browser == "chromium"
    pairing = Pairing()
    assert pairing.offer(decision) == []  # its browser event may still be on its way
    pairing.lose()  # the browser went away: nothing waits any more
    assert pairing.due() == [decision]
    assert pairing.counts.unpaired_decisions == 1
    assert pairing.offer(decision) == [decision]


@pytest.mark.parametrize(
    "argv",
    [["--with-browser", "open", "x.mitm"], ["--url", "http://localhost:3000"]],
    ids=["with-browser-before-a-command", "url-without-with-browser"],
)
def test_browser_options_outside_the_live_proxy_are_one_line_errors(argv, capsys):
    try:
        status = main(argv)
    except SystemExit as usage_error:  # argparse's: the usage, then the one line
        status = usage_error.code
    assert status == 2
    line = capsys.readouterr().err.splitlines()[-1]
    assert line.startswith("cors-inspector: error: ")
    assert "--with-browser" in line or "--url" in line


def test_an_ordinary_clients_decision_goes_on_without_the_lock_while_the_browser_is_idle():
    import threading

    decision = judged(cors_get({"Access-Control-Allow-Origin": PAGE}))  # no User-Agent
    pairing = Pairing()
    handed: list = []
    with pairing._lock:  # the bridge's thread holds it: an ordinary flow must not wait for it
        worker = threading.Thread(target=lambda: handed.extend(pairing.offer(decision)))
        worker.start()
        worker.join(timeout=5)
        assert handed == [decision]
        assert pairing.due() == []  # nothing from the browser: no work either
    assert pairing.counts.unpaired_decisions == 1


def network_event(method: str, request_id: str, **params) -> dict:
    return {"method": method, "sessionId": "S", "params": {"requestId": request_id, **params}}


def test_a_preflight_finished_before_its_fetch_is_announced_still_tells_of_the_unsent_request():
    # Chromium's order, seen in the attach test: the preflight's requestWillBeSent, its
    # response, and only then the fetch's requestWillBeSent and its preflight failure.
    url = f"{API}/items"
    asked = {"Origin": PAGE, "Access-Control-Request-Method": "PUT", "User-Agent": CHROME}
    decision = judged(exchange("OPTIONS", url, asked, 200, {}))
    assert (decision.kind, decision.browser) == ("preflight", "chromium")
    pairing = Pairing(hold_s=3600)  # the order alone decides here, not the clock
    events = NetworkEvents(pairing, lambda *args, **kwargs: 0, "about:blank")
    initiator = {"type": "preflight", "url": url, "requestId": "7"}
    options = {"method": "OPTIONS", "url": url}
    when = decision.started
    events.handle(
        network_event(
            "Network.requestWillBeSent", "P", request=options, wallTime=when, initiator=initiator
        )
    )
    assert pairing.offer(decision) == []
    events.handle(network_event("Network.responseReceived", "P"))
    events.handle(network_event("Network.loadingFinished", "P"))
    assert pairing.due() == []  # the fetch it is for has not been told of yet
    stack = {
        "callFrames": [
            {"functionName": "run", "url": f"{PAGE}/app.js", "lineNumber": 41, "columnNumber": 12}
        ]
    }
    put = {"method": "PUT", "url": url}
    events.handle(
        network_event(
            "Network.requestWillBeSent",
            "7",
            request=put,
            wallTime=when,
            type="Fetch",
            initiator={"type": "script", "stack": stack},
        )
    )
    refused = {"corsError": "PreflightMissingAllowOriginHeader", "failedParameter": ""}
    events.handle(network_event("Network.loadingFailed", "7", corsErrorStatus=refused))
    shown, unsent = pairing.due()
    assert (shown.kind, shown.browser_reason) == ("preflight", refused["corsError"])
    assert (unsent.kind, unsent.sent, unsent.method) == ("actual", False, "PUT")
    assert (unsent.browser_reason, unsent.initiator.line) == (refused["corsError"], 42)
    assert pairing.counts.never_sent == 1


def test_the_first_tab_opens_the_page_only_once_chromium_has_turned_its_network_events_on():
    sent: list[tuple] = []

    def send(method, params=None, session=""):
        sent.append((method, session))
        return len(sent)

    events = NetworkEvents(Pairing(), send, f"{PAGE}/page")
    tab = {"sessionId": "T", "targetInfo": {"type": "page"}}
    events.handle({"method": "Target.attachedToTarget", "params": tab})
    enabled = sent.index(("Network.enable", "T")) + 1
    assert ("Page.navigate", "T") not in sent  # navigating now could miss the first requests
    events.handle({"id": enabled + 1, "result": {}, "sessionId": "T"})  # another answer
    assert ("Page.navigate", "T") not in sent
    events.handle({"id": enabled, "result": {}, "sessionId": "T"})
    assert sent[-1] == ("Page.navigate", "T")
    events.handle({"method": "Target.attachedToTarget", "params": {**tab, "sessionId": "U"}})
    events.handle({"id": len(sent) - 2, "result": {}, "sessionId": "U"})
    assert sent.count(("Page.navigate", "T")) == 1 and ("Page.navigate", "U") not in sent
