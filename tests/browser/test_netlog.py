"""Does the engine, reading only Chromium's own NetLog, decide what Chromium decided?

Chromium runs the cases of ``netlog_run`` twice, recording its NetLog in Everything mode and in
Default mode (cookie and auth values stripped). For every request in the NetLog, never-sent
ones included, ``cors-inspector analyze --format jsonl`` must give Chromium's verdict and
CorsError (from CDP); and every CORS_PREFLIGHT_ERROR number, named by the reader's table for
Chrome 156, must be the name CDP gave: that is how the table is verified.
"""

from __future__ import annotations

import pytest

from tests.support.agreement import (
    PREFLIGHT_ERRORS,
    EngineRecord,
    analyze_jsonl,
    group_by_case,
    netlog_agreement,
)

from . import needs_browser  # noqa: F401 (skips without Chromium or Playwright)
from .netlog_run import MODES, NetLogRun, run

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, NetLogRun]:
    outdir = tmp_path_factory.mktemp("netlog_run")
    return {mode: run(outdir, mode) for mode in MODES}


@pytest.fixture(scope="module")
def engine(runs: dict[str, NetLogRun]) -> dict[str, dict[str, list[EngineRecord]]]:
    analyses = {mode: analyze_jsonl(result.netlog) for mode, result in runs.items()}
    for mode, analysis in analyses.items():
        assert analysis.error is None, f"{mode}: {analysis.error}"
    return {mode: group_by_case(analysis.jsonl) for mode, analysis in analyses.items()}


@pytest.mark.parametrize("mode", MODES)
def test_every_request_agrees_with_chromium(runs, engine, mode):
    agreed, disagreements = netlog_agreement(runs[mode].requests, engine[mode])
    print(f"NetLog {mode}: {agreed} requests agree with Chromium")
    assert not disagreements, "\n".join(disagreements)


@pytest.mark.parametrize("mode", MODES)
def test_unsent_requests_are_reported_as_chromium_reported_them(engine, mode):
    unsent = [r for records in engine[mode].values() for r in records if not r["sent"]]
    # Every failed preflight stopped its actual request (no cached preflight is unsent: the
    # cache answers without a record).
    failed = [
        r
        for records in engine[mode].values()
        for r in records
        if r["kind"] == "preflight" and r["verdict"] == "blocked"
    ]
    assert len(unsent) == len(failed)
    for record in unsent:
        assert record["kind"] == "actual"
        assert (record["verdict"], record["reason"]) == ("blocked", record["browser_reason"])
        assert record["preflight_id"] is not None


@pytest.mark.parametrize("mode", MODES)
def test_cors_error_numbering_is_chromium_156s(runs, engine, mode):
    """Each name the table gave a CORS_PREFLIGHT_ERROR number is CDP's name for it."""
    cdp = {
        r["case"]: r["cors_error"]
        for r in runs[mode].requests
        if not r["is_preflight"] and r["cors_error"]
    }
    named = {
        case: record["browser_reason"]
        for case, records in engine[mode].items()
        for record in records
        if record["browser_reason"]
    }
    assert named, "no CORS_PREFLIGHT_ERROR in the NetLog"
    assert {case: cdp[case] for case in named} == named
    assert set(named.values()) == PREFLIGHT_ERRORS  # all twelve provoked


def test_default_mode_gives_the_same_verdicts(runs, engine):
    # Default mode really stripped the cookie the page stored...
    assert b"sid=netlog-session" in runs["Everything"].netlog.read_bytes()
    assert b"sid=netlog-session" not in runs["Default"].netlog.read_bytes()

    # ... and the verdicts do not depend on it: credentials come from COMPUTED_PRIVACY_MODE.
    def verdicts(mode: str) -> dict[str, list[tuple[str, str, str | None, str]]]:
        return {
            case: sorted(
                ((r["kind"], r["verdict"], r["reason"], r["credentials"]) for r in records),
                key=str,
            )
            for case, records in engine[mode].items()
        }

    assert verdicts("Default") == verdicts("Everything")


def test_records_say_the_credentials_come_from_the_netlog(engine):
    records = [r for records in engine["Default"].values() for r in records if r["sent"]]
    actual = [r for r in records if r["kind"] == "actual"]
    assert actual and all(r["credentials_basis"].startswith("Chrome NetLog") for r in actual)
