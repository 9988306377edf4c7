"""Checks on the harness itself, independent of the engine.

They read the capture with mitmproxy's own FlowReader and compare Chromium's recorded
decisions with what each case says Chromium does, so a broken backend, a missing cookie or
a lost CDP event shows up here rather than as an engine disagreement.
"""

from __future__ import annotations

from collections import defaultdict
from urllib.parse import urlsplit

import pytest
from mitmproxy import http, io

from tests.support.agreement import case_of

from . import needs_browser  # noqa: F401 (skips without Chromium or Playwright)
from .capture import RunResult
from .cases import CASES, CASES_BY_ID, SESSION_COOKIE

pytestmark = pytest.mark.browser

Flows = dict[str, list[http.HTTPFlow]]


@pytest.fixture(scope="session")
def flows_by_case(browser_run: RunResult) -> Flows:
    grouped: Flows = defaultdict(list)
    with browser_run.flows_path.open("rb") as f:
        for flow in io.FlowReader(f).stream():
            if isinstance(flow, http.HTTPFlow) and (case_id := case_of(flow.request.url)):
                grouped[case_id].append(flow)
    return grouped


def is_preflight(flow: http.HTTPFlow) -> bool:
    return flow.request.method == "OPTIONS" and "access-control-request-method" in (
        flow.request.headers
    )


def test_at_least_100_cases() -> None:
    assert len(CASES) >= 100


def test_every_case_recorded_once(browser_run: RunResult) -> None:
    assert sorted(r["id"] for r in browser_run.cases) == sorted(CASES_BY_ID)


def test_every_case_has_a_flow(flows_by_case: Flows) -> None:
    assert [case.id for case in CASES if not flows_by_case.get(case.id)] == []


def test_every_flow_got_an_answer_from_a_backend(flows_by_case: Flows) -> None:
    """No flow was answered by mitmproxy itself (e.g. a 502 on a reused dead connection)."""
    broken = [
        (case_id, flow.request.url, flow.error)
        for case_id, flows in flows_by_case.items()
        for flow in flows
        if flow.response is None or flow.error
    ]
    assert broken == []


@pytest.mark.parametrize("case_id", [case.id for case in CASES])
def test_chromium_decided_as_the_case_says(browser_run: RunResult, case_id: str) -> None:
    case, record = CASES_BY_ID[case_id], browser_run.record(case_id)
    assert record["cdp_settled"], "CDP never reported the end of every request of the case"
    assert (record["chromium_reason"] or record["chromium_verdict"]) == case.expect, record
    if case.preflights is not None:
        assert record["preflights"] == case.preflights, record["requests"]
    if case.read_header:
        assert record["js"]["readable_header_value"] == case.read_header[1], record["js"]


def test_no_cors_middleware_preflight_is_a_405_without_acao(
    browser_run: RunResult, flows_by_case: Flows
) -> None:
    record = browser_run.record("fa-no-cors-put-405")
    assert record["chromium_reason"] == "PreflightMissingAllowOriginHeader"
    (preflight,) = [f for f in flows_by_case["fa-no-cors-put-405"] if is_preflight(f)]
    assert preflight.response.status_code == 405
    assert "access-control-allow-origin" not in preflight.response.headers


def test_starlette_400_preflight_keeps_acao(flows_by_case: Flows) -> None:
    (preflight,) = [f for f in flows_by_case["fa-defaults-put"] if is_preflight(f)]
    assert preflight.response.status_code == 400
    assert preflight.response.text.startswith("Disallowed CORS method")
    assert "access-control-allow-origin" in preflight.response.headers


def test_redirect_slashes_answers_the_preflight_307(flows_by_case: Flows) -> None:
    (preflight,) = flows_by_case["fa-no-cors-slash-preflight-307"]
    assert preflight.response.status_code == 307
    assert urlsplit(preflight.response.headers["location"]).path == "/items/"


def test_unhandled_exception_is_a_real_500(flows_by_case: Flows) -> None:
    for case_id in ("fa-raises-get", "fa-raises-put"):
        actual = [f for f in flows_by_case[case_id] if not is_preflight(f)][-1]
        assert actual.response.status_code == 500
        assert actual.response.text == "Internal Server Error"
        assert "access-control-allow-origin" not in actual.response.headers


def test_duplicate_acao_lines_reach_the_proxy(flows_by_case: Flows) -> None:
    (flow,) = flows_by_case["get-acao-two-lines"]
    assert len(flow.response.headers.get_all("access-control-allow-origin")) == 2


def test_lowercase_method_is_sent_as_written(flows_by_case: Flows) -> None:
    preflight, actual = flows_by_case["pf-patch-lower-listed"]
    assert preflight.request.headers["access-control-request-method"] == "patch"
    assert actual.request.data.method == b"patch"


def test_preflights_never_carry_cookies(flows_by_case: Flows) -> None:
    flows = [f for flows in flows_by_case.values() for f in flows if is_preflight(f)]
    assert flows
    assert [f.request.url for f in flows if "cookie" in f.request.headers] == []


def test_credentialed_requests_to_localhost_carry_the_cookie(
    browser_run: RunResult, flows_by_case: Flows
) -> None:
    """From the localhost page, credentials:'include' sends the session cookie to every port."""
    checked = 0
    for record in browser_run.cases:
        if record["credentials"] != "include" or record["page_origin"] == "null":
            continue
        if not record["cookie_stored"]:
            continue
        for flow in flows_by_case[record["id"]]:
            if not is_preflight(flow) and flow.request.host == "localhost":
                assert SESSION_COOKIE in flow.request.headers.get("cookie", ""), record["id"]
                checked += 1
    assert checked >= 20


def test_credentialed_requests_with_no_cookie_stored_show_nothing_on_the_wire(
    browser_run: RunResult, flows_by_case: Flows
) -> None:
    """The cases the connection must settle: no Cookie, no Sec-Fetch-Storage-Access."""
    checked = 0
    for record in browser_run.cases:
        if record["credentials"] != "include" or record["cookie_stored"]:
            continue
        for flow in flows_by_case[record["id"]]:
            headers = flow.request.headers
            assert "cookie" not in headers and "sec-fetch-storage-access" not in headers
            checked += 1
    assert checked >= 10


def test_uncredentialed_requests_carry_no_cookie(
    browser_run: RunResult, flows_by_case: Flows
) -> None:
    for record in browser_run.cases:
        if record["credentials"] == "omit" or (
            record["credentials"] == "same-origin" and not record["same_origin"]
        ):
            for flow in flows_by_case[record["id"]]:
                assert "cookie" not in flow.request.headers, record["id"]


def test_file_page_and_tainted_redirects_send_origin_null(flows_by_case: Flows) -> None:
    file_cases = [case.id for case in CASES if case.page == "file"]
    for case_id in file_cases:
        for flow in flows_by_case[case_id]:
            assert flow.request.headers["origin"] == "null", case_id
    first, second = flows_by_case["redir-back-to-page-origin-null"]
    assert first.request.headers["origin"] != "null"
    assert second.request.headers["origin"] == "null"


def test_preflight_cache(flows_by_case: Flows) -> None:
    def preflights(case_id: str) -> int:
        return sum(is_preflight(f) for f in flows_by_case[case_id])

    assert preflights("cache-max-age-60") == 1
    assert preflights("cache-max-age-0") == 2
    assert preflights("fa-max-age-zero") == 2
    assert preflights("fa-complete-cache") == 1
