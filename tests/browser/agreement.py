"""What "the engine agrees with Chromium" means for one fetch.

Shared by ``test_agreement`` (the browser run's cases) and ``tests/unit/test_sample_flows.py``
(the recorded stories in ``sample_flows/``), so both hold the engine to the same rule.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from .network_log import case_of

EngineRecord = dict[str, Any]


def group_by_case(jsonl: str) -> dict[str, list[EngineRecord]]:
    """``analyze --format jsonl`` output by the case id in each URL, each in time order.

    Raises ValueError, KeyError or TypeError on output that is not the jsonl schema.
    """
    grouped: dict[str, list[EngineRecord]] = defaultdict(list)
    for line in jsonl.splitlines():
        if line.strip():
            record = json.loads(line)
            if case_id := case_of(record["url"]):
                grouped[case_id].append(record)
    for records in grouped.values():
        records.sort(key=lambda r: r["started"])
    return grouped


def describe(records: list[EngineRecord]) -> str:
    return "\n".join(
        f"  {r['kind']:<11} {r['method']:<7} {r['verdict']:<14} {r.get('reason')} "
        f"{r['url']}\n    {r.get('explanation')}"
        for r in records
    )


def disagreement(chromium: Mapping[str, Any], records: list[EngineRecord]) -> str | None:
    """Why the engine's ``records`` for one fetch contradict Chromium, or None if they don't.

    ``chromium`` carries ``chromium_verdict``, ``chromium_reason`` and ``cors_checked`` as
    chromium.json records them.
    """
    if not records:
        return "the engine reported nothing"
    if chromium["chromium_verdict"] == "blocked":
        reason = chromium["chromium_reason"]
        if any(r["verdict"] == "blocked" and r["reason"] == reason for r in records):
            return None
        return f"Chromium blocked with {reason}; no engine record says so"
    if any(r["verdict"] == "blocked" for r in records):
        return "Chromium did not block this fetch"
    if chromium["chromium_verdict"] == "failed":
        return None  # a network error without a CORS error: only "not blocked" is checkable
    final = [r for r in records if r["kind"] != "preflight"]
    if not final:
        return "no non-preflight record"
    expected = "allowed" if chromium["cors_checked"] else "not-applicable"
    if final[-1]["verdict"] != expected:
        return f"the final request should be {expected}"
    if chromium["chromium_verdict"] == "opaque" and final[-1]["kind"] != "not-cors":
        return "an opaque (no-cors) response should be of kind not-cors"
    return None
