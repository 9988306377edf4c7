"""Bad input never gets a traceback: one clear line naming the file and the problem, exit
code 2, and whatever could be read is still reported."""

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLE = Path(__file__).parents[2] / "sample_flows" / "healthy-session.mitm"


# root reads any file: drop the capabilities that let it, as an ordinary user runs the tool
AS_ORDINARY_USER = [
    "setpriv",
    "--bounding-set=-dac_override,-dac_read_search",
    "--inh-caps=-dac_override,-dac_read_search",
]


def analyze(*paths, unprivileged: bool = False) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "cors_inspector", "analyze", *map(str, paths)]
    argv += ["--format", "jsonl"]
    if unprivileged and os.geteuid() == 0:
        argv = [*AS_ORDINARY_USER, *argv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def assert_one_clear_line(result, path, problem):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [f"cors-inspector: error: {path}: {lines[0].split(': ', 3)[-1]}"]
    assert problem in lines[0], lines[0]


BAD_CONTENT = [
    ("empty", b"", "the file is empty"),
    ("png", b"\x89PNG\r\n\x1a\n" + bytes(100), "not a mitmproxy flow file, HAR or NetLog"),
    ("not-json.har", b"{this is not json", "invalid JSON"),
    ("json-not-har.har", b'{"hello": [1, 2, 3]}', "not a HAR file"),
    ("array.json", b"[1, 2]", "not a mitmproxy flow file, HAR or NetLog"),
    ("corrupt.mitm", b"123:" + bytes(range(256)) * 2, "not a mitmproxy flow file"),
    ("huge-prefix.mitm", b"99999999999999999999:x", "not a mitmproxy flow file"),
    ("bad.gz", b"\x1f\x8b\x08\x00garbage", "damaged gzip data"),
]


@pytest.mark.parametrize(("name", "content", "problem"), BAD_CONTENT)
def test_bad_content(tmp_path, name, content, problem):
    path = tmp_path / name
    path.write_bytes(content)
    assert_one_clear_line(analyze(path), path, problem)


def test_truncated_flow_file_reports_the_flows_before_the_damage(tmp_path):
    data = SAMPLE.read_bytes()
    path = tmp_path / "truncated.mitm"
    path.write_bytes(data[: len(data) * 2 // 3])
    result = analyze(path)
    assert_one_clear_line(result, path, "truncated")
    complete = analyze(SAMPLE).stdout.splitlines()
    partial = result.stdout.splitlines()
    assert 0 < len(partial) < len(complete)


def test_har_with_entries_missing_fields_keeps_the_good_ones(tmp_path):
    entry = {
        "startedDateTime": "2026-11-21T10:00:00Z",
        "time": 1,
        "request": {"method": "GET", "url": "http://a.test/", "headers": []},
        "response": {"status": 200, "headers": []},
    }
    path = tmp_path / "holes.har"
    path.write_text(json.dumps({"log": {"entries": [entry, {"response": {}}, entry]}}))
    result = analyze(path)
    assert_one_clear_line(result, path, "1 HAR entry skipped (entry 2: no 'request' field")
    assert len(result.stdout.splitlines()) == 2


def test_directory_and_missing_file(tmp_path):
    assert_one_clear_line(analyze(tmp_path), tmp_path, "is a directory")
    missing = tmp_path / "nope.mitm"
    assert_one_clear_line(analyze(missing), missing, "no such file")


def test_file_without_read_permission(tmp_path):
    path = tmp_path / "secret.mitm"
    shutil.copy(SAMPLE, path)
    path.chmod(0o000)
    result = analyze(path, unprivileged=True)
    assert_one_clear_line(result, path, "permission denied")


def test_gzip_compressed_captures_are_read(tmp_path):
    path = tmp_path / "session.mitm.gz"
    path.write_bytes(gzip.compress(SAMPLE.read_bytes()))
    result = analyze(path)
    assert result.stdout == analyze(SAMPLE).stdout


def test_a_good_file_and_a_bad_one_report_both(tmp_path):
    bad = tmp_path / "bad.har"
    bad.write_text("{}")
    result = analyze(SAMPLE, bad)
    assert_one_clear_line(result, bad, "not a HAR file")
    assert result.stdout.splitlines() == analyze(SAMPLE).stdout.splitlines()
