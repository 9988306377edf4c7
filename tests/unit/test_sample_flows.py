"""The recorded sample stories: the engine must decide what real Chromium decided.

``sample_flows/stories.json`` holds Chromium's verdict on every fetch of every story, as the
browser run recorded it (``scripts/make_sample_flows.py``); each story's ``.mitm``,
mitmproxy-exported ``.har`` and Chromium's own NetLog are analysed here as
``cors-inspector analyze`` runs them. A HAR keeps no client connection, so a credentialed
request with no cookie is allowed there with verdict_if_credentials, as the credentials
issue asks; so it is in a .mitm where the request came on a connection of its own, with no
other request on it to tell. Chromium's NetLog says the mode itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cors_inspector.cli import ExitStatus, main
from tests.support.agreement import (
    EngineRecord,
    describe,
    disagreement,
    explained_by_credentials,
    group_by_case,
)

SAMPLES = Path(__file__).resolve().parents[2] / "sample_flows"
MANIFEST = json.loads((SAMPLES / "stories.json").read_text())
STORIES: list[dict[str, Any]] = MANIFEST["stories"]
FORMATS = ("mitm", "har", "netlog")


def analyze(
    capsys: pytest.CaptureFixture[str], *files: Path
) -> tuple[int, dict[str, list[EngineRecord]]]:
    """Exit status and records by case of ``cors-inspector analyze FILE... --format jsonl``."""
    status = main(["analyze", *map(str, files), "--format", "jsonl"])
    return status, group_by_case(capsys.readouterr().out)


def blocked_cases(stories: list[dict[str, Any]]) -> set[str]:
    return {
        request["case"]
        for story in stories
        for request in story["requests"]
        if request["chromium_verdict"] == "blocked"
    }


def final_record(records: list[EngineRecord]) -> EngineRecord:
    return [r for r in records if r["kind"] != "preflight"][-1]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("story", STORIES, ids=[story["id"] for story in STORIES])
def test_engine_decides_as_chromium(
    story: dict[str, Any], fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, by_case = analyze(capsys, SAMPLES / story["files"][fmt])
    problems = [
        f"{request['case']} (Chromium: {request['chromium_verdict']} "
        f"{request['chromium_reason'] or ''}): {problem}\n{describe(by_case[request['case']])}"
        for request in story["requests"]
        if (problem := disagreement(request, by_case[request["case"]]))
    ]
    assert problems == [], "\n".join(problems)
    shown_blocked = [
        request
        for request in story["requests"]
        if request["chromium_verdict"] == "blocked"
        and not explained_by_credentials(request, by_case[request["case"]])
    ]
    assert status == (ExitStatus.BLOCKED if shown_blocked else ExitStatus.OK)
    if fmt == "netlog":  # Chromium recorded the credentials mode: nothing is left undecided
        assert not [r for rs in by_case.values() for r in rs if r["verdict_if_credentials"]]


@pytest.mark.parametrize("fmt", FORMATS)
def test_engine_sees_which_headers_script_could_read(
    fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Where the page read a response header, the engine says whether script could."""
    reads = [
        (story, request)
        for story in STORIES
        for request in story["requests"]
        if "read_header" in request
    ]
    assert {story["id"] for story, _ in reads} >= {"unexposed-header", "healthy-session"}
    for story, request in reads:
        _, by_case = analyze(capsys, SAMPLES / story["files"][fmt])
        record = final_record(by_case[request["case"]])
        name = request["read_header"]["name"].lower()
        hidden = request["read_header"]["js_value"] is None
        reported = record["hidden_headers"] if hidden else record["readable_headers"]
        assert name in (reported or []), (request, record)


def test_bundled_demo_reports_every_story(capsys: pytest.CaptureFixture[str]) -> None:
    status, by_case = analyze(capsys)  # no FILE: the bundled demo.mitm
    demo_stories = [s for s in STORIES if s["id"] in MANIFEST["demo"]["stories"]]
    reported = {
        case for case, records in by_case.items() if any(r["verdict"] == "blocked" for r in records)
    }
    flagged = {
        request["case"]
        for story in demo_stories
        for request in story["requests"]
        if explained_by_credentials(request, by_case[request["case"]])
    }
    assert status == ExitStatus.BLOCKED
    assert reported == blocked_cases(demo_stories) - flagged
    assert {s["id"] for s in demo_stories} > {"healthy-session"}
