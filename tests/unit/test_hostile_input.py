"""Hostile captures: every one ends in a CaptureError (after the exchanges before the damage),
never another exception, a hang or a balloon of memory. One test per class of failure seen,
then a short deterministic fuzz run (the long one is scripts/fuzz_captures.py)."""

from __future__ import annotations

import gzip
import json
import math
import os
import threading
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mitmproxy.io import tnetstring
from mitmproxy.test import tflow

from cors_inspector.engine import Analyzer
from cors_inspector.readers import Capture, CaptureError, read_capture

from .fuzz_support import Corpus, check_exchange, fuzz

SAMPLES = Path(__file__).parents[2] / "sample_flows"
MB = 1 << 20


def read_all(path: Path) -> tuple[list[Any], str]:
    """The exchanges read (each checked as the engine needs it) and the CaptureError's text."""
    seen = []
    try:
        for exchange in read_capture(path):
            check_exchange(exchange)
            seen.append(exchange)
    except CaptureError as error:
        return seen, str(error)
    return seen, ""


def peak_memory(work: Callable[[], object]) -> int:
    """Bytes allocated at the peak of `work` (Python allocations, as tracemalloc sees them)."""
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def write(tmp_path: Path, data: bytes, name: str = "capture") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- tnetstring ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"3:abc#", "invalid number"),  # int() of the payload
        (b"3:abc^", "invalid number"),
        (b"6:0:,-4:]", "negative length prefix"),  # looped forever, memory growing
        (b"6:0:,x4:]", "invalid length prefix"),
        (b"4:5:ab]", "runs past the end of its record"),
        (b"8:3:abc,2:]x,", "runs past it"),  # a value overlapping its container's end
        (b"6:0:]0:~}", "unhashable key"),  # a list as a dictionary key
        (b"5000000000:" + b"x" * 64, "a record of 5,000,000,000 bytes"),
        (b"5000000000:", "truncated"),
    ],
)
def test_bad_tnetstrings_are_one_clear_error(tmp_path, data, problem):
    seen, error = read_all(write(tmp_path, data))
    assert problem in error and not seen


def test_a_huge_length_prefix_allocates_nothing(tmp_path):
    path = write(tmp_path, b"5000000000:" + b"x" * 1000)  # took 4.2 GB
    assert peak_memory(lambda: read_all(path)) < 4 * MB


def nested_lists(depth: int) -> bytes:
    value = b"0:~"
    for _ in range(depth):
        value = b"%d:%s]" % (len(value), value)
    return value


def test_tnetstring_nesting_is_bounded(tmp_path):
    assert read_all(write(tmp_path, nested_lists(100)))[1].endswith("record 1 is not a flow")
    assert "nested more than 100 deep" in read_all(write(tmp_path, nested_lists(101)))[1]
    assert "nested more than 100 deep" in read_all(write(tmp_path, nested_lists(5000)))[1]


def test_a_record_of_tiny_values_stops_at_the_value_cap(tmp_path, monkeypatch):
    from cors_inspector.readers import tnetstring as module

    monkeypatch.setattr(module, "MAX_VALUES", 5_000)
    for item in (b"0:]", b"0:}", b"2:ab,"):
        body = item * 25_000  # each 3-5 bytes, 50-70 bytes once parsed
        path = write(tmp_path, b"%d:%s]" % (len(body), body))
        assert peak_memory(lambda path=path: read_all(path)) < 2 * MB
        assert "more than 5,000 values" in read_all(path)[1]


# --- wrong-typed mitmproxy fields ---------------------------------------------------------------


def flow_file(tmp_path: Path, change: Callable[[dict[str, Any]], object]) -> Path:
    """A good flow, then a copy changed by `change`, then another good flow."""
    state = tflow.tflow(resp=True).get_state()
    bad = tnetstring.loads(tnetstring.dumps(state))
    change(bad)
    return write(tmp_path, b"".join(tnetstring.dumps(s) for s in (state, bad, state)))


def put(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(state: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for key in parents:
            state = state[key]
        state[last] = value

    return change


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", b"bytes-id"),
        ("id", 7),
        ("request.port", "80"),
        ("request.port", 70000),
        ("request.method", 5),
        ("request.host", ["a"]),
        ("request.headers", [[b"a", "text, not bytes"]]),
        ("request.headers", [[["a"], b"b"]]),  # unhashable header name
        ("request.headers", {b"a": b"b"}),
        ("request.content", "text"),
        ("request.timestamp_start", math.nan),
        ("request.timestamp_start", math.inf),
        ("request.timestamp_start", -5.0),
        ("request.timestamp_start", "yesterday"),
        ("response.status_code", "200"),
        ("response.status_code", 200.5),
        ("response.status_code", 99),
        ("response.status_code", 1 << 70),
        ("response.timestamp_end", math.nan),
        ("response.reason", 1.5),
        ("request.content", ["x"]),
        ("response", []),
        ("error", {"msg": 1}),
        ("error", "a string"),
        ("version", "20"),
        ("version", b"x" * 100_000),  # mitmproxy's migration would tuple() it
    ],
)
def test_wrong_typed_mitm_fields_stop_at_the_reader(tmp_path, field, value):
    seen, error = read_all(flow_file(tmp_path, put(field, value)))
    assert len(seen) == 1 and ("record 2" in error or "flow 2" in error), error
    list(Analyzer().run(seen))  # what did come through is judged


def test_bytes_keys_are_an_old_format_not_a_crash(tmp_path):
    old = tnetstring.dumps({b"version": [0, 11], b"request": {b"x": 1}})
    seen, error = read_all(write(tmp_path, old))
    assert not seen and "record 1" in error


# --- HAR ----------------------------------------------------------------------------------------

GOOD_ENTRY = {
    "startedDateTime": "2026-11-21T10:00:00Z",
    "time": 1,
    "request": {"method": "GET", "url": "http://a.test/", "headers": []},
    "response": {"status": 200, "headers": [{"name": "X", "value": "y"}]},
}


def har_with(tmp_path: Path, entry_text: str) -> Path:
    good = json.dumps(GOOD_ENTRY)
    return write(tmp_path, f'{{"log": {{"entries": [{good}, {entry_text}, {good}]}}}}'.encode())


def entry_with(path: str, value_text: str) -> str:
    """GOOD_ENTRY's JSON with the field at `path` replaced by the literal `value_text`."""
    entry = json.loads(json.dumps(GOOD_ENTRY))
    put(path, "\0mark\0")(entry)
    return json.dumps(entry).replace('"\\u0000mark\\u0000"', value_text)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("response.status", "1e400"),  # OverflowError from int(inf)
        ("response.status", "NaN"),
        ("response.status", "200.5"),
        ("response.status", "1000"),
        ("response.status", "[]"),
        ("startedDateTime", "NaN"),
        ("startedDateTime", '"0001-01-01T00:00:00"'),
        ("startedDateTime", '"9999-12-31T23:59:59+00:00"'),
        ("startedDateTime", '"not a date"'),
        ("request.method", "[[[[[[]]]]]]"),
        ("request.url", "{}"),
        ("request.headers", '[{"name": 1, "value": "x"}]'),
        ("request.headers", '[{"name": "a", "value": {"b": []}}]'),
        ("request.headers", '{"name": "a"}'),
        ("request", "null"),
    ],
)
def test_wrong_typed_har_fields_skip_the_entry(tmp_path, path, value):
    seen, error = read_all(har_with(tmp_path, entry_with(path, value)))
    assert len(seen) == 2 and "1 HAR entry skipped (entry 2" in error, error


@pytest.mark.parametrize("time", ["NaN", "1e400", "-1", "[]", "1e300"])
def test_a_har_duration_out_of_range_leaves_the_end_unknown(tmp_path, time):
    seen, error = read_all(har_with(tmp_path, entry_with("time", time)))
    assert len(seen) == 3 and not error and seen[1].ended is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[" * 100_000, "nested too deeply"),  # RecursionError
        ('{"a":' * 100_000, "nested too deeply"),
        ("1" * 5000, "invalid JSON"),  # more than 4300 digits: ValueError, not JSONDecodeError
        ('{"request": }', "invalid JSON"),
    ],
)
def test_invalid_har_json_is_one_clear_error(tmp_path, text, problem):
    seen, error = read_all(har_with(tmp_path, text))
    assert len(seen) == 1 and problem in error


def test_invalid_json_stops_the_reading_there(tmp_path):
    """Not read to the end of a large file in hope of a cure: the damage is mid-buffer."""
    entries = ",".join([json.dumps(GOOD_ENTRY)] * 20_000)
    path = write(tmp_path, f'{{"log": {{"entries": [{{"x": ]}}, {entries}]}}}}'.encode())
    capture = Capture(path)
    with pytest.raises(CaptureError, match="invalid JSON"):
        list(capture.exchanges())
    assert capture.bytes_read < path.stat().st_size / 2


def test_many_bad_entries_are_counted_not_kept(tmp_path):
    path = write(tmp_path, b'{"log": {"entries": [' + b"{}," * 50_000 + b"{}]}}")
    assert peak_memory(lambda: read_all(path)) < 8 * MB
    assert "50001 HAR entries skipped (entry 1: no 'request' field)" in read_all(path)[1]


def test_an_endless_string_is_refused_at_the_size_cap(tmp_path):
    path = write(tmp_path, b'{"log": {"entries": ["' + b"x" * (20 * MB) + "😀".encode())
    _, error = read_all(path)
    assert "a JSON value of more than 12,582,912 characters" in error


def test_an_entry_of_tiny_values_stops_at_the_value_cap(tmp_path):
    path = write(tmp_path, b'{"log": {"entries": [[' + b"[]," * 1_200_000 + b"0]]}}")
    _, error = read_all(path)
    assert "more than 1,000,000 values" in error


def test_a_large_body_of_json_text_is_no_structure(tmp_path):
    """Commas and brackets inside a (legitimately) long string are not counted as values."""
    body = json.dumps([[i, {"k": i}] for i in range(400_000)])  # ~8 MB, 1.6M brackets
    entry = json.loads(json.dumps(GOOD_ENTRY))
    entry["response"]["content"] = {"text": body}
    path = write(tmp_path, json.dumps({"log": {"entries": [entry]}}).encode())
    seen, error = read_all(path)
    assert len(seen) == 1 and not error


def test_a_gzip_bomb_is_streamed_not_inflated(tmp_path):
    """2 MB of gzip that inflates to 1 GB behind a HAR's start (took 5.3 GB of memory)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [packer.compress(b'{"log": {"entries": ["')]
    block = b"x" * MB
    parts += [packer.compress(block) for _ in range(64)]
    path = write(tmp_path, b"".join([*parts, packer.flush()]))
    assert path.stat().st_size < MB
    _, error = read_all(path)
    assert "a JSON value of more than" in error
    assert peak_memory(lambda: read_all(path)) < 100 * MB


def test_gzip_of_spaces_is_read_at_c_speed(tmp_path):
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [packer.compress(b"{" + b" " * (64 * MB))]
    path = write(tmp_path, b"".join([*parts, packer.flush()]))
    assert read_all(path)[1].endswith("invalid JSON: Expecting value")


# --- pipes ---------------------------------------------------------------------------------------


def feed(path_or_fd: str | int, data: bytes) -> threading.Thread:
    """Write `data` into a FIFO or pipe from another thread, then close it."""

    def write_all() -> None:
        with open(path_or_fd, "wb") as out:
            out.write(data)

    writer = threading.Thread(target=write_all)
    writer.start()
    return writer


@pytest.mark.parametrize("name", ["healthy-session.mitm", "healthy-session.har", "gz"])
def test_a_fifo_is_read_as_the_file(tmp_path, name):
    data = (SAMPLES / name).read_bytes() if name != "gz" else b""
    if name == "gz":
        data = gzip.compress((SAMPLES / "healthy-session.mitm").read_bytes())
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = feed(str(fifo), data)
    capture = Capture(fifo)
    from_pipe = [e.id for e in capture.exchanges()]
    writer.join()
    assert from_pipe == [e.id for e in read_capture(write(tmp_path, data, "file"))]
    assert capture.bytes_read == len(data)


def test_an_os_pipe_is_read_through_dev_fd():
    read_end, write_end = os.pipe()
    data = (SAMPLES / "healthy-session.mitm").read_bytes()
    writer = feed(write_end, data)
    try:
        exchanges = list(read_capture(Path(f"/dev/fd/{read_end}")))
    finally:
        writer.join()
        os.close(read_end)
    assert len(exchanges) == len(list(read_capture(SAMPLES / "healthy-session.mitm")))


def test_a_damaged_pipe_reports_what_came_before(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    data = (SAMPLES / "healthy-session.mitm").read_bytes()
    writer = feed(str(fifo), data[: len(data) * 2 // 3])
    seen, error = read_all(fifo)
    writer.join()
    assert seen and "truncated" in error


# --- the short fuzz run ------------------------------------------------------------------------


def test_a_short_fuzz_run_finds_nothing():
    summary = fuzz(count=500, seconds=60, seed=14, timeout=20, corpus=Corpus(bomb_mb=4))
    assert summary.inputs == 500, summary
    assert (summary.tracebacks, summary.hangs, summary.memory, summary.crashes) == (0, 0, 0, 0), [
        (finding.how, finding.outcome, finding.detail[-500:]) for finding in summary.findings
    ]


class PlantedCorpus(Corpus):
    """Inputs 1, 2 and 3 are marked for the planted bugs below; the others are seeds."""

    def make(self, seed: int, index: int) -> tuple[str, str, bytes]:
        marks = {1: b"raise", 2: b"hang", 3: b"balloon"}
        return "mark", "planted", marks.get(index, b"")


def planted_reader(path: Path) -> list[object]:
    mark = path.read_bytes()
    if mark == b"raise":
        raise TypeError("planted")
    while mark == b"hang":  # only the watchdog ends it
        pass
    if mark == b"balloon":
        return [bytes(2 << 30)]  # beyond the child's address-space cap: MemoryError
    return []


def test_the_fuzzer_catches_planted_bugs(tmp_path, monkeypatch):
    from . import fuzz_support

    monkeypatch.setattr(fuzz_support, "read_capture", planted_reader)
    corpus = PlantedCorpus(bomb_mb=1)
    summary = fuzz(count=6, seconds=60, seed=3, timeout=1, corpus=corpus)
    assert (summary.inputs, summary.tracebacks, summary.hangs, summary.memory) == (6, 1, 1, 1)
    fuzz_support.save_findings(summary, corpus, 3, tmp_path, most=5)
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "hang-3-2.mark", "hang-3-2.txt", "memory-3-3.mark", "memory-3-3.txt",
        "traceback-3-1.mark", "traceback-3-1.txt",
    ]  # fmt: skip
