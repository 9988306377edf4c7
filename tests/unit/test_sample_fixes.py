"""Fixes and look-alikes on the real captures of `sample_flows/`: every story's suggested
configuration is verified by the real Starlette, and every error that only looks like CORS
is named for what it is."""

import json
from pathlib import Path

import pytest

from cors_inspector.engine import Analyzer
from cors_inspector.fix import suggestions_for
from cors_inspector.readers import read_capture

SAMPLES = Path(__file__).resolve().parents[2] / "sample_flows"
STORIES = json.loads((SAMPLES / "stories.json").read_text())["stories"]
FAILING = [
    s["id"] for s in STORIES if any(r["chromium_verdict"] == "blocked" for r in s["requests"])
]
# What each story really is (look-alike codes); an empty set: a plain CORS setting.
EXPECTED_LOOKALIKES = {
    "missing-middleware": {"no-cors-middleware"},
    "origin-not-listed": {"starlette-rejected"},  # Disallowed CORS origin
    "origin-trailing-slash": {"starlette-rejected"},  # Disallowed CORS origin
    "localhost-vs-127": {"starlette-rejected"},  # Disallowed CORS origin
    "wildcard-with-credentials": set(),
    "header-not-allowed": {"starlette-rejected"},
    "method-not-allowed": {"starlette-rejected", "method-case"},
    "server-error-500": {"server-error"},
    "preflight-redirect": {"preflight-redirect"},
    "null-origin-file": {"null-origin"},
    "auth-before-cors": {"auth-before-cors"},
    "duplicate-allow-origin": {"duplicate-allow-origin"},
    "credentials-without-allow-credentials": set(),
    "login-against-wildcard": set(),
}


def suggestions(story_id: str):
    decisions = Analyzer().run(read_capture(SAMPLES / f"{story_id}.mitm"))
    return list(suggestions_for(decisions).values())


@pytest.mark.parametrize("story_id", FAILING)
def test_every_failing_story_gets_a_verified_fix(story_id):
    found = suggestions(story_id)
    assert found, "a story with blocked requests must get a suggestion"
    for suggestion in found:
        assert suggestion.verification.ok, [
            (c.method, c.observation.decision.url, c.failure.reason)
            for c in suggestion.verification.failures
        ]
        if suggestion.config.allow_credentials:
            assert "*" not in suggestion.config.allow_origins


@pytest.mark.parametrize("story_id", FAILING)
def test_lookalikes_are_named_for_what_they_are(story_id):
    codes = {found.code for s in suggestions(story_id) for _, found in s.lookalikes}
    assert codes == EXPECTED_LOOKALIKES[story_id]


def test_server_error_is_not_fixed_with_a_cors_change():
    (suggestion,) = suggestions("server-error-500")
    (observation,) = suggestion.uncovered
    assert observation.decision.status == 500
    (lookalike,) = [found for seen, found in suggestion.lookalikes if seen is observation]
    assert "server log" in lookalike.fix


def test_wildcard_with_credentials_lists_the_origin_and_credentials():
    (suggestion,) = suggestions("wildcard-with-credentials")
    config = suggestion.config
    assert config.allow_credentials
    assert config.allow_origins and "*" not in config.allow_origins
