"""Chromium records its own NetLog while it makes credentialed and preflighted requests.

No proxy: Chromium talks to the raw backend directly and writes ``--log-net-log``; CDP reports
its verdict (``Network.loadingFailed.corsErrorStatus``) for every request, the never-sent ones
included. Each case is a fetch, an XHR or an image, from ``http://localhost:<page>`` to the
raw backend as ``localhost`` (the page's cookie goes along with credentials) or as
``127.0.0.1`` (no cookie for it: credentials that send nothing).

Usage: ``python -m tests.browser.netlog_run OUTDIR [Everything|IncludeSensitive|Default]``
writes ``OUTDIR/netlog-<mode>.json`` and ``OUTDIR/chromium-<mode>.json``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import Page, async_playwright

from tests.support import servers
from tests.support.paths import REPO

from .capture import CASE_TIMEOUT_S, CHROMIUM, CHROMIUM_ARGS, FETCH_JS
from .cases import Header, Reply, acac, acah, acam, acao
from .network_log import NetworkLog

XHR_JS = """([url, method]) => new Promise(resolve => {
  const xhr = new XMLHttpRequest();
  xhr.open(method, url);
  xhr.withCredentials = true;
  xhr.onload = () => resolve({ok: true, status: xhr.status});
  xhr.onerror = () => resolve({error: 'xhr error'});
  xhr.send();
})"""
IMG_JS = """([url]) => new Promise(resolve => {
  const img = new Image();
  img.crossOrigin = 'use-credentials';
  img.onload = () => resolve({ok: true});
  img.onerror = () => resolve({error: 'img error'});
  img.src = url;
})"""
MODES = ("Everything", "Default")


@dataclass(frozen=True)
class NetLogCase:
    """One request (``repeat`` times) by ``kind``: fetch, xhr (withCredentials) or img
    (crossorigin=use-credentials), to the raw backend as ``target`` (raw: with the page's
    cookie; raw_ip: none)."""

    id: str
    actual: tuple[Header, ...]
    preflight: tuple[Header, ...] | None = None
    preflight_status: int = 204
    kind: str = "fetch"
    target: str = "raw"
    method: str = "GET"
    credentials: str = "same-origin"
    headers: tuple[Header, ...] = ()
    repeat: int = 1

    def js(self, url: str) -> tuple[str, list[Any]]:
        if self.kind == "xhr":
            return XHR_JS, [url, self.method]
        if self.kind == "img":
            return IMG_JS, [url]
        options = {
            "method": self.method,
            "credentials": self.credentials,
            "headers": [list(header) for header in self.headers],
        }
        return FETCH_JS, [url, options, None]


def _include(id: str, *actual: Header, **kw: Any) -> NetLogCase:
    return NetLogCase(id, actual, credentials="include", **kw)


def _put(id: str, *preflight: Header, **kw: Any) -> NetLogCase:
    return NetLogCase(id, (acao(), acac()), preflight, method="PUT", **kw)


IP = "raw_ip"
LOCATION = ("Location", "http://localhost:1/elsewhere")
CASES: list[NetLogCase] = [
    NetLogCase("omit-star", (acao("*"),), credentials="omit"),
    NetLogCase("same-origin-echo", (acao(),)),
    _include("include-star-cookie", acao("*")),
    _include("include-echo-cookie", acao()),
    _include("include-echo-acac-cookie", acao(), acac()),
    _include("include-star-no-cookie", acao("*"), target=IP),
    _include("include-echo-no-cookie", acao(), target=IP),
    _include("include-echo-acac-True", acao(), acac("True"), target=IP),
    NetLogCase("xhr-star", (acao("*"),), kind="xhr", target=IP),
    NetLogCase("xhr-echo-acac", (acao(), acac()), kind="xhr", target=IP),
    NetLogCase("img-echo", (acao(),), kind="img"),
    NetLogCase("img-echo-acac", (acao(), acac()), kind="img"),
    # Preflights: each CORS_PREFLIGHT_ERROR number Chromium can be made to log.
    _put("put-passes", acao(), acam("PUT"), acac()),
    _put("put-cached", acao(), acam("PUT"), acac(), ("Access-Control-Max-Age", "600"), repeat=2),
    _put("put-method-disallowed", acao(), acam("GET")),
    _put("put-header-disallowed", acao(), acam("PUT"), headers=(("X-Custom", "1"),)),
    _put("put-status-500", acao(), acam("PUT"), preflight_status=500),
    _put("put-redirect", acao(), LOCATION, preflight_status=302),
    _put("put-no-acao", acam("PUT")),
    _put("put-two-origins", acao("{origin}, http://example.com"), acam("PUT")),
    _put("put-empty-acao", acao(""), acam("PUT")),
    _put("put-other-origin", acao("http://example.com"), acam("PUT")),
    _put("put-bad-methods", acao(), acam("PU T")),
    _put("put-bad-headers", acao(), acam("PUT"), acah("x custom"), headers=(("X-Custom", "1"),)),
    _put("put-include-star", acao("*"), acam("PUT"), credentials="include"),
    _put("put-include-no-acac", acao(), acam("PUT"), credentials="include"),
    _put("put-include-no-acac-no-cookie", acao(), acam("PUT"), credentials="include", target=IP),
    _put("put-include-acac", acao(), acam("PUT"), acac(), credentials="include"),
]


@dataclass
class NetLogRun:
    """One Chromium run's NetLog and what CDP said of each request."""

    netlog: Path
    requests: list[dict[str, Any]] = field(default_factory=list)  # one per CDP request


def raw_table(cases: list[NetLogCase], origin: str) -> dict[str, Any]:
    fill = {"origin": origin}
    return {
        case.id: {
            "main": {
                "preflight": case.preflight is not None
                and Reply(case.preflight_status, case.preflight).to_json(fill),
                "actual": Reply(200, case.actual, "ok").to_json(fill),
            }
        }
        for case in cases
    }


async def _run_case(page: Page, log: NetworkLog, case: NetLogCase, base: str) -> list[dict]:
    url = f"{base}/data?case={case.id}"
    script, args = case.js(url)
    outcomes = [await page.evaluate(script, args) for _ in range(case.repeat)]
    await log.settle(case.id, case.repeat, time.monotonic() + CASE_TIMEOUT_S)
    return [
        {
            "case": case.id,
            "method": request.method,
            "is_preflight": request.is_preflight,
            "cors_error": (request.cors_error or {}).get("corsError"),
            "error_text": request.error_text,
            "js": outcomes,
        }
        for request in log.for_case(case.id)
    ]


async def _drive(netlog: Path, mode: str, page_port: int, raw_port: int) -> list[dict]:
    bases = {"raw": f"http://localhost:{raw_port}", "raw_ip": f"http://127.0.0.1:{raw_port}"}
    records: list[dict] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[*CHROMIUM_ARGS, f"--log-net-log={netlog}", f"--net-log-capture-mode={mode}"],
        )
        page = await browser.new_page()
        cdp = await page.context.new_cdp_session(page)
        log = NetworkLog()
        log.attach(cdp)
        await cdp.send("Network.enable")
        await page.goto(f"http://localhost:{page_port}/")
        await page.evaluate("document.cookie = 'sid=netlog-session; path=/'")
        for case in CASES:
            records += await _run_case(page, log, case, bases[case.target])
        await browser.close()  # Chromium completes the NetLog file as it exits
    return records


def run(outdir: Path, mode: str) -> NetLogRun:
    """Start the raw backend, run every case in a fresh Chromium, stop the backend."""
    outdir.mkdir(parents=True, exist_ok=True)
    page_port, raw_port = servers.free_ports(2)
    table = outdir / "netlog_table.json"
    table.write_text(json.dumps(raw_table(CASES, f"http://localhost:{page_port}")))
    netlog = outdir / f"netlog-{mode}.json"
    logs = outdir / "logs"
    logs.mkdir(exist_ok=True)
    with ExitStack() as stack:
        argv = [sys.executable, "-m", "tests.browser.raw_backend", str(table)]
        backend = servers.start(
            f"raw_backend-{mode}",
            [*argv, str(page_port), str(raw_port)],
            stack=stack,
            log_dir=logs,
            cwd=REPO,
        )
        deadline = time.monotonic() + servers.READY_TIMEOUT_S
        for port in (page_port, raw_port):
            backend.wait_for_port(port, deadline)
        # A worker thread gets its own event loop even if the caller (pytest) runs one.
        with ThreadPoolExecutor(1) as pool:
            future = pool.submit(asyncio.run, _drive(netlog, mode, page_port, raw_port))
            requests = future.result()
    (outdir / f"chromium-{mode}.json").write_text(json.dumps(requests, indent=1))
    return NetLogRun(netlog, requests)


if __name__ == "__main__":
    result = run(Path(sys.argv[1]).resolve(), sys.argv[2] if len(sys.argv) > 2 else "Everything")
    print(f"{len(result.requests)} requests; NetLog in {result.netlog}")
