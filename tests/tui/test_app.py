"""The TUI driven with Textual's pilot: keys, filters, the detail, fixes, secrets, live traffic."""

from __future__ import annotations

import asyncio
import io
import os
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from rich.console import Console, RenderableType
from textual.pilot import Pilot
from textual.widgets import Input, Static

from cors_inspector.engine import Analyzer, Decision
from cors_inspector.fix import suggestions_for
from cors_inspector.tui.app import CorsInspectorApp
from cors_inspector.tui.screens.backend_picker import BackendPicker
from cors_inspector.tui.screens.help import HelpScreen
from cors_inspector.tui.screens.save_dialog import SaveDialog
from cors_inspector.tui.screens.summary import SummaryScreen
from cors_inspector.tui.store import Store, backend_of
from cors_inspector.tui.widgets.header_view import HeaderView
from cors_inspector.tui.widgets.requests_table import RequestList
from cors_inspector.tui.widgets.trace_view import TraceView

from .conftest import SIZE, decisions, exchanges, multiplied, offline_app, sample, settle


def text_of(renderable: RenderableType, width: int = SIZE[0]) -> str:
    console = Console(width=width, file=io.StringIO(), color_system=None)
    with console.capture() as capture:
        console.print(renderable)
    return capture.get()


def shown(app: CorsInspectorApp, selector: str) -> str:
    """The text of a widget, lines joined and spaces collapsed (wrapping does not matter)."""
    return " ".join(text_of(app.query_one(selector, Static).content).split())


def status_text(app: CorsInspectorApp) -> str:
    """The status bar's text."""
    return text_of(app.query_one("#status", Static).content).strip()


def table_lines(app: CorsInspectorApp) -> list[str]:
    """The request lines as on screen (titles excluded)."""
    table = app.query_one(RequestList)
    return [table.render_line(y).text for y in range(1, table.size.height)]


async def go_to(pilot: Pilot, wanted: Callable[[Decision], bool]) -> Decision:
    """Move the cursor with the keys to the first line whose decision is `wanted`."""
    app = pilot.app
    assert isinstance(app, CorsInspectorApp)
    index = next(
        i
        for i, (row, child) in enumerate(app.store.lines)
        if wanted(row.decision if child < 0 else row.preflights[child])
    )
    await pilot.press("home", *["down"] * index)
    decision = app.store.selected_decision
    assert decision is not None and wanted(decision)
    return decision


def blocked(decision: Decision) -> bool:
    return decision.verdict == "blocked"


async def test_scope_keys_filter_the_table():
    app = offline_app("missing-middleware", "healthy-session")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        everything = len(app.store.lines)
        await pilot.press("b")
        assert {row.decision.verdict for row, _ in app.store.lines} == {"blocked"}
        assert all("✘ blocked" in line for line in table_lines(app) if line.strip())
        assert app.query_one("#scope-blocked").has_class("-active")
        await pilot.press("c")
        assert all(row.decision.is_cors for row, _ in app.store.lines)
        assert len(app.store.lines) < everything  # the pages' navigations are not CORS
        await pilot.press("a")
        assert len(app.store.lines) == everything
        assert app.query_one("#scope-all").has_class("-active")


async def test_backend_picker_filters_by_backend():
    app = offline_app("missing-middleware", "healthy-session")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("o")
        assert isinstance(app.screen, BackendPicker)
        wanted = sorted(app.store.backends)[1]  # options: "All backends", then sorted ones
        await pilot.press("down", "down", "enter")
        assert not isinstance(app.screen, BackendPicker)
        assert app.store.filter.backend == wanted
        assert {row.backend for row, _ in app.store.lines} == {wanted}
        assert wanted in str(app.query_one("#backend").label)
        await pilot.press("o", "home", "enter")  # back to every backend
        assert app.store.filter.backend is None


async def test_search_narrows_the_table_and_enter_returns_to_it():
    app = offline_app("wildcard-with-credentials", "healthy-session")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"who-am-i")
        assert app.store.lines
        assert all("who-am-i" in row.decision.url for row, _ in app.store.lines)
        await pilot.press("enter")
        assert isinstance(app.focused, RequestList)
        await pilot.press("slash", "ctrl+a", "ctrl+k", *"nothing-like-this")
        assert app.store.lines == []
        await pilot.press("escape")
        assert isinstance(app.focused, RequestList)


async def test_enter_opens_the_detail_of_the_selected_request():
    app = offline_app("header-not-allowed")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert not app.main_screen.detail.display
        decision = await go_to(pilot, blocked)
        await pilot.press("enter")
        assert app.main_screen.detail.display and app.main_screen.detail.decision is decision
        trace = shown(app, "#trace-view")
        assert decision.explanation in trace
        assert "Chromium: Access to fetch at" in trace
        assert "Firefox: CORSPreflightDidNotSucceed" in trace
        assert "✘ Preflight status 400 200-299" in trace  # the failing step: observed, needed
        await pilot.press("h")
        assert app.main_screen.detail.tab == "headers"
        request = shown(app, "#request-headers")
        assert "• Access-Control-Request-Headers" in request  # CORS headers are marked
        assert "• Origin" in request
        response = shown(app, "#response-headers")
        assert "Response 400 Bad Request" in response
        await pilot.press("down")  # the detail follows the cursor
        assert app.main_screen.detail.decision is app.store.selected_decision
        await pilot.press("escape")
        assert not app.main_screen.detail.display


async def test_the_headers_the_failing_check_named_are_marked():
    app = offline_app("duplicate-allow-origin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        decision = await go_to(pilot, lambda d: d.reason == "MultipleAllowOriginValues")
        await pilot.press("h")
        response = shown(app, "#response-headers")
        assert response.count("✘ Access-Control-Allow-Origin") == 2, response
        assert decision.failed_parameter


async def test_a_header_the_failing_check_wanted_is_shown_absent():
    app = offline_app("missing-middleware")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await go_to(pilot, lambda d: d.reason == "MissingAllowOriginHeader")
        await pilot.press("h")
        assert "✘ Access-Control-Allow-Origin (absent)" in shown(app, "#response-headers")


async def test_the_fix_is_computed_when_asked_for_and_copied():
    app = offline_app("method-not-allowed")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert not app.workers  # nothing computed before someone looks at a fix
        decision = await go_to(pilot, blocked)
        await pilot.press("f")
        await settle(pilot)
        fix = shown(app, "#fix-view")
        assert "app.add_middleware(" in fix and "verified with Starlette" in fix
        await pilot.press("y")
        backend = backend_of(decision)
        expected = suggestions_for(decisions("method-not-allowed"))[backend].to_python()
        assert app.clipboard == expected
        assert '"DELETE"' in app.clipboard  # the method the preflight was refused


async def test_save_the_fix_to_a_file(tmp_path: Path):
    app = offline_app("origin-not-listed")
    target = tmp_path / "cors_fix.py"
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await go_to(pilot, blocked)
        await pilot.press("y")  # not until the detail is open: nothing happens
        assert app.clipboard == ""
        await pilot.press("f")
        await settle(pilot)
        await pilot.press("w")
        assert isinstance(app.screen, SaveDialog)
        await pilot.press("escape")  # cancelled: nothing written
        assert not isinstance(app.screen, SaveDialog)
        await pilot.press("w")
        app.screen.query_one(Input).value = str(target)
        await pilot.press("enter")
        await pilot.pause()
    text = target.read_text()
    assert text.startswith("# CORSMiddleware for http://localhost:")
    assert "# ✔ verified with Starlette" in text
    assert "app.add_middleware(\n    CORSMiddleware,\n    allow_origins=[" in text
    compile(text, str(target), "exec")  # it is Python


async def test_secrets_are_masked_until_revealed():
    app = offline_app("auth-before-cors")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        decision = await go_to(
            pilot, lambda d: d.exchange is not None and "cookie" in d.exchange.request.headers
        )
        assert decision.exchange is not None
        cookie = decision.exchange.request.headers.get("cookie")
        assert cookie
        await pilot.press("enter", "h")
        request = app.query_one("#request-headers", HeaderView)
        assert "[redacted]" in text_of(request.content)
        assert cookie not in text_of(request.content)
        assert "SECRETS REVEALED" not in shown(app, "#status")
        await pilot.press("r")
        assert cookie in text_of(request.content)
        assert "SECRETS REVEALED" in shown(app, "#status")
        await pilot.press("r")
        assert cookie not in text_of(request.content)
        assert "SECRETS REVEALED" not in shown(app, "#status")


async def test_help_screen():
    app = offline_app("healthy-session")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        help_text = text_of(app.screen.query_one(Static).content)
        assert "Copy the fix to the clipboard" in help_text
        assert "Only blocked requests" in help_text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_summary_screen_counts_and_fix_per_backend():
    app = offline_app("missing-middleware", "healthy-session")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, SummaryScreen)
        summaries = list(app.screen.query("BackendSummary"))
        assert len(summaries) == 2
        # The backend with something blocked comes first.
        first = " ".join(text_of(summaries[0].content).split())
        assert "1 ✘ blocked MissingAllowOriginHeader" in first
        assert "Fix for http://localhost:" in first and "verified with Starlette" in first
        assert "Nothing blocked" in text_of(summaries[1].content)
        await pilot.press("y")  # acts on the backend in focus
        assert app.clipboard.startswith("from starlette.middleware.cors import CORSMiddleware")
        assert "app.add_middleware(" in app.clipboard
        await pilot.press("escape")
        assert not isinstance(app.screen, SummaryScreen)


async def test_summary_says_when_a_fix_is_stale_and_verifies_again_on_r():
    traffic = list(Analyzer().run(multiplied(exchanges("missing-middleware"), 20)))
    app = CorsInspectorApp(Store())
    async with app.run_test(size=SIZE) as pilot:
        app.add_decisions(traffic[:10])
        await pilot.press("s")
        await settle(pilot)
        (summary,) = app.screen.query("BackendSummary")
        assert "verified with Starlette" in text_of(summary.content)
        assert "More requests came" not in text_of(summary.content)
        computed_from = summary.fix.version

        app.add_decisions(traffic[10:])  # live traffic while the summary is open
        await settle(pilot)
        assert summary.fix.version == computed_from  # kept: not recomputed behind the user
        assert "press r to verify again" in " ".join(text_of(summary.content).split())

        await pilot.press("r")
        await settle(pilot)
        assert summary.fix.version == app.store.backends[summary.backend].version
        assert "More requests came" not in text_of(summary.content)
        assert "verified with Starlette" in text_of(summary.content)


def as_the_browser_saw_them(traffic: list[Decision], differing: dict[str, str]) -> list[Decision]:
    """The browser's verdict on every request: its own where `differing` (URL end -> the
    browser's verdict), the rebuilt one elsewhere."""
    seen = []
    for decision in traffic:
        theirs = next((v for end, v in differing.items() if decision.url.endswith(end)), None)
        verdict = theirs or decision.verdict
        reason = "MissingAllowOriginHeader" if theirs == "blocked" else decision.reason
        seen.append(replace(decision, browser_verdict=verdict, browser_reason=reason))
    return seen


async def test_summary_counts_the_disagreements_with_the_browser_the_d_filter_shows():
    first, second = decisions("missing-middleware"), decisions("healthy-session")
    differing = {
        "case=missing-middleware.list-items": "allowed",  # the engine says blocked
        "case=healthy-session.update-item": "blocked",  # its preflight (folded) and itself
        "case=healthy-session.who-am-i": "blocked",
    }
    app = CorsInspectorApp(Store())
    async with app.run_test(size=SIZE) as pilot:
        app.add_decisions(as_the_browser_saw_them(first, differing))
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, SummaryScreen)
        (summary,) = app.screen.query("BackendSummary")
        assert "1 disagree with the browser" in summary.border_subtitle
        assert "≠ 1 request where the browser's own verdict differs" in text_of(summary.content)
        assert app.screen.sub_title.endswith("≠ 1 disagree with the browser")

        app.add_decisions(as_the_browser_saw_them(second, differing))  # live, while open
        await settle(pilot)
        by_backend = {s.backend: s for s in app.screen.query("BackendSummary")}
        healthy = by_backend[backend_of(second[-1])]
        assert "2 disagree with the browser" in healthy.border_subtitle
        assert "≠ 2 requests where" in " ".join(text_of(healthy.content).split())
        assert app.screen.sub_title.endswith("≠ 3 disagree with the browser")
        await pilot.press("escape")

        # The same rows as the requests table's disagreement filter, backend by backend.
        await pilot.press("d")
        assert len(app.store.lines) == app.store.disagreements == 3
        for backend, stats in app.store.backends.items():
            shown = [row for row, _ in app.store.lines if row.backend == backend]
            assert stats.disagreements == len(shown)


async def test_summary_says_nothing_of_the_browser_without_its_verdicts():
    app = offline_app("healthy-session")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        (summary,) = app.screen.query("BackendSummary")
        assert "disagree" not in summary.border_subtitle + text_of(summary.content)
        assert app.screen.sub_title == "summary per backend"


async def test_preflights_fold_under_their_request():
    app = offline_app("healthy-session", "method-not-allowed")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        put = await go_to(pilot, lambda d: d.method == "PUT" and d.verdict == "allowed")
        lines = table_lines(app)
        cursor = app.store.cursor
        assert "▸ PUT" in lines[cursor]
        assert not any("└ OPTIONS" in line for line in lines)
        await pilot.press("space")
        lines = table_lines(app)
        assert "▾ PUT" in lines[cursor]
        assert "└ OPTIONS" in lines[cursor + 1]
        assert "✔ allowed" in lines[cursor + 1]
        await pilot.press("down", "enter")
        preflight = app.main_screen.detail.decision
        assert preflight is not None and preflight.preflight_for == put.flow_id
        await pilot.press("space")  # folds again, back on the request
        assert app.store.selected_decision is put
        # A preflight whose request was never sent stands alone, with its own verdict.
        never_sent = [
            line for line in table_lines(app) if line.split()[1:2] == ["OPTIONS"] and "✘" in line
        ]
        assert len(never_sent) == 3  # PUT, DELETE and patch were refused at the preflight


async def test_live_traffic_while_the_user_has_scrolled_away():
    traffic = list(Analyzer().run(multiplied(exchanges("healthy-session"), 300)))
    first, second, third = traffic[:150], traffic[150:250], traffic[250:]
    app = CorsInspectorApp(Store())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("end")  # follow, as live mode starts
        table = app.query_one(RequestList)

        async def from_the_proxy(batch: list[Decision]) -> None:
            # As LiveProxy hands batches over: call_from_thread, from another thread.
            await asyncio.to_thread(app.call_from_thread, app.add_decisions, batch)
            await pilot.pause()

        await from_the_proxy(first)
        assert table.follow
        assert app.store.cursor == len(app.store.lines) - 1
        assert table.scroll_y == table.max_scroll_y > 0
        await pilot.press(*["up"] * 40)
        assert not table.follow
        where, top = app.store.selected, table.scroll_y
        before = len(app.store.lines)
        await from_the_proxy(second)
        await from_the_proxy(third)
        assert app.store.selected == where and table.scroll_y == top  # the view stays put
        arrived = len(app.store.lines) - before
        assert arrived > 0 and table.unseen == arrived
        hint = app.query_one("#new-hint", Static)
        assert hint.display
        assert f"{arrived} new requests — press End to follow" in text_of(hint.content)
        await pilot.press("end")
        assert table.follow and not hint.display
        assert app.store.cursor == len(app.store.lines) - 1


async def test_an_unreadable_file_is_one_line_and_the_rest_is_shown(tmp_path: Path):
    broken = tmp_path / "broken.har"
    broken.write_text('{"log": {"entries": [')
    app = CorsInspectorApp(Store(), files=[broken, sample("healthy-session")])
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        assert len(app.problems) == 1
        problem = app.problems[0]
        assert problem.startswith(str(broken)) and "\n" not in problem
        assert app.store.rows  # the readable file is shown
        assert "1 problem" in shown(app, "#status")
        toasts = [str(toast.render()) for toast in app.screen.query("Toast")]
        assert any(str(broken) in toast for toast in toasts)


async def test_a_fifo_opens_as_the_file_does(tmp_path: Path):
    fifo = tmp_path / "flows.fifo"
    os.mkfifo(fifo)
    capture = sample("healthy-session")

    def feed() -> None:
        with fifo.open("wb") as out:
            out.write(capture.read_bytes())

    from_file = CorsInspectorApp(Store(), files=[capture])
    async with from_file.run_test(size=SIZE) as pilot:
        await settle(pilot)
        expected = [row.decision.flow_id for row in from_file.store.rows]
    writer = threading.Thread(target=feed)
    writer.start()
    app = CorsInspectorApp(Store(), files=[fifo])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert not app.problems and not app.loading
        assert [row.decision.flow_id for row in app.store.rows] == expected != []
    writer.join(timeout=30)


async def test_a_failure_while_reading_is_one_line_and_what_was_read_stays(monkeypatch):
    real_feed = Analyzer.feed
    fed = 0

    def failing_feed(self, exchange):
        nonlocal fed
        fed += 1
        if fed > 3:
            raise ValueError("planted\nsecond line")
        return real_feed(self, exchange)

    monkeypatch.setattr(Analyzer, "feed", failing_feed)
    app = CorsInspectorApp(Store(), files=[sample("healthy-session")])
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        assert not app.loading  # not "loading ..." for ever
        (problem,) = app.problems
        assert problem == "reading stopped: ValueError: planted"
        assert app.store.rows  # the decisions before the failure
        assert "1 problem" in shown(app, "#status")


async def test_command_palette_runs_the_main_actions():
    app = offline_app("missing-middleware", "healthy-session")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p", *"blocked")
        await pilot.pause(0.5)  # the palette searches its providers asynchronously
        await pilot.press("enter")
        await pilot.pause()
        assert app.store.filter.scope == "blocked"
        backend = app.store.cors_backends()[0]
        await pilot.press("ctrl+p", *backend.rpartition(":")[2])  # its port
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause()
        assert app.store.filter.backend == backend


async def test_mouse_click_opens_a_request_and_unfolds_a_preflight():
    app = offline_app("healthy-session")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        put = next(i for i, (row, _) in enumerate(app.store.lines) if row.preflights)
        # Line 0 of the list is the column titles.
        await pilot.click(RequestList, offset=(20, put + 1))
        detail = app.main_screen.detail
        assert detail.display and detail.decision is app.store.rows[put].decision
        await pilot.click(RequestList, offset=(0, put + 1))  # on the ▸
        assert app.store.rows[put].expanded
        assert "└ OPTIONS" in table_lines(app)[put + 1]


async def test_themes_apply():
    app = offline_app("missing-middleware")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for theme in ("textual-light", "gruvbox", "ansi-dark"):
            app.theme = theme
            await pilot.press("b", "enter", "h")
            await pilot.pause()
            assert "✘ blocked" in table_lines(app)[0]
            await pilot.press("escape", "a")


async def test_the_trace_takes_its_colours_from_the_theme():
    app = offline_app("missing-middleware")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("b", "enter", "t")
        trace = app.query_one(TraceView)
        colours = {}
        for theme in ("textual-dark", "textual-light", "gruvbox"):
            app.theme = theme
            await pilot.press("escape", "enter")  # shown again, in the new theme
            await pilot.pause()
            fail = trace.palette()["fail"].color
            console = Console(width=SIZE[0], file=io.StringIO(), color_system="truecolor")
            segments = console.render(trace.content, console.options)
            crosses = {segment.style.color for segment in segments if segment.text == "✘"}
            assert crosses == {fail}  # the failed step's mark, in this theme's error colour
            colours[theme] = fail
        assert len(set(colours.values())) == 3


async def test_loading_says_how_far_it_has_got(monkeypatch):
    from cors_inspector import judge as captures
    from cors_inspector.tui import feed

    monkeypatch.setattr(captures, "REPORT_EVERY", 1)
    monkeypatch.setattr(feed, "BATCH_SECONDS", 0.0)
    app = offline_app("missing-middleware", "healthy-session")
    shown: list[str] = []
    show_progress = feed.FileFeed.show_progress

    def spy(self: feed.FileFeed, where: str) -> None:
        show_progress(self, where)
        shown.append(status_text(app))

    monkeypatch.setattr(feed.FileFeed, "show_progress", spy)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        percents = [int(text.split("%")[0].rsplit(" ", 1)[1]) for text in shown]
        assert shown[0].startswith("▤ loading missing-middleware.mitm ")
        assert shown[-1].startswith("▤ loading healthy-session.mitm ")
        assert percents == sorted(percents) and 0 < percents[-1] <= 100
        assert status_text(app).startswith("▤ missing-middleware.mitm, healthy-session.mitm")


async def test_the_fix_views_mask_secret_urls_until_revealed():
    """The fixes quote request URLs (a look-alike's request, a request still failing): a
    query token stays masked there too, in the detail and the summary, until r."""
    secret = "tok-SECRET-1"
    planted = []
    for exchange in exchanges("server-error-500"):
        request = exchange.request
        if exchange.response is not None and exchange.response.status == 500:
            request = replace(request, url=f"{request.url}?access_token={secret}")
        planted.append(replace(exchange, request=request))
    app = CorsInspectorApp(Store())
    async with app.run_test(size=SIZE) as pilot:
        app.add_decisions(list(Analyzer().run(planted)))
        await settle(pilot)
        await go_to(pilot, lambda d: d.status == 500 and d.kind == "actual")
        await pilot.press("f")
        await settle(pilot)
        fix_view = app.query_one("#fix-view", Static)
        assert "Not a CORS setting" in text_of(fix_view.content)
        await pilot.press("s")
        await settle(pilot)
        (summary,) = app.screen.query("BackendSummary")
        assert "access_token=" in text_of(summary.content)
        assert secret not in text_of(summary.content)
        await pilot.press("escape", "r", "s")  # revealed on the main screen
        await settle(pilot)
        (summary,) = app.screen.query("BackendSummary")
        assert secret in text_of(summary.content)
