"""Does the engine, reading only the mitmproxy capture of a Firefox run, decide what Firefox
decided?  One test per case: the verdict, and for a blocked fetch Firefox's reason as its
console named it. Firefox's run is the ground truth (tests/browser/firefox_run.py)."""

from __future__ import annotations

import json

import pytest

from cors_inspector.engine.reasons import FIREFOX_CONSOLE
from tests.support.agreement import EngineRecord, describe, disagreement, group_by_case

from .cases import CASES
from .firefox_run import FirefoxRun, security_properties
from .fixes import SUMMARY_KEY

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def firefox_records(firefox_analysis) -> dict[str, list[EngineRecord]]:
    assert firefox_analysis.error is None, firefox_analysis.error
    return group_by_case(firefox_analysis.jsonl)


@pytest.mark.parametrize("case_id", [case.id for case in CASES])
def test_agrees_with_firefox(
    case_id: str, firefox_run: FirefoxRun, firefox_records: dict[str, list[EngineRecord]]
) -> None:
    firefox = firefox_run.record(case_id)
    records = firefox_records.get(case_id, [])
    context = (
        f"{firefox['url']}\nFirefox: {firefox['firefox_verdict']} "
        f"{firefox['firefox_reason'] or ''}\nengine:\n{describe(records)}"
    )
    problem = disagreement(firefox, records, "firefox")
    assert problem is None, f"{problem}\n{context}"


def test_firefox_traffic_is_judged_by_firefox_rules(firefox_analysis) -> None:
    records = [json.loads(line) for line in firefox_analysis.jsonl.splitlines()]
    cors = [r for r in records if r["kind"] in ("preflight", "actual")]
    assert len(cors) > 200
    assert {r["browser"] for r in cors} == {"firefox"}


def test_the_console_line_is_the_one_firefox_printed(
    firefox_run: FirefoxRun, firefox_records: dict[str, list[EngineRecord]], request
) -> None:
    """For each fetch Firefox blocked (and the engine too: not those only credentials would
    block), an engine record carries Firefox's first console line for it, word for word."""
    blocked = [
        r
        for r in firefox_run.cases
        if r["firefox_verdict"] == "blocked"
        and any(record["verdict"] == "blocked" for record in firefox_records[r["id"]])
    ]
    missing = [
        f"{r['id']}: {r['console_messages'][0]['text']}"
        for r in blocked
        if r["console_messages"][0]["text"]
        not in {record["firefox_console_message"] for record in firefox_records[r["id"]]}
    ]
    request.config.stash.setdefault(SUMMARY_KEY, []).append(
        f"Firefox console lines: {len(blocked) - len(missing)} of {len(blocked)} blocked fetches "
        "carry the line Firefox printed"
    )
    assert missing == []


def test_the_console_strings_are_the_installed_firefoxs() -> None:
    """reasons.FIREFOX_CONSOLE against security.properties inside the installed omni.ja."""
    installed = {
        key.rstrip("0123456789"): text.replace("%1$S", "{url}").replace(
            "%2$S", "{value}" if "Status code" not in text else "{status}"
        )
        for key, text in security_properties().items()
    }
    assert installed == FIREFOX_CONSOLE
