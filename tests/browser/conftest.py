"""The browser run, shared by the whole session, and the summary lines (agreement, fixes).

``browser_run`` captures once per session into a tmp dir (about 15 s), ``firefox_run`` the
same cases in Firefox (about 30 s).  To compare the engine against an earlier capture
instead (made with ``python -m tests.browser.capture DIR``, ``python -m
tests.browser.firefox_run DIR``), set ``CORS_BROWSER_RUN=DIR`` (``CORS_FIREFOX_RUN=DIR``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support import servers
from tests.support.agreement import Analysis, analyze_jsonl

from .requirements import MISSING

if not MISSING:  # else every module skips (needs_browser.py), and nothing here is used
    from .capture import CHROMIUM, RunResult, run_capture
    from .firefox_run import FIREFOX, FirefoxRun, run_firefox_capture
    from .fixes import SUMMARY_KEY

AGREEMENT_TEST = "test_agreement.py::test_agrees_with_chromium["
FIREFOX_AGREEMENT_TEST = "test_agreement_firefox.py::test_agrees_with_firefox["
LIVE_LOG_TEST = "test_live_log.py::test_live_log_agrees_with_analyze_and_chromium["


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
    # With cors-inspector's addon in mitmdump: its live log is checked by test_live_log.
    run = run_capture(tmp_path_factory.mktemp("browser_run"), live_log=True)
    # test_fixes_in_chromium serves the pages on this port again (the fixes list its origin).
    if run.page_port is not None:
        servers.hold(run.page_port)
    return run


@pytest.fixture(scope="session")
def firefox_run(tmp_path_factory: pytest.TempPathFactory) -> FirefoxRun:
    if reuse := os.environ.get("CORS_FIREFOX_RUN"):
        return FirefoxRun.load(Path(reuse))
    if not FIREFOX.exists():
        pytest.fail(
            f"{FIREFOX} not found: the browser suite drives Debian's firefox-esr package "
            "(CI installs it with apt-get install firefox-esr).",
            pytrace=False,
        )
    return run_firefox_capture(tmp_path_factory.mktemp("firefox_run"))


@pytest.fixture(scope="session")
def firefox_analysis(firefox_run: FirefoxRun) -> Analysis:
    """``cors-inspector analyze --format jsonl`` over the Firefox run's flows.mitm."""
    return analyze_jsonl(firefox_run.flows_path)


@pytest.fixture(scope="session")
def analysis(browser_run: RunResult) -> Analysis:
    """``cors-inspector analyze --format jsonl`` over the browser run's flows.mitm."""
    return analyze_jsonl(browser_run.flows_path)


def outcomes_of(terminalreporter: pytest.TerminalReporter, test: str) -> dict[str, bool]:
    """Whether each test whose node id contains ``test`` passed (setup and teardown too)."""
    outcomes: dict[str, bool] = {}
    for category in ("passed", "failed", "error"):
        for report in terminalreporter.stats.get(category, []):
            nodeid = getattr(report, "nodeid", "")
            if test in nodeid:
                outcomes[nodeid] = outcomes.get(nodeid, True) and category == "passed"
    return outcomes


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if outcomes := outcomes_of(terminalreporter, AGREEMENT_TEST):
        source = os.environ.get("CORS_BROWSER_RUN", "a fresh capture")
        terminalreporter.write_line(
            f"browser suite: {len(outcomes)} cases, {sum(outcomes.values())} agree with "
            f"Chromium (ground truth from {source})"
        )
    if outcomes := outcomes_of(terminalreporter, FIREFOX_AGREEMENT_TEST):
        source = os.environ.get("CORS_FIREFOX_RUN", "a fresh capture")
        terminalreporter.write_line(
            f"browser suite: {len(outcomes)} cases, {sum(outcomes.values())} agree with "
            f"Firefox (verdict, and Firefox's reason where it blocked; ground truth from "
            f"{source})"
        )
    if outcomes := outcomes_of(terminalreporter, LIVE_LOG_TEST):
        terminalreporter.write_line(
            f"live addon log: {len(outcomes)} cases, {sum(outcomes.values())} where the log "
            "agrees with analyze and with Chromium"
        )
    if MISSING:
        return
    # Set by test_fixes_in_chromium's fix_runs fixture.
    for line in terminalreporter.config.stash.get(SUMMARY_KEY, []):
        terminalreporter.write_line(line)
