"""The JSON record of a decision: the `analyze --format jsonl` schema (a public interface,
documented in README.md; add fields, never rename or remove them).
"""

from __future__ import annotations

import gc
import json
import time
from typing import Any, BinaryIO

import orjson

from ..engine.decision import Decision

SCHEMA_VERSION = 1


_last_second: tuple[int, str] = (-1, "")  # requests come many to a second


def iso_time(timestamp: float) -> str:
    """`2026-11-21T15:41:26.123Z` (UTC, milliseconds)."""
    global _last_second
    second = int(timestamp // 1)
    micros = round((timestamp - second) * 1e6)  # as datetime rounds, then truncates to ms
    if micros == 1_000_000:
        second, micros = second + 1, 0
    if second != _last_second[0]:
        _last_second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
    return f"{_last_second[1]}.{micros // 1000:03d}Z"


def to_record(decision: Decision, source: str | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {
        "flow_id": decision.flow_id,
        "started": iso_time(decision.started),
        "url": decision.url,
        "method": decision.method,
        "origin": decision.origin,
        "status": decision.status,
        "kind": decision.kind,
        "verdict": decision.verdict,
        "reason": decision.reason,
        "firefox_reason": decision.firefox_reason,
        "failed_parameter": decision.failed_parameter,
        "credentials": decision.credentials,
        "credentials_basis": decision.credentials_basis,
        "preflight_for": decision.preflight_for,
        "preflight_id": decision.preflight_id,
        "explanation": decision.explanation,
        "console_message": decision.console_message,
        "readable_headers": decision.readable_headers,
        "hidden_headers": decision.hidden_headers,
        "verdict_if_credentials": decision.verdict_if_credentials,
        "reason_if_credentials": decision.reason_if_credentials,
        "firefox_reason_if_credentials": decision.firefox_reason_if_credentials,
        "sent": decision.sent,
        "browser_verdict": decision.browser_verdict,
        "browser_reason": decision.browser_reason,
        "supersedes": decision.supersedes,
        "browser": decision.browser,
        "firefox_console_message": decision.firefox_console_message,
        "initiator": _initiator(decision),
        "trace": [
            {
                "check": step.check,
                "spec": step.spec,
                "observed": step.observed,
                "needed": step.needed,
                "outcome": step.outcome,
            }
            for step in decision.trace
        ],
    }
    if source is not None:
        record["source"] = source
    return record


def _initiator(decision: Decision) -> dict[str, Any] | None:
    called = decision.initiator
    if called is None:
        return None
    return {
        "url": called.url,
        "line": called.line,
        "column": called.column,
        "stack": [frame._asdict() for frame in called.stack],
    }


def to_json_bytes(decision: Decision, source: str | None = None) -> bytes:
    """The record as one line of UTF-8 JSON (no newline)."""
    record = to_record(decision, source)
    try:
        return orjson.dumps(record)
    except TypeError:  # e.g. a lone surrogate from a HAR's \ud800 escape: orjson refuses it
        return json.dumps(record, separators=(",", ":")).encode()  # escaped: plain ASCII


def to_json_line(decision: Decision, source: str | None = None) -> str:
    return to_json_bytes(decision, source).decode()


COLLECT_EVERY = 1_000  # JSON array items between two collections of their encoder's cycles


class JsonWriter:
    """Records written as they come: one a line (`jsonl`), or the items of one array
    (`json`, laid out as json.dump(..., indent=1) lays it out), so that nothing is held."""

    def __init__(self, out: BinaryIO, layout: str) -> None:
        self.out = out
        self.lines = layout == "jsonl"
        self._written = 0

    def __enter__(self) -> JsonWriter:
        return self

    def write(self, decision: Decision) -> None:
        if self.lines:
            self.out.write(to_json_bytes(decision) + b"\n")
        else:
            self.write_record(to_record(decision))

    def write_record(self, record: dict[str, Any]) -> None:
        """One item of the array (`json` layout)."""
        try:
            text = json.dumps(record, ensure_ascii=False, indent=1).encode()
        except UnicodeEncodeError:  # a lone surrogate (a HAR's \ud800 escape): escape it
            text = json.dumps(record, indent=1).encode()
        self.out.write(b",\n " if self._written else b"[\n ")
        self.out.write(text.replace(b"\n", b"\n "))
        self._written += 1
        if self._written % COLLECT_EVERY == 0:
            gc.collect(0)  # json's indenting encoder makes a reference cycle per call

    def __exit__(self, *exc_info: object) -> None:
        if not self.lines:
            self.out.write(b"\n]\n" if self._written else b"[]\n")
