"""`cors-inspector analyze`: formats, filters and exit codes, run as a user runs it."""

import json
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest
from mitmproxy.io import FlowWriter

from .builders import mitm_flow

PAGE = "http://localhost:3000"
JSONL_FIELDS = {
    "flow_id",
    "started",
    "url",
    "method",
    "origin",
    "kind",
    "verdict",
    "reason",
    "firefox_reason",
    "failed_parameter",
    "credentials",
    "preflight_for",
    "explanation",
}


def _flow(method, path, request_headers, status, response_headers, at):
    return mitm_flow(method, path, request_headers, status, response_headers, at)


def _capture(path: Path, blocked: bool) -> Path:
    cors = [(b"Origin", PAGE.encode()), (b"Sec-Fetch-Mode", b"cors")]
    allow = [(b"Access-Control-Allow-Origin", PAGE.encode())]
    flows = [
        _flow(
            b"OPTIONS",
            b"/items",
            [*cors, (b"Access-Control-Request-Method", b"PUT")],
            200,
            [*allow, (b"Access-Control-Allow-Methods", b"PUT")],
            1.0,
        ),
        _flow(b"PUT", b"/items", cors, 200, allow, 1.1),
        _flow(b"GET", b"/other", cors, 200, [] if blocked else allow, 2.0),
        _flow(b"GET", b"/page", [], 200, [], 3.0),
    ]
    with path.open("wb") as out:
        writer = FlowWriter(out)
        for flow in flows:
            writer.add(flow)
    return path


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cors_inspector", *args], capture_output=True, text=True
    )


def test_jsonl_has_the_documented_fields_in_capture_order(tmp_path):
    path = _capture(tmp_path / "a.mitm", blocked=True)
    result = run("analyze", str(path), "--format", "jsonl")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["kind"] for r in records] == ["preflight", "actual", "actual", "not-cors"]
    assert all(record.keys() >= JSONL_FIELDS for record in records)
    assert records[0]["preflight_for"] == records[1]["flow_id"]
    assert records[2]["reason"] == "MissingAllowOriginHeader"
    assert records[2]["firefox_reason"] == "CORSMissingAllowOrigin"
    assert result.returncode == 1


def test_exit_zero_when_nothing_is_blocked(tmp_path):
    result = run("analyze", str(_capture(tmp_path / "a.mitm", blocked=False)), "--format", "json")
    assert result.returncode == 0
    assert len(json.loads(result.stdout)) == 4


@pytest.mark.parametrize(("only", "count"), [("all", 4), ("cors", 3), ("blocked", 1)])
def test_only_filters_what_is_reported(tmp_path, only, count):
    path = _capture(tmp_path / "a.mitm", blocked=True)
    result = run("analyze", str(path), "--format", "jsonl", "--only", only)
    assert len(result.stdout.splitlines()) == count


def test_text_summary_counts_everything_and_says_what_it_left_out(tmp_path):
    def summary(*options: str) -> str:
        words = " ".join(run("analyze", str(path), *options).stdout.split())
        return words[words.rindex("requests: ") - 2 :]

    path = _capture(tmp_path / "a.mitm", blocked=True)
    assert summary() == (
        "4 requests: ✘ 1 blocked ✔ 2 allowed ? 0 unknown · 1 not-applicable "
        "(3 shown: CORS only; --only all for every request)"
    )
    # Nothing left out, nothing to say.
    assert summary("--only", "all").endswith("· 1 not-applicable")


def test_text_report_shows_the_table_and_why(tmp_path):
    result = run("analyze", str(_capture(tmp_path / "a.mitm", blocked=True)))
    assert "MissingAllowOriginHeader" in result.stdout
    assert "Access-Control-Allow-Origin: http://localhost:3000" in result.stdout
    assert "1 blocked" in result.stdout


def test_unreadable_input_is_one_line_and_exit_2_with_partial_results(tmp_path):
    good = _capture(tmp_path / "good.mitm", blocked=False)
    bad = tmp_path / "bad.har"
    bad.write_text("not json at all")
    result = run("analyze", str(good), str(bad), "--format", "jsonl")
    assert result.returncode == 2
    assert len(result.stdout.splitlines()) == 4
    assert result.stderr.strip().splitlines() == [
        f"cors-inspector: error: {bad}: not a mitmproxy flow file, HAR or NetLog"
    ]
    assert "Traceback" not in result.stderr


def test_no_file_analyses_the_bundled_sample():
    result = run("analyze", "--format", "jsonl")
    assert "bundled sample" in result.stderr
    assert result.stdout.strip()


@pytest.mark.parametrize(
    "argv",
    [["--listen-port", "9090", "proxy"], ["proxy", "--listen-port", "9090"]],
)
def test_proxy_options_work_before_and_after_the_command(argv):
    from cors_inspector.cli import build_parser

    assert build_parser().parse_args(argv).listen_port == 9090


def test_iso_time_matches_datetime():
    from datetime import UTC, datetime

    from cors_inspector.output.records import iso_time

    for stamp in (0.0, 1.0009995, 1.9999996, 86399.999, 1795276755.5570662):
        expected = datetime.fromtimestamp(stamp, UTC).isoformat(timespec="milliseconds")
        assert iso_time(stamp) == expected.replace("+00:00", "Z")


def test_browser_command_without_any_browser_says_how_to_install_one(monkeypatch, capsys):
    from cors_inspector.browsers import chromium, firefox, launch

    monkeypatch.setattr(chromium, "find_browser", lambda: None)
    monkeypatch.setattr(firefox, "find_firefox", lambda: None)
    assert launch.run_browser("about:blank", "127.0.0.1", 8080, headless=True) == 2
    err = capsys.readouterr().err
    assert "apt-get install chromium" in err and "apt-get install firefox-esr" in err
    assert "network.proxy.allow_hijacking_localhost" in err


def _multi_file_capture(tmp_path: Path, copies: int) -> list[Path]:
    one = _capture(tmp_path / "one.mitm", blocked=True)
    many = tmp_path / "many.mitm"
    many.write_bytes(one.read_bytes() * copies)
    return [one, many]


def test_a_progress_bar_follows_the_bytes_read_in_a_terminal(tmp_path, monkeypatch):
    import io

    from rich.console import Console

    from cors_inspector import judge as captures
    from cors_inspector.cli.progress import reading_progress

    monkeypatch.setattr(captures, "REPORT_EVERY", 50)
    paths = _multi_file_capture(tmp_path, copies=100)
    seen: list[tuple[str, int, int]] = []
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    with reading_progress(paths, console, from_bytes=0) as report:
        assert report is not None

        def spy(capture, count):
            seen.append((capture.path.name, count, capture.bytes_read))
            report(capture, count)

        problems: list = []
        decisions = list(captures.judge_captures(paths, problems, spy))
    assert not problems and len(decisions) == 404
    # Reported as each file is read, the bytes growing with the requests, each file at its end.
    assert seen[0] == ("one.mitm", 4, paths[0].stat().st_size)
    many = [(count, done) for name, count, done in seen if name == "many.mitm"]
    assert [count for count, _ in many] == [*range(50, 401, 50), 400]
    assert all(a <= b for (_, a), (_, b) in pairwise(many))
    assert many[-1][1] == paths[1].stat().st_size
    assert "reading many.mitm" in screen.getvalue() and "requests" in screen.getvalue()


def test_no_progress_bar_when_not_a_terminal_or_small(tmp_path):
    import io

    from rich.console import Console

    from cors_inspector.cli.progress import reading_progress

    paths = _multi_file_capture(tmp_path, copies=2)
    piped = Console(file=io.StringIO(), force_terminal=False)
    with reading_progress(paths, piped, from_bytes=0) as report:
        assert report is None
    terminal = Console(file=io.StringIO(), force_terminal=True)
    with reading_progress(paths, terminal) as report:
        assert report is None  # read before a bar would be seen
    # ... and nothing of it in what a script reads from stderr.
    result = run("analyze", *map(str, paths))
    assert "reading" not in result.stderr
