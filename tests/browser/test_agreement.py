"""Does the engine, reading only the mitmproxy capture, decide what Chromium decided?

One test per case.  A disagreement is a failure (never a skip or xfail): Chromium's
recorded verdict is the ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.support.agreement import Analysis, EngineRecord, describe, disagreement, group_by_case

from .capture import RunResult
from .cases import CASES, CASES_BY_ID

pytestmark = pytest.mark.browser


@dataclass
class EngineRun:
    by_case: dict[str, list[EngineRecord]]
    error: str | None = None

    def __repr__(self) -> str:  # keeps pytest's failure reports short
        return f"EngineRun({len(self.by_case)} cases, error={self.error is not None})"


@pytest.fixture(scope="session")
def engine(analysis: Analysis) -> EngineRun:
    """``cors-inspector analyze --format jsonl`` over the capture, grouped by case id.

    A crash is kept as ``error`` so that every case fails with it (rather than erroring).
    """
    if analysis.error:
        return EngineRun({}, analysis.error)
    try:
        return EngineRun(group_by_case(analysis.jsonl))
    except (ValueError, KeyError, TypeError) as e:
        return EngineRun({}, f"unreadable jsonl from cors-inspector analyze: {e!r}")


@pytest.mark.parametrize("case_id", [case.id for case in CASES])
def test_agrees_with_chromium(case_id: str, browser_run: RunResult, engine: EngineRun) -> None:
    assert engine.error is None, engine.error
    chromium = browser_run.record(case_id)
    records = engine.by_case.get(case_id, [])
    departure = CASES_BY_ID[case_id].departure
    context = (
        f"{chromium['url']}\n"
        f"Chromium: {chromium['chromium_verdict']} {chromium['chromium_reason'] or ''}"
        f"{f' (departure from Fetch: {departure})' if departure else ''}\n"
        f"engine:\n{describe(records)}"
    )
    problem = disagreement(chromium, records)
    assert problem is None, f"{problem}\n{context}"
