"""Does the engine, reading only Chromium's own NetLog, decide what Chromium decided?

Chromium runs the cases of ``netlog_run`` twice, recording its NetLog in Everything mode and in
Default mode (cookie and auth values stripped). For every request in the NetLog, never-sent
ones included, ``cors-inspector analyze --format jsonl`` must give Chromium's verdict and
CorsError (from CDP); and every CORS_PREFLIGHT_ERROR number, named by the reader's table for
Chrome 156, must be the name CDP gave: that is how the table is verified.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from cors_inspector.readers.netlog import CORS_ERRORS_BY_VERSION
from tests.support.agreement import EngineRecord, analyze_jsonl, group_by_case

from .netlog_run import CASES, MODES, NetLogRun, run

pytestmark = pytest.mark.browser

# cors.mojom's "Preflight:" errors: the ones CORS_PREFLIGHT_ERROR carries, and the ones the
# cases provoke (InvalidResponse, a preflight's network error, is not provoked here).
PREFLIGHT_ERRORS = set(CORS_ERRORS_BY_VERSION[156][9:21])

Verdict = tuple[str, str | None]


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


def chromium_verdicts(requests: list[dict[str, Any]]) -> dict[str, dict[str, list[Verdict]]]:
    """Per case, per kind, Chromium's (verdict, CorsError) of each request in order. CDP puts
    a preflight's error on its actual request only: a preflight failed if that error is one
    of the preflight errors."""
    by_case: dict[str, dict[str, list[Verdict]]] = defaultdict(lambda: defaultdict(list))
    for case in {request["case"] for request in requests}:
        mine = [request for request in requests if request["case"] == case]
        errors = [r["cors_error"] for r in mine if not r["is_preflight"] and r["cors_error"]]
        preflight_error = next((e for e in errors if e in PREFLIGHT_ERRORS), None)
        for request in mine:
            if request["is_preflight"]:
                verdict = ("blocked", preflight_error) if preflight_error else ("allowed", None)
                by_case[case]["preflight"].append(verdict)
            else:
                error = request["cors_error"]
                by_case[case]["actual"].append(("blocked", error) if error else ("allowed", None))
    return by_case


def engine_verdicts(records: list[EngineRecord]) -> dict[str, list[Verdict]]:
    by_kind: dict[str, list[Verdict]] = defaultdict(list)
    for record in records:
        by_kind[record["kind"]].append((record["verdict"], record["reason"]))
    return by_kind


@pytest.mark.parametrize("mode", MODES)
def test_every_request_agrees_with_chromium(runs, engine, mode):
    chromium = chromium_verdicts(runs[mode].requests)
    disagreements, agreed = [], 0
    for case in CASES:
        expected, found = chromium[case.id], engine_verdicts(engine[mode].get(case.id, []))
        for kind in {*expected, *found}:
            if expected[kind] == found[kind]:
                agreed += len(expected[kind])
            else:
                disagreements.append(
                    f"{case.id} {kind}: Chromium {expected[kind]}, engine {found[kind]}"
                )
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
