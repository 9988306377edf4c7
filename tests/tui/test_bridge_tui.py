"""The live TUI with the browser bridge, for real: headless Chromium attached over its
DevTools pipe, mitmproxy in the app's worker, the self-running page of tests/bridge. The
detail shows the call site and the browser's verdict; killing the browser leaves the proxy
and the TUI running on the wire alone."""

from __future__ import annotations

import asyncio
import io
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest
from rich.console import Console

from cors_inspector.browsers.bridge import Bridge
from cors_inspector.browsers.chromium import find_browser
from cors_inspector.mitm.proxy import ProxySettings
from cors_inspector.tui.app import CorsInspectorApp
from cors_inspector.tui.store import Store
from cors_inspector.tui.widgets.requests_table import RequestList
from cors_inspector.tui.widgets.trace_view import TraceView
from tests.bridge.test_bridge import kill_group, marked_calls
from tests.support import servers
from tests.support.live import fetch_through, wait_until_listening
from tests.support.paths import REPO

from .conftest import SIZE
from .test_live import eventually

pytestmark = pytest.mark.browser


def rendered(widget: TraceView) -> str:
    console = Console(width=SIZE[0], file=io.StringIO())
    return "".join(segment.text for segment in console.render(widget.content, console.options))


async def test_the_detail_says_where_the_call_came_from_and_the_browser_going_leaves_the_wire(
    tmp_path: Path,
):
    backend_port, proxy_port = servers.free_ports(2)
    with ExitStack() as stack:
        backend = servers.start(
            "backend",
            [sys.executable, "-m", "tests.bridge.backend", str(backend_port)],
            stack=stack,
            log_dir=tmp_path,
            cwd=REPO,
        )
        wait_until_listening((backend, backend_port))
        page = f"http://localhost:{backend_port}/page"
        bridge = Bridge(find_browser(), "127.0.0.1", proxy_port, page, True, print)
        stack.callback(bridge.close)  # stops the browser by its pid
        settings = ProxySettings(listen_port=proxy_port)
        app = CorsInspectorApp(Store(scope="cors"), proxy=settings, companion=bridge.pairing)
        bridge.on_lost = app.browser_lost
        bridge.start()
        async with app.run_test(size=SIZE) as pilot:
            assert "browser attached" in app.source

            def wildcard() -> int | None:
                return next(
                    (
                        index
                        for index, (row, _) in enumerate(app.store.lines)
                        if row.decision.url.endswith("/api/wildcard")
                    ),
                    None,
                )

            await eventually(pilot, lambda: wildcard() is not None, "the page's requests")
            await pilot.click(RequestList, offset=(20, wildcard() + 1))  # line 0: the titles
            await pilot.press("t")
            shown = rendered(app.query_one(TraceView))
            line, column = marked_calls()["wildcard"]
            assert f"called from app.js:{line}:{column}" in shown
            assert "the browser: blocked WildcardOriginNotAllowed" in shown

            kill_group(bridge.pid)
            await eventually(pilot, lambda: "browser gone: wire only" in app.warnings, "the loss")
            assert "browser attached" not in app.source
            raw = (
                f"GET http://127.0.0.1:{backend_port}/api/after HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{backend_port}\r\nOrigin: http://localhost:{backend_port}\r\n"
                "Sec-Fetch-Mode: cors\r\nConnection: close\r\n\r\n"
            ).encode()
            answer = await asyncio.to_thread(fetch_through, proxy_port, raw)
            assert answer.startswith(b"HTTP/1.1 200")
            await eventually(
                pilot,
                lambda: any(r.decision.url.endswith("/api/after") for r in app.store.rows),
                "the request after the browser went",
            )
            assert any(r.decision.url.endswith("/api/wildcard") for r in app.store.rows)
            await pilot.press("q")
