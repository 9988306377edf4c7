"""The browser run, shared by the whole session, and the agreement summary line.

``browser_run`` captures once per session into a tmp dir (about 15 s).  To compare the
engine against an earlier capture instead (made with ``python -m tests.browser.capture
DIR``), set ``CORS_BROWSER_RUN=DIR``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .capture import CHROMIUM, RunResult, run_capture

AGREEMENT_TEST = "test_agreement.py::test_agrees_with_chromium["


@pytest.fixture(scope="session")
def browser_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    if reuse := os.environ.get("CORS_BROWSER_RUN"):
        return RunResult.load(Path(reuse))
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} not found: the browser suite drives Debian's chromium package "
            "(CI installs it with apt-get install chromium).",
            pytrace=False,
        )
    return run_capture(tmp_path_factory.mktemp("browser_run"))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    outcomes: dict[str, bool] = {}
    for category in ("passed", "failed", "error"):
        for report in terminalreporter.stats.get(category, []):
            nodeid = getattr(report, "nodeid", "")
            if AGREEMENT_TEST in nodeid:
                outcomes[nodeid] = outcomes.get(nodeid, True) and category == "passed"
    if outcomes:
        source = os.environ.get("CORS_BROWSER_RUN", "a fresh capture")
        terminalreporter.write_line(
            f"browser suite: {len(outcomes)} cases, {sum(outcomes.values())} agree with "
            f"Chromium (ground truth from {source})"
        )
