"""Snapshots of the main screens over real captures (sample_flows/), at a fixed size.

Regenerate after a deliberate change: pytest tests/tui/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from textual.pilot import Pilot

from cors_inspector.engine import Analyzer
from cors_inspector.tui.app import CorsInspectorApp
from cors_inspector.tui.store import Store

from .conftest import SIZE, exchanges, multiplied, offline_app, settle

STORIES = ("missing-middleware", "healthy-session", "method-not-allowed")


def after(*keys: str) -> Callable[[Pilot], Awaitable[None]]:
    """Read the captures, press `keys`, let any fix be verified."""

    async def run(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press(*keys)
        await settle(pilot)

    return run


def test_requests_table(snap_compare):
    assert snap_compare(offline_app(*STORIES), terminal_size=SIZE, run_before=after())


def test_cors_only_with_a_preflight_unfolded(snap_compare):
    keys = ("c", "home", "down", "down", "down", "space")
    assert snap_compare(offline_app(*STORIES), terminal_size=SIZE, run_before=after(*keys))


def test_detail_trace_of_a_blocked_preflight(snap_compare):
    keys = ("b", "home", "down", "enter")
    assert snap_compare(offline_app(*STORIES), terminal_size=SIZE, run_before=after(*keys))


def test_detail_headers(snap_compare):
    keys = ("b", "home", "down", "enter", "h")
    assert snap_compare(offline_app(*STORIES), terminal_size=SIZE, run_before=after(*keys))


def test_detail_fix(snap_compare):
    keys = ("b", "home", "down", "f")
    assert snap_compare(offline_app(*STORIES), terminal_size=SIZE, run_before=after(*keys))


def test_secrets_revealed(snap_compare):
    # auth-before-cors: the third request carries the session cookie.
    keys = ("home", "down", "down", "enter", "h", "r")
    app = offline_app("auth-before-cors")
    assert snap_compare(app, terminal_size=SIZE, run_before=after(*keys))


def test_summary(snap_compare):
    app = offline_app("missing-middleware", "healthy-session")
    assert snap_compare(app, terminal_size=SIZE, run_before=after("s"))


def test_help(snap_compare):
    assert snap_compare(offline_app(*STORIES), terminal_size=SIZE, run_before=after("?"))


def test_new_requests_hint_while_scrolled_away(snap_compare):
    traffic = list(Analyzer().run(multiplied(exchanges("auth-before-cors"), 120)))
    app = CorsInspectorApp(Store(scope="cors"))

    async def run(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("end")
        app.add_decisions(traffic[:80])
        await pilot.press(*["up"] * 12)
        app.add_decisions(traffic[80:])
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run)
