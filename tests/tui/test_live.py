"""Live mode wired for real: mitmproxy in the app's thread worker, a loopback backend, one
request through the proxy, its row in the table, a clean quit."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from textual.pilot import Pilot

from cors_inspector.mitm.proxy import ProxySettings
from cors_inspector.tui.app import CorsInspectorApp
from cors_inspector.tui.store import Store
from tests.support import servers
from tests.support.live import fetch_through, start_backend, wait_until_listening

from .conftest import SIZE

DEADLINE_S = 30.0
# What a page on http://localhost:3000 sends with fetch(): the backend answers without
# Access-Control-Allow-Origin (tests/live/fixed_backend.py, /blocked).
REQUEST = (
    "GET http://127.0.0.1:{port}/blocked HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    "Origin: http://localhost:3000\r\nSec-Fetch-Mode: cors\r\nConnection: close\r\n\r\n"
)


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


async def eventually(pilot: Pilot, condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.05)


async def test_a_request_through_the_live_proxy_appears_in_the_table(tmp_path: Path):
    saved = tmp_path / "flows.mitm"
    with ExitStack() as stack:
        backend, backend_port = start_backend(stack, tmp_path)  # stopped by its pid
        wait_until_listening((backend, backend_port))
        (proxy_port,) = servers.free_ports(1, backend_port)
        settings = ProxySettings(listen_port=proxy_port, save=str(saved))
        app = CorsInspectorApp(Store(scope="cors"), proxy=settings)
        async with app.run_test(size=SIZE) as pilot:
            assert app.sub_title == f"live: proxy on http://127.0.0.1:{proxy_port}"
            await eventually(pilot, lambda: listening(proxy_port), "the proxy to listen")
            raw = REQUEST.format(port=backend_port).encode()
            answer = await asyncio.to_thread(fetch_through, proxy_port, raw)
            assert answer.endswith(b'{"items":3}')  # the proxy passed it through
            await eventually(pilot, lambda: app.store.rows, "the request's row")
            row = app.store.rows[0]
            assert row.decision.url == f"http://127.0.0.1:{backend_port}/blocked"
            assert row.decision.reason == "MissingAllowOriginHeader"
            line = app.query_one("#request-list").render_line(1).text
            assert "✘ blocked" in line and "MissingAllowOriginHeader" in line
            await pilot.press("q")
        assert not listening(proxy_port)  # the proxy's thread ended with the app
        assert not [worker for worker in app.workers if not worker.is_finished]
    assert saved.stat().st_size > 0  # --save reached the addon


async def test_a_proxy_that_cannot_start_says_so(tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = ProxySettings(listen_port=port, log=str(tmp_path / "decisions.jsonl"))
        app = CorsInspectorApp(Store(scope="cors"), proxy=settings)
        async with app.run_test(size=SIZE) as pilot:
            await eventually(pilot, lambda: app.proxy_failed, "the start-up failure")
            assert app.source == "○ proxy did not start"
            (problem,) = app.problems
            assert problem == (
                f"The proxy did not start: cannot listen on 127.0.0.1:{port}: address already "
                "in use; choose another port with --listen-port"
            )
            await pilot.press("q")
    bad_log = ProxySettings(listen_port=port, log="/nonexistent/dir/x.jsonl")
    app = CorsInspectorApp(Store(scope="cors"), proxy=bad_log)
    async with app.run_test(size=SIZE) as pilot:
        await eventually(pilot, lambda: app.proxy_failed, "the start-up failure")
        assert "cannot open the decision log /nonexistent/dir/x.jsonl" in app.problems[0]
        await pilot.press("q")


async def test_the_live_tui_says_when_a_browser_attaches_to_its_proxy_and_goes(
    tmp_path: Path, monkeypatch
):
    from cors_inspector.browsers.attach import AttachPoint, ReportChannel, read_attach_file
    from cors_inspector.tui.feed import BROWSER_ATTACHED

    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    (proxy_port,) = servers.free_ports(1)
    point = AttachPoint(proxy_port)
    app = CorsInspectorApp(Store(), proxy=ProxySettings(listen_port=proxy_port), companion=point)
    point.on_attached, point.on_lost = app.browser_attached, app.browser_detached
    async with app.run_test(size=SIZE) as pilot:
        await eventually(pilot, lambda: point.path is not None, "the attach file")
        assert BROWSER_ATTACHED not in app.source  # no browser yet
        channel = await asyncio.to_thread(ReportChannel, read_attach_file(proxy_port))
        await eventually(pilot, lambda: BROWSER_ATTACHED in app.source, "the attached browser")
        channel.close()
        await eventually(pilot, lambda: BROWSER_ATTACHED not in app.source, "the browser gone")
        assert app.warnings == []  # a browser that attached itself may come and go
        await pilot.press("q")
    assert not (runtime / "cors-inspector" / f"bridge-{proxy_port}.json").exists()
