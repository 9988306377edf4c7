"""Readers: mitmproxy flow files and HAR files, recognised by content, streamed."""

import io
import json
from pathlib import Path

import pytest
from mitmproxy.addons.savehar import SaveHar
from mitmproxy.io import FlowReader, FlowWriter
from mitmproxy.test import tflow

from cors_inspector.readers import CaptureError, read_capture
from cors_inspector.readers.har import read_har

from .builders import mitm_flow


def _flow(method: bytes, path: bytes, request_headers, status, response_headers):
    return mitm_flow(method, path, request_headers, status, response_headers)


@pytest.fixture
def flows():
    return [
        _flow(
            b"OPTIONS",
            b"/items",
            [(b"Origin", b"http://localhost:3000"), (b"Access-Control-Request-Method", b"patch")],
            200,
            [(b"Access-Control-Allow-Origin", b"http://localhost:3000")],
        ),
        _flow(
            b"patch",
            b"/items?q=1",
            [
                (b"Origin", b"http://localhost:3000"),
                (b"X-Dup", b"a"),
                (b"X-Dup", b"b"),
                (b"X-Bytes", "é".encode()),
            ],
            200,
            [(b"Access-Control-Allow-Origin", b"*"), (b"Access-Control-Allow-Origin", b"*")],
        ),
    ]


def _write(tmp_path: Path, flows, name="capture.bin") -> Path:
    path = tmp_path / name
    with path.open("wb") as out:
        writer = FlowWriter(out)
        for flow in flows:
            writer.add(flow)
    return path


def test_mitm_file_is_read_as_mitmproxy_reads_it(tmp_path, flows):
    path = _write(tmp_path, flows)
    exchanges = list(read_capture(path))
    with path.open("rb") as raw:
        reference = list(FlowReader(raw).stream())
    assert [e.id for e in exchanges] == [f.id for f in reference]
    assert [e.request.url for e in exchanges] == [f.request.url for f in reference]
    assert [e.response.status for e in exchanges] == [f.response.status_code for f in reference]
    assert exchanges[0].started == reference[0].request.timestamp_start


def test_mitm_keeps_the_method_as_sent_and_every_header_line(tmp_path, flows):
    actual = list(read_capture(_write(tmp_path, flows)))[1]
    assert actual.request.method == "patch"  # mitmproxy's .method would say PATCH
    assert actual.request.headers.get_all("x-dup") == ["a", "b"]
    assert actual.request.headers.get("x-bytes") == "é".encode().decode("latin-1")
    assert actual.response.headers.get_all("access-control-allow-origin") == ["*", "*"]


def test_truncated_mitm_file_yields_what_was_readable_then_fails(tmp_path, flows):
    path = _write(tmp_path, flows)
    path.write_bytes(path.read_bytes()[:-40])
    seen = []
    with pytest.raises(CaptureError, match="truncated"):
        for exchange in read_capture(path):
            seen.append(exchange)
    assert len(seen) == 1


def test_har_from_mitmproxy_is_read(tmp_path, flows):
    har = SaveHar().make_har(flows)
    path = tmp_path / "capture.har"
    path.write_text(json.dumps(har))
    exchanges = list(read_capture(path))
    assert [e.request.url for e in exchanges] == [f.request.url for f in flows]
    assert exchanges[1].response.headers.get_all("access-control-allow-origin") == ["*", "*"]


def test_format_is_told_by_content_not_name(tmp_path, flows):
    path = _write(tmp_path, flows, name="looks-like.har")
    assert len(list(read_capture(path))) == 2


def test_chrome_har_failed_entry_keeps_the_browser_error():
    har = {
        "log": {
            "version": "1.2",
            "pages": [{"id": "p"}],
            "entries": [
                {
                    "startedDateTime": "2026-11-21T10:00:00.000Z",
                    "time": 12.5,
                    "request": {
                        "method": "GET",
                        "url": "http://localhost:8000/x",
                        "headers": [
                            {"name": "Origin", "value": "http://localhost:3000"},
                            {"name": ":authority", "value": "localhost:8000"},
                        ],
                    },
                    "response": {
                        "status": 0,
                        "statusText": "",
                        "headers": [],
                        "_error": "net::ERR_FAILED",
                    },
                }
            ],
        }
    }
    (exchange,) = read_har(io.StringIO(json.dumps(har)))
    assert exchange.response is None
    assert exchange.browser_error == "net::ERR_FAILED"
    assert exchange.request.headers.names() == ["origin"]  # pseudo-header dropped
    assert exchange.ended == pytest.approx(exchange.started + 0.0125)


def test_har_is_streamed_across_small_chunks(monkeypatch):
    import cors_inspector.readers.json_text as json_text

    monkeypatch.setattr(json_text, "CHUNK", 7)
    entries = [
        {
            "startedDateTime": "2026-11-21T10:00:00Z",
            "time": 1,
            "request": {"method": "GET", "url": f"http://a.test/{i}", "headers": []},
            "response": {"status": 200, "headers": [{"name": "X", "value": "y" * 50}]},
        }
        for i in range(5)
    ]
    text = json.dumps({"log": {"creator": {"name": "x"}, "entries": entries, "pages": []}})
    exchanges = list(read_har(io.StringIO(text)))
    assert [e.request.url for e in exchanges] == [f"http://a.test/{i}" for i in range(5)]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "empty"),
        (b"hello", "not a mitmproxy flow file, HAR or NetLog"),
        (b'{"not": "har"}', "not a HAR"),
        (b'{"log": {"entries": [{"request": 1}]}}', "1 HAR entry skipped (entry 1"),
        (b'{"log": {"entries": [', "invalid JSON"),
        (b"12:abc", "truncated"),
    ],
)
def test_bad_files_raise_one_clear_error(tmp_path, content, problem):
    path = tmp_path / "bad"
    path.write_bytes(content)
    with pytest.raises(CaptureError) as caught:
        list(read_capture(path))
    assert problem in str(caught.value)
    assert str(path) in str(caught.value)


def test_directory_and_missing_file(tmp_path):
    with pytest.raises(CaptureError, match="directory"):
        list(read_capture(tmp_path))
    with pytest.raises(CaptureError, match="no such file"):
        list(read_capture(tmp_path / "missing.mitm"))


def test_flow_the_proxy_answered_itself_is_read_as_its_502(tmp_path):
    """mitmproxy answers the browser 502 when the server fails; a client abort gets nothing."""
    server_down = tflow.tflow(err=True)
    server_down.error.msg = "Connect call failed ('127.0.0.1', 9)"
    client_gone = tflow.tflow(err=True)
    client_gone.error.msg = "Client disconnected."
    down, gone = read_capture(_write(tmp_path, [server_down, client_gone]))
    assert (down.response.status, down.answered_by_proxy) == (502, True)
    assert gone.response is None and not gone.answered_by_proxy


def test_har_with_bad_entries_yields_the_good_ones_then_says_what_was_skipped(tmp_path):
    good = {
        "startedDateTime": "2026-11-21T10:00:00Z",
        "time": 1,
        "request": {"method": "GET", "url": "http://a.test/", "headers": []},
        "response": {"status": 200, "headers": []},
    }
    path = tmp_path / "partial.har"
    path.write_text(json.dumps({"log": {"entries": [good, {"request": {}}, good, {}]}}))
    seen = []
    with pytest.raises(CaptureError, match=r"2 HAR entries skipped \(entry 2: no 'startedDate"):
        seen.extend(read_capture(path))
    assert len(seen) == 2


def test_http2_websocket_and_streamed_flows_are_read_and_judged(tmp_path):
    """HTTP/2 (lower-case names), a WebSocket upgrade, a streamed body with no content."""
    from cors_inspector.engine import Analyzer

    h2 = _flow(
        b"GET",
        b"/a",
        [(b"origin", b"http://localhost:3000"), (b"sec-fetch-mode", b"cors")],
        200,
        [(b"access-control-allow-origin", b"http://localhost:3000")],
    )
    h2.request.http_version = h2.response.http_version = "HTTP/2.0"
    socket = tflow.twebsocketflow()
    socket.request.headers["Origin"] = "http://localhost:3000"
    streamed = _flow(b"GET", b"/big", [(b"Origin", b"http://localhost:3000")], 200, [])
    streamed.response.raw_content = None
    decisions = list(Analyzer().run(read_capture(_write(tmp_path, [h2, socket, streamed]))))
    assert [(d.kind, d.verdict) for d in decisions] == [
        ("actual", "allowed"),
        ("not-cors", "not-applicable"),  # the WebSocket handshake: no CORS check
        ("actual", "blocked"),
    ]


@pytest.mark.parametrize("kind", ["mitm", "har", "har.gz"])
def test_capture_says_how_far_into_the_file_reading_has_got(tmp_path, flows, kind):
    import gzip

    from cors_inspector.readers import Capture

    if kind == "mitm":
        path = _write(tmp_path, flows * 200)
    else:
        data = json.dumps(SaveHar().make_har(flows * 200)).encode()
        path = tmp_path / f"capture.{kind}"
        path.write_bytes(gzip.compress(data) if kind.endswith("gz") else data)
    capture = Capture(path)
    assert capture.bytes_read == 0
    positions = [capture.bytes_read for _ in capture.exchanges()]
    assert len(positions) == 400
    assert positions == sorted(positions) and 0 < positions[0] <= path.stat().st_size
    assert capture.bytes_read == path.stat().st_size  # the whole file, once closed
