"""Does the engine, reading only the mitmproxy capture, decide what Chromium decided?

One test per case.  A disagreement is a failure (never a skip or xfail): Chromium's
recorded verdict is the ground truth.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pytest

from .capture import REPO, RunResult
from .cases import CASES, CASES_BY_ID
from .network_log import case_of

pytestmark = pytest.mark.browser

EngineRecord = dict[str, Any]
# cors-inspector's exit status: 0 nothing blocked, 1 something blocked (both are results).
ANALYZED = (0, 1)


@dataclass
class EngineRun:
    by_case: dict[str, list[EngineRecord]]
    error: str | None = None

    def __repr__(self) -> str:  # keeps pytest's failure reports short
        return f"EngineRun({len(self.by_case)} cases, error={self.error is not None})"


@pytest.fixture(scope="session")
def engine(browser_run: RunResult) -> EngineRun:
    """``cors-inspector analyze --format jsonl`` over the capture, grouped by case id.

    A crash is kept as ``error`` so that every case fails with it (rather than erroring).
    """
    flows = str(browser_run.flows_path)
    argv = [sys.executable, "-m", "cors_inspector", "analyze", flows, "--format", "jsonl"]
    proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=300)
    if proc.returncode not in ANALYZED:
        return EngineRun({}, f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stderr[-4000:]}")
    grouped: dict[str, list[EngineRecord]] = defaultdict(list)
    try:
        for line in proc.stdout.splitlines():
            if line.strip():
                record = json.loads(line)
                if case_id := case_of(record["url"]):
                    grouped[case_id].append(record)
        for records in grouped.values():
            records.sort(key=lambda r: r["started"])
    except (ValueError, KeyError, TypeError) as e:
        return EngineRun({}, f"unreadable jsonl from {' '.join(argv)}: {e!r}")
    return EngineRun(grouped)


def describe(records: list[EngineRecord]) -> str:
    return "\n".join(
        f"  {r['kind']:<11} {r['method']:<7} {r['verdict']:<14} {r.get('reason')} "
        f"{r['url']}\n    {r.get('explanation')}"
        for r in records
    )


@pytest.mark.parametrize("case_id", [case.id for case in CASES])
def test_agrees_with_chromium(case_id: str, browser_run: RunResult, engine: EngineRun) -> None:
    assert engine.error is None, engine.error
    chromium = browser_run.record(case_id)
    records = engine.by_case.get(case_id, [])
    departure = CASES_BY_ID[case_id].departure
    context = (
        f"Chromium: {chromium['chromium_verdict']} {chromium['chromium_reason'] or ''}"
        f"{f' (departure from Fetch: {departure})' if departure else ''}\n"
        f"engine:\n{describe(records)}"
    )
    assert records, f"the engine reported nothing for {chromium['url']}\n{context}"

    if chromium["chromium_verdict"] == "blocked":
        reason = chromium["chromium_reason"]
        assert any(r["verdict"] == "blocked" and r["reason"] == reason for r in records), (
            f"Chromium blocked with {reason}; no engine record says so\n{context}"
        )
        return

    blocked = [r for r in records if r["verdict"] == "blocked"]
    assert not blocked, f"Chromium did not block this case\n{context}"
    if chromium["chromium_verdict"] == "failed":
        return  # a network error without a CORS error: only "not blocked" is checkable
    final = [r for r in records if r["kind"] != "preflight"]
    assert final, f"no non-preflight record\n{context}"
    expected = "allowed" if chromium["cors_checked"] else "not-applicable"
    assert final[-1]["verdict"] == expected, f"the final request should be {expected}\n{context}"
