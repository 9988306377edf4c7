"""Look-alike errors named from the real browser capture: near-miss origins (trailing slash,
http vs https, localhost vs 127.0.0.1) and a duplicated Access-Control-Allow-Origin."""

from __future__ import annotations

import pytest

from cors_inspector.engine import Analyzer
from cors_inspector.fix import suggestions_for
from cors_inspector.readers import read_capture
from tests.support.agreement import case_of

from . import needs_browser  # noqa: F401 (skips without Chromium or Playwright)
from .capture import RunResult

pytestmark = pytest.mark.browser

EXPECTED = {
    "get-acao-trailing-slash": ("origin-near-miss", "trailing slash"),
    "get-acao-https": ("origin-near-miss", "scheme differs"),
    "ip-raw-acao-localhost": ("origin-near-miss", "different origins to the browser"),
    "get-acao-two-lines": ("duplicate-allow-origin", "reverse proxy"),
}


@pytest.fixture(scope="module")
def lookalikes(browser_run: RunResult) -> dict[str, tuple[str, str]]:
    """Each case's look-alike code, with its decision's explanation and the look-alike fix."""
    decisions = list(Analyzer().run(read_capture(browser_run.flows_path)))
    found = {}
    for suggestion in suggestions_for(decisions).values():
        for observation, lookalike in suggestion.lookalikes:
            case = case_of(observation.decision.url)
            text = f"{observation.decision.explanation} {lookalike.fix}"
            found[case] = (lookalike.code, text)
    return found


@pytest.mark.parametrize("case_id", sorted(EXPECTED))
def test_lookalike_is_named_from_the_real_capture(lookalikes, case_id):
    code, words = EXPECTED[case_id]
    assert case_id in lookalikes, f"no look-alike named for {case_id}"
    found_code, text = lookalikes[case_id]
    assert found_code == code
    assert words in text
