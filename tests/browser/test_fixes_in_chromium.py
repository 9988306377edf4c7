"""The suggested fix, applied to the real FastAPI app, makes Chromium accept the requests.

For every blocked case of the browser run and every failing story of ``sample_flows/``:
the suggestion for its backend is verified by Starlette (in process), and the same FastAPI
app, started again with ``CORS_CONFIG`` = the suggestion, has real Chromium accept every
request the suggestion covers (see fixes.py).  Requests no CORS setting can fix are named
with their look-alike code instead.  A request Chromium still refuses is a failure (never a
skip or xfail).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from . import needs_browser  # noqa: F401 (skips without Chromium or Playwright)
from .capture import RunResult
from .cases import BACKENDS, CASES, CASES_BY_ID
from .fixes import (
    BLOCKED,
    SUMMARY_KEY,
    FixPlan,
    FixRun,
    decisions_of,
    plan,
    port_of,
    rerun_all,
    uncovered_text,
)
from .stories import STORIES

pytestmark = pytest.mark.browser

SAMPLES = Path(__file__).resolve().parents[2] / "sample_flows"
MANIFEST = {s["id"]: s for s in json.loads((SAMPLES / "stories.json").read_text())["stories"]}
STORIES_BY_ID = {story.id: story for story in STORIES}
FAILING_STORIES = [
    story_id
    for story_id, entry in MANIFEST.items()
    if any(r["chromium_verdict"] == BLOCKED for r in entry["requests"])
]

NOT_BLOCKED = ("allowed", "opaque", "failed")
# The FastAPI cases Chromium blocks (cases.py's expectations; test_harness holds them true).
FASTAPI_BLOCKED = [c.id for c in CASES if c.target in BACKENDS and c.expect not in NOT_BLOCKED]
FASTAPI_BLOCKING = sorted({CASES_BY_ID[case_id].target for case_id in FASTAPI_BLOCKED})
# Blocked FastAPI cases no CORS setting can fix, with the look-alike that names them.
EXPECTED_UNCOVERED = {
    "fa-exact-patch-lower": "method-case",  # the page must write PATCH
    "file-fastapi-exact": "null-origin",  # a file:// page: serve it over http
    "file-fastapi-exact-put": "null-origin",
    "fa-raises-get": "server-error",  # the handler raised: ServerErrorMiddleware's 500
    "fa-raises-put": "server-error",
}
# Covered although a look-alike: with no CORSMiddleware, FastAPI's redirect_slashes answers
# the preflight 307; the suggested middleware answers it before routing, so it is fixed.
# The raw backend's origins (scripted answers: verified by Starlette, never re-run).
RAW_BACKENDS = ("raw", "raw_ip", "page")


@dataclass
class FixRuns:
    suite: FixRun
    labels: dict[str, str]  # backend origin -> instance name (raw backend: raw, raw_ip, page)
    stories: dict[str, FixRun]

    def __repr__(self) -> str:  # keeps pytest's failure reports short
        return f"FixRuns({len(self.suite.records)} cases, {len(self.stories)} stories)"


def suite_plan(run: RunResult) -> tuple[FixPlan, dict[str, str]]:
    raw_case = next(r for r in run.cases if CASES_BY_ID[r["id"]].target == "raw")
    page_port, raw_port = run.page_port, port_of(raw_case["url"])
    fix_plan = plan(
        "suite",
        decisions_of(run.flows_path),
        CASES,
        {r["id"]: r["chromium_verdict"] for r in run.cases},
        BACKENDS,
        page_port,
        whole_session=False,
    )
    labels = {origin: instance for instance, origin in fix_plan.instance_origin.items()}
    labels |= {
        f"http://localhost:{raw_port}": "raw",
        f"http://127.0.0.1:{raw_port}": "raw_ip",
        f"http://localhost:{page_port}": "page",
        f"http://127.0.0.1:{page_port}": "page_ip",
    }
    return fix_plan, labels


def story_plan(story_id: str) -> FixPlan:
    story, entry = STORIES_BY_ID[story_id], MANIFEST[story_id]
    return plan(
        story_id,
        decisions_of(SAMPLES / entry["files"]["mitm"]),
        story.cases,
        {r["case"]: r["chromium_verdict"] for r in entry["requests"]},
        story.backends,
        port_of(entry["page_origin"]),
        whole_session=True,
    )


def summary_lines(runs: FixRuns) -> list[str]:
    suite = runs.suite
    fastapi_uncovered = {
        case_id: codes
        for case_id, codes in suite.plan.uncovered_blocked().items()
        if CASES_BY_ID[case_id].target in BACKENDS
    }
    raw = [s for o, s in suite.plan.suggestions.items() if runs.labels.get(o) in RAW_BACKENDS]
    raw_uncovered = {
        case_id: codes
        for case_id, codes in suite.plan.uncovered_blocked().items()
        if case_id not in fastapi_uncovered
    }
    raw_codes = Counter(code for codes in raw_uncovered.values() for code in codes)
    lines = [
        f"fix re-run: {len(suite.plan.covered)} cases re-run with the suggested configuration, "
        f"{len(suite.accepted)} accepted by Chromium; {len(fastapi_uncovered)} uncovered "
        f"({uncovered_text(fastapi_uncovered)}); raw backend (scripted, not re-run): "
        f"{sum(bool(s.verification and s.verification.ok) for s in raw)} of {len(raw)} "
        f"suggestions verified by Starlette over {len(suite.plan.scripted)} blocked cases, "
        f"{len(raw_uncovered)} uncovered ("
        + ", ".join(f"{code} {n}" for code, n in sorted(raw_codes.items()))
        + ")"
    ]
    stories = runs.stories.values()
    rerun = [r for r in stories if r.plan.rerun_cases]
    story_uncovered = {
        case_id: codes for r in stories for case_id, codes in r.plan.uncovered_blocked().items()
    }
    lines.append(
        f"fix re-run (sample_flows): {len(rerun)} of {len(runs.stories)} failing stories re-run "
        f"with the suggested configuration, {sum(len(r.plan.covered) for r in rerun)} covered "
        f"requests, {sum(len(r.accepted) for r in rerun)} accepted by Chromium; "
        f"{len(story_uncovered)} uncovered ({uncovered_text(story_uncovered)})"
    )
    if scripted := [case_id for r in stories for case_id in r.plan.scripted]:
        lines[-1] += (
            f"; {len(scripted)} blocked on the scripted raw backend, covered by a verified "
            f"suggestion but with no app to re-run: {', '.join(scripted)}"
        )
    runs_with_breakdowns = [r for r in [suite, *stories] if r.breakdowns]
    if runs_with_breakdowns:
        lines.append(
            "fix re-run: tried again after a breakdown (no verdicts): "
            + ", ".join(f"{r.plan.name} ({r.outdir})" for r in runs_with_breakdowns)
        )
    return lines


@pytest.fixture(scope="session")
def fix_runs(
    browser_run: RunResult, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> FixRuns:
    """Plan every fix, then re-run the suite's cases and the stories, in parallel."""
    fix_plan, labels = suite_plan(browser_run)
    plans = [fix_plan, *(story_plan(story_id) for story_id in FAILING_STORIES)]
    runs = rerun_all(plans, tmp_path_factory.mktemp("fix_rerun"))
    result = FixRuns(runs.pop("suite"), labels, runs)
    request.config.stash.setdefault(SUMMARY_KEY, []).extend(summary_lines(result))
    return result


def verification_problems(fix_plan: FixPlan, origin: str) -> str | None:
    suggestion = fix_plan.suggestions[origin]
    verification = suggestion.verification
    if verification is None:
        return "no verification"
    if verification.ok:
        return None
    failed = "\n".join(
        f"  {check.method} {check.observation.decision.url}: "
        f"{check.failure.reason if check.failure else '?'}"
        for check in verification.failures
    )
    return f"Starlette still refuses, with\n{suggestion.config.to_python()}\n{failed}"


# -- the browser run ------------------------------------------------------------------------


@pytest.mark.parametrize("backend", [*RAW_BACKENDS, *FASTAPI_BLOCKING])
def test_suggestion_is_verified_by_starlette(backend: str, fix_runs: FixRuns) -> None:
    fix_plan = fix_runs.suite.plan
    origins = [origin for origin, label in fix_runs.labels.items() if label == backend]
    found = [origin for origin in origins if origin in fix_plan.suggestions]
    assert found, f"no suggestion for {backend} ({origins}), where Chromium blocked requests"
    for origin in found:
        problem = verification_problems(fix_plan, origin)
        assert problem is None, f"{backend} ({origin}): {problem}"


def test_every_suggestion_is_for_a_known_backend(fix_runs: FixRuns) -> None:
    unknown = set(fix_runs.suite.plan.suggestions) - set(fix_runs.labels)
    assert unknown == set()


def test_uncovered_cases_are_named(fix_runs: FixRuns) -> None:
    """The blocked FastAPI cases kept out of the re-run, each with its look-alike code."""
    uncovered = {
        case_id: codes
        for case_id, codes in fix_runs.suite.plan.uncovered_blocked().items()
        if CASES_BY_ID[case_id].target in BACKENDS
    }
    assert uncovered == {case_id: [code] for case_id, code in EXPECTED_UNCOVERED.items()}
    for suggestion in fix_runs.suite.plan.suggestions.values():
        for observation in suggestion.uncovered:
            lookalike = suggestion.lookalike_of(observation)
            assert lookalike is not None and not lookalike.cors_change_helps, observation


def test_rerun_is_exactly_the_covered_blocked_cases(fix_runs: FixRuns) -> None:
    suite = fix_runs.suite
    assert suite.error is None, suite.error
    expected = [case_id for case_id in FASTAPI_BLOCKED if case_id not in EXPECTED_UNCOVERED]
    assert sorted(suite.plan.covered) == sorted(expected)
    assert sorted(suite.records) == sorted(expected)


@pytest.mark.parametrize("case_id", FASTAPI_BLOCKED)
def test_fixed_app_makes_chromium_accept(case_id: str, fix_runs: FixRuns) -> None:
    suite = fix_runs.suite
    fix_plan = suite.plan
    assert fix_plan.before[case_id] == BLOCKED, "Chromium did not block it in the browser run"
    if case_id in EXPECTED_UNCOVERED:
        assert fix_plan.uncovered.get(case_id) == [EXPECTED_UNCOVERED[case_id]]
        assert case_id not in suite.records, "an uncovered case was re-run"
        return
    codes = fix_plan.uncovered.get(case_id)
    assert codes is None, f"the suggestion says no CORS setting can fix it: {codes}"
    assert case_id in fix_plan.covered, (
        f"no suggestion covers it\n{fix_plan.describe(CASES_BY_ID[case_id].target)}"
    )
    problem = suite.failure(case_id)
    assert problem is None, problem


# -- sample_flows/ --------------------------------------------------------------------------


def test_every_failing_story_is_checked() -> None:
    assert len(FAILING_STORIES) >= 10
    assert set(FAILING_STORIES) <= set(STORIES_BY_ID)


@pytest.mark.parametrize("story_id", FAILING_STORIES)
def test_story_fix_is_verified_by_starlette(story_id: str, fix_runs: FixRuns) -> None:
    fix_plan = fix_runs.stories[story_id].plan
    assert fix_plan.suggestions, "a story with blocked requests must get a suggestion"
    for origin in fix_plan.suggestions:
        problem = verification_problems(fix_plan, origin)
        assert problem is None, f"{origin}: {problem}"


@pytest.mark.parametrize("story_id", FAILING_STORIES)
def test_story_fix_makes_chromium_accept(story_id: str, fix_runs: FixRuns) -> None:
    run = fix_runs.stories[story_id]
    fix_plan = run.plan
    named = set(fix_plan.covered) | set(fix_plan.uncovered) | set(fix_plan.scripted)
    assert [c for c in fix_plan.blocked if c not in named] == [], "neither covered nor named"
    if not fix_plan.covered:
        # Nothing a CORSMiddleware change fixes, or no FastAPI app to apply it to (the raw
        # backend, e.g. nginx's header on top of the app's): the summary lists them.
        assert set(fix_plan.blocked) <= set(fix_plan.uncovered) | set(fix_plan.scripted)
        return
    assert run.error is None, run.error
    failures = {case_id: run.failure(case_id) for case_id in fix_plan.covered}
    failures = {case_id: why for case_id, why in failures.items() if why}
    assert failures == {}, "\n".join(f"{case_id}: {why}" for case_id, why in failures.items())


def test_story_page_origins_are_the_recorded_ones(fix_runs: FixRuns) -> None:
    """The re-run serves each page at its recorded origin, the one the fix lists."""
    for story_id, run in fix_runs.stories.items():
        for case_id, record in run.records.items():
            recorded = MANIFEST[story_id]["page_origin"]
            assert record["page_origin"] == recorded, case_id
