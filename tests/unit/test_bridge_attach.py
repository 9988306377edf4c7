"""The proxy's attach point for `cors-inspector browser`: a private token file, a loopback
report endpoint that takes nothing without the token, and the same pairing as the in-process
bridge behind it. Real sockets on 127.0.0.1, real files."""

from __future__ import annotations

import json
import os
import socket
import stat
import threading
from pathlib import Path

import pytest

from cors_inspector.browsers import attach
from cors_inspector.browsers.attach import AttachPoint, ReportChannel, read_attach_file
from cors_inspector.browsers.bridge import BrowserRequest, link
from cors_inspector.engine import Analyzer

from .builders import API, PAGE, cors_get, exchange

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0.0.0 Safari/537.36"


@pytest.fixture
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "run"
    directory.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(directory))
    return directory


class Events:
    """What the attach point tells: set when a browser attaches or goes."""

    def __init__(self) -> None:
        self.attached, self.lost = threading.Event(), threading.Event()

    def point(self, port: int = 8080) -> AttachPoint:
        return AttachPoint(port, lambda _: self.attached.set(), lambda _: self.lost.set())


def chromium_decision():
    exchange = cors_get({"Access-Control-Allow-Origin": PAGE}, extra={"User-Agent": CHROME})
    (decision,) = Analyzer().run([exchange])
    return decision


def test_the_token_file_is_0600_in_a_private_directory_and_goes_with_the_proxy(runtime):
    point = AttachPoint(18080)
    point.running()
    path = runtime / "cors-inspector" / "bridge-18080.json"
    assert point.path == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.stat().st_uid == path.parent.stat().st_uid == os.getuid()
    record = json.loads(path.read_text())
    assert record["token"] == point.token and len(point.token) == 64
    assert record["proxy_port"] == 18080 and record["pid"] == os.getpid()
    assert read_attach_file(18080) == attach.AttachInfo(
        18080, record["report_port"], point.token, os.getpid()
    )
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # nothing staged is left
    point.finish()
    assert not path.exists()
    with pytest.raises(OSError):  # the endpoint is closed too
        socket.create_connection(("127.0.0.1", record["report_port"]), timeout=1).close()


def test_a_directory_open_to_others_is_made_private_and_a_file_others_can_read_is_ignored(
    runtime,
):
    directory = runtime / "cors-inspector"
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)
    point = AttachPoint(18081)
    point.running()
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    point.path.chmod(0o644)
    assert read_attach_file(18081) is None  # not believed: anybody could have read the token
    point.close()
    assert read_attach_file(18082) is None  # no proxy on that port


def test_a_report_with_a_wrong_token_is_refused_and_changes_nothing(runtime):
    events = Events()
    point = events.point()
    point.running()
    info = read_attach_file(8080)
    wrong = attach.AttachInfo(info.proxy_port, info.report_port, "0" * 64, info.pid)
    with pytest.raises(attach.AttachRefused, match="refused"):
        ReportChannel(wrong)
    # A raw client that goes on reporting anyway: nothing it says is read.
    with socket.create_connection(("127.0.0.1", info.report_port)) as raw:
        report = {"method": "Network.requestWillBeSent", "params": {"requestId": "1"}}
        raw.sendall(point.token[:-1].encode() + b"x\n" + json.dumps(report).encode() + b"\n")
        assert raw.makefile("rb").readline() == b"refused\n"
        assert raw.recv(1) == b""  # and the connection is closed
    assert point.refused == 2 and point.attachments == 0 and point.pairing is None
    assert not events.attached.is_set()
    decision = chromium_decision()
    assert point.offer(decision) == [decision]  # no browser: straight on, nothing held
    assert point.due() == []
    point.finish()


def test_the_right_token_attaches_and_the_browsers_word_reaches_the_decision(runtime):
    events = Events()
    point = events.point()
    point.running()
    channel = ReportChannel(read_attach_file(8080))
    assert events.attached.wait(5)
    decision = chromium_decision()
    started = {
        "method": "Network.requestWillBeSent",
        "sessionId": "S",
        "params": {
            "requestId": "7",
            "request": {"method": "GET", "url": decision.url, "headers": {"Cookie": "secret"}},
            "wallTime": decision.started,
            "type": "Fetch",
            "initiator": {"type": "script"},
        },
    }
    failed = {
        "method": "Network.loadingFailed",
        "sessionId": "S",
        "params": {"requestId": "7", "corsErrorStatus": {"corsError": "MissingAllowOriginHeader"}},
    }
    assert "headers" not in attach.reported(started)["params"]["request"]  # no cookies sent
    assert point.offer(decision) == []  # a Chromium's: it waits for the browser's word
    channel.send(started)
    channel.send(failed)
    channel.close()  # the browser goes once it has said it: all of it is read by then
    assert events.lost.wait(5)
    (shown,) = point.due()
    assert (shown.browser_verdict, shown.browser_reason) == ("blocked", "MissingAllowOriginHeader")
    assert shown.url == f"{API}/items"
    assert point.pairing is None
    again = chromium_decision()
    assert point.offer(again) == [again]  # gone: nothing waits for it any more
    point.finish()


def test_firefoxs_settled_requests_reach_the_pairing_with_the_request_it_never_sent(runtime):
    events = Events()
    point = events.point()
    point.running()
    channel = ReportChannel(read_attach_file(8080), "firefox")
    assert events.attached.wait(5)
    firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    asked = {"Origin": PAGE, "Access-Control-Request-Method": "PUT", "User-Agent": firefox}
    (decision,) = Analyzer().run([exchange("OPTIONS", f"{API}/items", asked, 200, {})])
    assert (decision.kind, decision.browser, decision.verdict) == (
        "preflight",
        "firefox",
        "blocked",
    )
    # As BiDiEvents makes them: the actual request first, then its preflight.
    reporter = attach.RequestReporter(channel)
    actual = BrowserRequest("PUT", decision.url, decision.started, False, None)
    preflight = BrowserRequest("OPTIONS", decision.url, decision.started, True, None)
    reporter.request(actual)
    link(preflight, actual)
    reporter.request(preflight)
    assert point.offer(decision) == []  # a Firefox's: it waits for Firefox's word
    # Its console said the preflight was refused: both blocked, the actual request unsent,
    # the preflight settled untold, with its actual request.
    for each in (preflight, actual):
        each.finished, each.verdict, each.reason = True, "blocked", "CORSMissingAllowOrigin"
    actual.sent = False
    reporter.settled(actual)
    channel.close()
    assert events.lost.wait(5)
    shown, unsent = point.due()
    assert (shown.kind, shown.browser_verdict, shown.browser_reason) == (
        "preflight",
        "blocked",
        "CORSMissingAllowOrigin",
    )
    assert (unsent.kind, unsent.method, unsent.sent) == ("actual", "PUT", False)
    point.finish()


def test_a_browser_the_point_does_not_pair_is_refused(runtime):
    events = Events()
    point = events.point()
    point.running()
    with pytest.raises(attach.AttachRefused, match="refused"):
        ReportChannel(read_attach_file(8080), "netscape")
    assert (point.refused, point.attachments) == (1, 0)
    point.finish()
