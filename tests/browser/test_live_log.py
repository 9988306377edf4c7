"""The live addon's log agrees with ``analyze`` and with Chromium.

The browser run's mitmdump loads cors-inspector's addon (``-s addons/cors_inspector.py
--set cors_log=decisions.jsonl --set cors_only=false``) next to ``-w flows.mitm``, and is
stopped with SIGINT so that the addon's ``done()`` flushes the last decisions.  The addon
judges each flow when its response (or error) arrives, so its log order may differ slightly
from the flow file's: records are compared by flow id.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

import pytest
from mitmproxy import http, io

from tests.support.agreement import (
    Analysis,
    EngineRecord,
    case_of,
    describe,
    disagreement,
    group_by_case,
)

from . import needs_browser  # noqa: F401 (skips without Chromium or Playwright)
from .capture import RunResult
from .cases import CASES

pytestmark = pytest.mark.browser

COMPARED = ("kind", "verdict", "reason")


@dataclass
class LiveLog:
    records: list[EngineRecord] = field(default_factory=list)  # in log order
    error: str | None = None

    def __repr__(self) -> str:  # keeps pytest's failure reports short
        return f"LiveLog({len(self.records)} records, error={self.error is not None})"

    @property
    def by_flow(self) -> dict[str, EngineRecord]:
        """Each flow's last record: a correction (`supersedes`) replaces what came before."""
        return {record["flow_id"]: record for record in self.records}


@pytest.fixture(scope="session")
def live_log(browser_run: RunResult) -> LiveLog:
    path = browser_run.decisions_path
    if not path.exists():
        return LiveLog(error=f"{path} is missing: was the run made with the addon (live_log)?")
    try:
        return LiveLog([json.loads(line) for line in path.read_text().splitlines() if line])
    except ValueError as e:
        return LiveLog(error=f"{path} is not JSON Lines: {e!r}")


@pytest.fixture(scope="session")
def http_flow_ids(browser_run: RunResult) -> list[str]:
    """The ids of every HTTP flow in flows.mitm, in file order."""
    with browser_run.flows_path.open("rb") as f:
        return [flow.id for flow in io.FlowReader(f).stream() if isinstance(flow, http.HTTPFlow)]


@pytest.fixture(scope="session")
def analyzed_by_flow(analysis: Analysis) -> dict[str, EngineRecord]:
    assert analysis.error is None, analysis.error
    return {record["flow_id"]: record for record in map(json.loads, analysis.jsonl.splitlines())}


def verdict(record: EngineRecord | None) -> tuple[str | None, ...] | None:
    return tuple(record.get(key) for key in COMPARED) if record else None


def test_one_record_per_http_flow(live_log: LiveLog, http_flow_ids: list[str]) -> None:
    """One decision per flow, and later only corrections of it (a request whose credentials
    its connection told after it went out)."""
    assert live_log.error is None, live_log.error
    first = [record for record in live_log.records if record["supersedes"] is None]
    logged = Counter(record["flow_id"] for record in first)
    assert [flow_id for flow_id, n in logged.items() if n > 1] == [], "judged more than once"
    assert sorted(logged) == sorted(http_flow_ids)
    corrections = [record for record in live_log.records if record["supersedes"] is not None]
    assert all(record["supersedes"] == record["flow_id"] for record in corrections)
    assert len(http_flow_ids) >= len(CASES)


def test_every_record_agrees_with_analyze(
    live_log: LiveLog, analyzed_by_flow: dict[str, EngineRecord]
) -> None:
    """Every flow, the page loads and anything outside the cases included."""
    assert live_log.error is None, live_log.error
    differences = [
        f"{flow_id} {record['method']} {record['url']}: log {verdict(record)}, "
        f"analyze {verdict(analyzed_by_flow.get(flow_id))}"
        for flow_id, record in live_log.by_flow.items()
        if verdict(record) != verdict(analyzed_by_flow.get(flow_id))
    ]
    assert differences == [], "\n".join(differences)


@pytest.mark.parametrize("case_id", [case.id for case in CASES])
def test_live_log_agrees_with_analyze_and_chromium(
    case_id: str,
    browser_run: RunResult,
    live_log: LiveLog,
    analyzed_by_flow: dict[str, EngineRecord],
) -> None:
    assert live_log.error is None, live_log.error
    final = live_log.by_flow.values()
    logged = group_by_case("\n".join(map(json.dumps, final))).get(case_id, [])
    analyzed = [r for r in analyzed_by_flow.values() if case_of(r["url"]) == case_id]
    assert sorted(r["flow_id"] for r in logged) == sorted(r["flow_id"] for r in analyzed)
    for record in logged:
        assert verdict(record) == verdict(analyzed_by_flow[record["flow_id"]]), (
            f"log:\n{describe([record])}\nanalyze:\n"
            f"{describe([analyzed_by_flow[record['flow_id']]])}"
        )
    chromium = browser_run.record(case_id)
    problem = disagreement(chromium, logged)
    assert problem is None, (
        f"{problem}\n{chromium['url']}\n"
        f"Chromium: {chromium['chromium_verdict']} {chromium['chromium_reason'] or ''}\n"
        f"live log:\n{describe(logged)}"
    )
