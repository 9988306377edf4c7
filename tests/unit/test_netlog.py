"""The NetLog reader on real Chromium 156 NetLogs (tests/unit/netlogs/, recorded by
scripts/record_netlog.py): the engine agrees with what CDP said of every request, in every
layout and capture mode, and damaged NetLogs give one line, never a traceback."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from cors_inspector.engine import analyze
from cors_inspector.output.records import to_record
from cors_inspector.readers import Capture, CaptureError, detect_format, read_capture
from cors_inspector.readers import netlog_requests as netlog_module
from tests.support.agreement import group_by_case, netlog_agreement

NETLOGS = Path(__file__).parent / "netlogs"
EVERYTHING = NETLOGS / "everything.json"
CDP = json.loads((NETLOGS / "chromium.json").read_text())


def jsonl(path: Path) -> str:
    records = (to_record(decision) for decision in analyze(read_capture(path)))
    return "\n".join(json.dumps(record) for record in records)


def cli(path: Path) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "cors_inspector", "analyze", str(path), "--format", "jsonl"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def assert_agrees_with_chromium(path: Path) -> None:
    agreed, disagreements = netlog_agreement(CDP, group_by_case(jsonl(path)))
    assert not disagreements, "\n".join(disagreements)
    assert agreed == len(CDP)


@pytest.mark.parametrize("name", ["everything.json", "default.json", "everything.json.gz"])
def test_every_request_agrees_with_chromium(name):
    assert_agrees_with_chromium(NETLOGS / name)


def test_other_layouts_are_read_alike(tmp_path):
    """Pretty-printed, or all on one line: the JSON cursor reads them, with the same result."""
    document = json.loads(EVERYTHING.read_text())
    for name, text in [
        ("pretty.json", json.dumps(document, indent=1)),
        ("one-line.json", json.dumps(document)),
    ]:
        path = tmp_path / name
        path.write_text(text)
        assert_agrees_with_chromium(path)


def test_recognised_by_content():
    assert detect_format(EVERYTHING.read_bytes()[:64]) == "netlog"
    assert detect_format(b'{\n  "constants": {') == "netlog"
    assert detect_format(b'{"log": {"entries": []}}') == "har"


def test_what_only_the_browser_knows():
    exchanges = {exchange.id: exchange for exchange in read_capture(EVERYTHING)}
    by_case: dict[str, list] = {}
    for exchange in exchanges.values():
        by_case.setdefault(exchange.request.url.rsplit("case=", 1)[-1], []).append(exchange)
    unsent = [e for e in by_case["put-method-disallowed"] if not e.sent]
    assert len(unsent) == 1 and unsent[0].response is None
    assert exchanges[unsent[0].preflight_of].request.method == "OPTIONS"
    assert unsent[0].browser_reason == "MethodDisallowedByPreflightResponse"
    # The second PUT's preflight came from the browser's cache.
    assert [e.preflight_cached for e in by_case["put-cached"] if e.request.method == "PUT"] == [
        False,
        True,
    ]
    (no_cookie,) = by_case["include-star-no-cookie"]
    assert "cookie" not in no_cookie.request.headers and no_cookie.credentials == "include"
    assert no_cookie.credentials_basis.startswith("Chrome NetLog")
    assert all(
        e.connection and e.connection.startswith("socket ") for e in exchanges.values() if e.sent
    )
    assert all(1.7e9 < e.started < 2.0e9 for e in exchanges.values())  # epoch seconds


def test_default_mode_strips_the_cookie_but_not_the_credentials_mode():
    default = {e.id: e for e in read_capture(NETLOGS / "default.json")}
    (cookie,) = [e for e in default.values() if e.request.url.endswith("include-star-cookie")]
    assert "sid=" not in (cookie.request.headers.get("cookie") or "")
    assert cookie.credentials == "include"


def test_an_unclosed_netlog_is_read_whole_with_a_note():
    result = cli(NETLOGS / "unclosed.json")
    assert result.returncode == 1  # by the verdicts: something is blocked
    (note,) = result.stderr.splitlines()
    assert note.startswith("cors-inspector: note: ") and "never closed" in note
    assert len(result.stdout.splitlines()) > 10


@pytest.mark.parametrize("cut", [0.3, 0.55, 0.8])
def test_a_netlog_cut_inside_an_event_is_damage_after_what_was_read(tmp_path, cut):
    data = EVERYTHING.read_bytes()
    at = data.index(b'"params"', int(len(data) * cut))  # inside an event line
    path = tmp_path / "cut.json"
    path.write_bytes(data[:at])
    result = cli(path)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"cors-inspector: error: {path}: ") and "cut in the middle" in line
    assert result.stdout.strip()  # what was read is still reported


def test_truncated_at_any_byte_gives_a_capture_error_or_a_note(tmp_path):
    data = EVERYTHING.read_bytes()
    path = tmp_path / "truncated.json"
    for at in range(1, len(data), len(data) // 97):
        path.write_bytes(data[:at])
        capture = Capture(path)
        try:
            list(capture.exchanges())
        except CaptureError as error:
            assert "\n" not in str(error)
        else:
            assert capture.notes, at  # read whole: only a file that was never closed


BAD = [
    ("constants-not-object", b'{"constants": 5, "events": []}', "not an object"),
    ("no-event-types", b'{"constants": {}, "events": []}', "no constants.logEventTypes"),
    ("cut-constants", b'{"constants": {"logEventTypes"', "invalid JSON"),
    # Chrome writes "constants" first; a file that does not is taken for a HAR.
    ("events-first", b'{"events": [], "constants": {}}', "not a HAR file"),
    ("bomb", b'{"constants": ' + b"[" * 100_000, "nested too deeply"),
    (
        "bad-tables",
        b'{"constants": {"logEventTypes": {"A": []}, "logSourceType": {}, '
        b'"logEventPhase": {}, "timeTickOffset": "soon"}, "events": []}',
        "not what Chrome writes",
    ),
]


@pytest.mark.parametrize(("name", "content", "problem"), BAD)
def test_not_a_netlog(tmp_path, name, content, problem):
    path = tmp_path / f"{name}.json"
    path.write_bytes(content)
    result = cli(path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert problem in line, line


def test_events_of_the_wrong_types_are_skipped_and_reported(tmp_path):
    lines = EVERYTHING.read_text().splitlines(keepends=True)
    bomb = "[" * 5000 + "]" * 5000
    lines[5:5] = [
        '{"source": {"id": "x", "type": 1}, "type": 608, "phase": 1},\n',
        '{"source": {"id": 7, "type": 1}, "type": 608, "phase": 1, "params": [1]},\n',
        f"{bomb},\n",
    ]
    path = tmp_path / "wrong.json"
    path.write_text("".join(lines))
    result = cli(path)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert "skipped" in line or "invalid JSON" in line, line


def test_an_unknown_chrome_version_is_named_by_the_nearest_table(tmp_path):
    text = EVERYTHING.read_text().replace('"version":"156.', '"version":"160.', 1)
    path = tmp_path / "chrome160.json"
    path.write_text(text)
    capture = Capture(path)
    reasons = {e.browser_reason for e in capture.exchanges() if e.browser_reason}
    assert "HeaderDisallowedByPreflightResponse" in reasons
    assert capture.notes == [
        "Chrome 160.0.8078.114: its preflight errors are named by Chrome 156's CorsError "
        "table (unverified numbering)"
    ]


def test_open_requests_are_bounded(monkeypatch):
    everything = [e.id for e in read_capture(EVERYTHING)]
    monkeypatch.setattr(netlog_module, "MAX_OPEN", 1)
    assert sorted(e.id for e in read_capture(EVERYTHING)) == sorted(everything)


def test_gzip_is_read_like_the_plain_file():
    plain = [(e.id, e.request.url) for e in read_capture(EVERYTHING)]
    assert gzip.decompress((NETLOGS / "everything.json.gz").read_bytes()) == EVERYTHING.read_bytes()
    assert [(e.id, e.request.url) for e in read_capture(NETLOGS / "everything.json.gz")] == plain


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (
            '"timeTickOffset":1796155293441',
            '"timeTickOffset":9000000000000000000',
            "time out of range",
        ),
        ('"HTTP/1.1 200 OK"', '"HTTP/1.1 99999 OK"', "status line that is not HTTP"),
    ],
    ids=["time-out-of-range", "status-out-of-range"],
)
def test_values_the_engine_cannot_use_are_damage(tmp_path, old, new, problem):
    """Found by the fuzz harness: a NetLog must not hand the engine an impossible time or
    status (the other readers check them at the boundary too)."""
    text = (NETLOGS / "everything.json").read_text()
    assert old in text
    path = tmp_path / "mutated.json"
    path.write_text(text.replace(old, new))
    with pytest.raises(CaptureError, match=problem):
        list(read_capture(path))


def test_a_load_flag_of_the_wrong_type_before_damage_is_one_capture_error(tmp_path):
    """Found by the fuzz harness (seed 4, input 17641): a float DO_NOT_SAVE_COOKIES, then a
    cut; completing the requests still open raised a TypeError over the NetLogError."""
    data = EVERYTHING.read_bytes()
    flag = data.index(b'"DO_NOT_SAVE_COOKIES":') + len(b'"DO_NOT_SAVE_COOKIES":')
    end = flag + len(data[flag:].split(b",", 1)[0].split(b"}", 1)[0])
    mutated = data[:flag] + b"128.5" + data[end:]
    at = mutated.index(b'"params"', int(len(mutated) * 0.5))
    path = tmp_path / "mutated.json"
    path.write_bytes(mutated[:at])
    with pytest.raises(CaptureError, match="cut in the middle"):
        list(read_capture(path))


def test_an_infinite_time_is_a_skipped_event(tmp_path):
    """Fuzz seed 4, input 82297: in a NetLog not laid out one event a line (read by the JSON
    cursor, which takes 1e400 for infinity), int(inf) raised OverflowError out of the reader."""
    text = json.dumps(json.loads(EVERYTHING.read_text()), indent=1)
    path = tmp_path / "infinite.json"
    path.write_text(text.replace('"time": "1615651"', '"time": 1e400', 1))
    with pytest.raises(CaptureError, match="1 NetLog event skipped"):
        list(read_capture(path))
