"""Does the engine, reading only the mitmproxy capture, decide what Chromium decided?

One test per case.  A disagreement is a failure (never a skip or xfail): Chromium's
recorded verdict is the ground truth.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass

import pytest
from mitmproxy import http, io

from tests.support.agreement import (
    Analysis,
    EngineRecord,
    analyze_jsonl,
    describe,
    disagreement,
    explained_by_credentials,
    group_by_case,
    har_disagreement,
)

from .capture import RunResult
from .cases import CASES, CASES_BY_ID
from .fixes import SUMMARY_KEY

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


def telling(flow: http.HTTPFlow) -> str | None:
    """What a request shows of its connection's credentials mode (engine/connections.py)."""
    headers = flow.request.headers
    if flow.request.method == "OPTIONS" and "access-control-request-method" in headers:
        return "omit"
    if "cookie" in headers or headers.get("sec-fetch-mode") == "navigate":
        return "include"
    if "sec-fetch-storage-access" in headers:
        return "include"
    return None


@pytest.fixture(scope="session")
def flows_by_connection(browser_run: RunResult) -> dict[str, list[http.HTTPFlow]]:
    grouped: dict[str, list[http.HTTPFlow]] = defaultdict(list)
    with browser_run.flows_path.open("rb") as f:
        for flow in io.FlowReader(f).stream():
            if isinstance(flow, http.HTTPFlow):
                grouped[flow.client_conn.id].append(flow)
    return grouped


def test_no_client_connection_carries_both_credentials_modes(flows_by_connection) -> None:
    """The rule the engine infers credentials by, checked on Chromium's own traffic."""
    mixed = {
        connection: sorted({mode for flow in flows if (mode := telling(flow))})
        for connection, flows in flows_by_connection.items()
    }
    assert [c for c, modes in mixed.items() if len(modes) > 1] == []
    assert sum(1 for modes in mixed.values() if modes) >= 5  # the rule was put to the test


def test_requests_on_a_telling_connection_have_a_known_credentials_mode(
    flows_by_connection, engine: EngineRun, analysis: Analysis
) -> None:
    records = {r["flow_id"]: r for r in map(json.loads, analysis.jsonl.splitlines())}
    undecided_on_telling = [
        f"{flow.request.method} {flow.request.url}"
        for flows in flows_by_connection.values()
        if any(telling(flow) for flow in flows)
        for flow in flows
        if (record := records.get(flow.id))
        and record["kind"] == "actual"
        and record["credentials"] == "unknown"
    ]
    assert undecided_on_telling == []


def test_every_remaining_credentials_dependent_request_says_so(
    browser_run: RunResult, engine: EngineRun, request: pytest.FixtureRequest
) -> None:
    """Where the wire hid the credentials Chromium judged with, the record is not a plain
    "allowed": it carries verdict_if_credentials with Chromium's reason."""
    judged_with, flagged = 0, 0
    for case in CASES:
        chromium = browser_run.record(case.id)
        if chromium["chromium_verdict"] != "blocked" or chromium["credentials"] != "include":
            continue
        records = engine.by_case.get(case.id, [])
        if explained_by_credentials(chromium, records):
            flagged += 1
            assert any(r["credentials"] == "unknown" for r in records), case.id
        elif disagreement(chromium, records) is None:
            judged_with += 1
    request.config.stash.setdefault(SUMMARY_KEY, []).append(
        f"credentialed requests Chromium blocked: {judged_with} judged with credentials, "
        f"{flagged} flagged verdict_if_credentials (the wire could not tell)"
    )


def test_the_har_of_the_same_run_agrees_with_chromium(
    browser_run: RunResult, request: pytest.FixtureRequest
) -> None:
    """The run as Playwright's HAR recorder saw it: no preflights, no headers of what the
    browser failed; what it does show must not contradict Chromium."""
    analysis = analyze_jsonl(browser_run.har_path)
    assert analysis.error is None, analysis.error
    by_case = group_by_case(analysis.jsonl)
    problems, exact = [], 0
    for case in CASES:
        chromium = browser_run.record(case.id)
        records = by_case.get(case.id, [])
        if problem := har_disagreement(chromium, records):
            problems.append(f"{case.id}: {problem}\n{describe(records)}")
        elif disagreement(chromium, records) is None:
            exact += 1
    request.config.stash.setdefault(SUMMARY_KEY, []).append(
        f"HAR of the run: {len(CASES) - len(problems)} of {len(CASES)} cases agree with "
        f"Chromium ({exact} with the reason; the rest blocked where the HAR keeps no headers)"
    )
    assert problems == [], "\n".join(problems)


def test_the_netlog_of_the_same_run_agrees_with_chromium(
    browser_run: RunResult, request: pytest.FixtureRequest
) -> None:
    """The run as Chromium's own NetLog recorded it, through the proxy: the credentials mode
    is Chromium's, so nothing may be left to verdict_if_credentials."""
    analysis = analyze_jsonl(browser_run.netlog_path)
    assert analysis.error is None, analysis.error
    by_case = group_by_case(analysis.jsonl)
    problems = []
    for case in CASES:
        records = by_case.get(case.id, [])
        if problem := disagreement(browser_run.record(case.id), records):
            problems.append(f"{case.id}: {problem}\n{describe(records)}")
        elif any(r["credentials"] == "unknown" and r["kind"] == "actual" for r in records):
            problems.append(f"{case.id}: credentials unknown in a NetLog\n{describe(records)}")
    request.config.stash.setdefault(SUMMARY_KEY, []).append(
        f"NetLog of the run: {len(CASES) - len(problems)} of {len(CASES)} cases agree with Chromium"
    )
    assert problems == [], "\n".join(problems)
