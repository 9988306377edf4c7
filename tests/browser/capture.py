"""One browser run: real Chromium fetches every case through real mitmdump.

Usage: ``python -m tests.browser.capture OUTDIR`` writes ``OUTDIR/flows.mitm`` (every flow,
from mitmdump), ``OUTDIR/chromium.json`` (what Chromium decided for each case) and
``OUTDIR/decisions.jsonl`` (the live log of cors-inspector's mitmproxy addon, loaded into that
mitmdump), plus the raw backend's script and the helper processes' logs.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Page, async_playwright

from tests.support import servers
from tests.support.paths import ADDON, REPO, mitmdump

from .cases import BACKENDS, CASES, PAGES, SESSION_COOKIE, Case
from .network_log import NetworkLog
from .requirements import CHROMIUM

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Without this Chromium sends loopback traffic straight to the server, not the proxy.
    "--proxy-bypass-list=<-loopback>",
]
CASE_TIMEOUT_S = 10.0

# Runs inside the page.  Reading the body lets CDP report loadingFinished for the request.
# `via` picks fetch(), XMLHttpRequest (withCredentials for 'include') or <img crossorigin>;
# with `cookie` false, the page's cookie is cleared around the request and set again after.
FETCH_JS = """async ([url, options, readHeader, via, cookie]) => {
  if (cookie === false) document.cookie = "COOKIE_NAME=; max-age=0; path=/";
  try {
    if (via === "xhr") {
      return await new Promise((resolve) => {
        const xhr = new XMLHttpRequest();
        xhr.open(options.method, url);
        xhr.withCredentials = options.credentials === "include";
        for (const [name, value] of options.headers) xhr.setRequestHeader(name, value);
        xhr.onload = () => resolve({ok: xhr.status >= 200 && xhr.status < 300,
          status: xhr.status, type: "cors",
          readable_header_value: readHeader ? xhr.getResponseHeader(readHeader) : null});
        xhr.onerror = () => resolve({error: "XMLHttpRequest network error"});
        xhr.send(options.body ?? null);
      });
    }
    if (via === "img") {
      return await new Promise((resolve) => {
        const img = new Image();
        img.crossOrigin = options.credentials === "include" ? "use-credentials" : "anonymous";
        img.onload = () => resolve({ok: true, status: 200, type: "cors",
          readable_header_value: null});
        img.onerror = () => resolve({error: "image failed to load"});
        img.src = url;
      });
    }
    const response = await fetch(url, options);
    await response.arrayBuffer();
    return {ok: response.ok, status: response.status, type: response.type,
            readable_header_value: readHeader ? response.headers.get(readHeader) : null};
  } catch (e) {
    return {error: String(e)};
  } finally {
    if (cookie === false) document.cookie = "SESSION_COOKIE; path=/";
  }
}""".replace("COOKIE_NAME", SESSION_COOKIE.split("=")[0]).replace("SESSION_COOKIE", SESSION_COOKIE)


@dataclass
class RunResult:
    """What one browser run left behind."""

    outdir: Path
    cases: list[dict[str, Any]]

    @property
    def flows_path(self) -> Path:
        return self.outdir / "flows.mitm"

    @property
    def chromium_path(self) -> Path:
        return self.outdir / "chromium.json"

    @property
    def netlog_path(self) -> Path:
        """The same run as Chromium's own NetLog recorded it (--log-net-log)."""
        return self.outdir / "netlog.json"

    @property
    def har_path(self) -> Path:
        """The same run as Playwright's HAR recorder saw it."""
        return self.outdir / "run.har"

    @property
    def decisions_path(self) -> Path:
        """The addon's live JSONL log (runs made with ``live_log=True``)."""
        return self.outdir / "decisions.jsonl"

    @property
    def page_port(self) -> int | None:
        """The port the pages were served on (None if every case ran in the file page)."""
        ports = {urlsplit(r["page_origin"]).port for r in self.cases if r["page_origin"] != "null"}
        return ports.pop() if ports else None

    def record(self, case_id: str) -> dict[str, Any]:
        return next(r for r in self.cases if r["id"] == case_id)

    def __repr__(self) -> str:  # keeps pytest's failure reports short
        return f"RunResult({str(self.outdir)!r}, {len(self.cases)} cases)"

    @classmethod
    def load(cls, outdir: Path) -> RunResult:
        return cls(outdir, json.loads((outdir / "chromium.json").read_text()))


@dataclass(frozen=True)
class Origins:
    """Where everything listens in this run."""

    page_port: int
    raw_port: int
    proxy_port: int
    backend_ports: dict[str, int]
    file_page: Path

    def page_origin(self, page: str) -> str:
        return {
            "localhost": f"http://localhost:{self.page_port}",
            "ip": f"http://127.0.0.1:{self.page_port}",
            "file": "null",
        }[page]

    def page_url(self, page: str) -> str:
        return self.file_page.as_uri() if page == "file" else self.page_origin(page) + "/"

    @property
    def named(self) -> dict[str, str]:
        """The raw backend's origins (see the targets in cases.py)."""
        return {
            "raw": f"http://localhost:{self.raw_port}",
            "raw_ip": f"http://127.0.0.1:{self.raw_port}",
            "page": f"http://localhost:{self.page_port}",
        }

    def url(self, case: Case) -> str:
        if case.target == "same":
            base = self.page_origin(case.page)
        elif case.target in self.named:
            base = self.named[case.target]
        else:
            base = f"http://localhost:{self.backend_ports[case.target]}"
        return f"{base}{case.path}?case={case.id}"

    def fill(self, case: Case) -> dict[str, str]:
        """Values for the placeholders in the case's scripted headers."""
        return self.named | {
            "origin": self.page_origin(case.page),
            "raw_port": str(self.raw_port),
            "page_port": str(self.page_port),
            "id": case.id,
        }


def raw_table(origins: Origins, cases: Sequence[Case]) -> dict[str, Any]:
    """The raw backend's script for every case (see raw_backend.py)."""
    return {
        case.id: {
            name: {
                "preflight": step.preflight and step.preflight.to_json(origins.fill(case)),
                "actual": step.actual and step.actual.to_json(origins.fill(case)),
            }
            for name, step in case.steps.items()
        }
        for case in cases
    }


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def chromium_verdict(
    js: dict[str, Any], cors_errors: list[dict[str, Any]]
) -> tuple[str, str | None]:
    """``(verdict, corsError)`` from the fetch's JS outcome and the CDP CORS errors."""
    if "error" in js:
        if not cors_errors:
            return "failed", None
        # The actual request carries the error Chromium surfaces for the fetch.
        actual = [e for e in cors_errors if not e["is_preflight"]] or cors_errors
        return "blocked", actual[-1]["corsError"]
    return ("opaque", None) if js["type"] == "opaque" else ("allowed", None)


async def run_case(page: Page, log: NetworkLog, case: Case, origins: Origins) -> dict[str, Any]:
    url = origins.url(case)
    read = case.read_header[0] if case.read_header else None
    runs = []
    for _ in range(case.repeat):
        runs.append(
            await page.evaluate(FETCH_JS, [url, case.fetch_options(), read, case.via, case.cookie])
        )
    settled = await log.settle(case.id, case.repeat, time.monotonic() + CASE_TIMEOUT_S)
    requests = log.for_case(case.id)
    cors_errors = [
        {
            "url": r.urls[-1],
            "corsError": r.cors_error["corsError"],
            "failedParameter": r.cors_error.get("failedParameter"),
            "is_preflight": r.is_preflight,
        }
        for r in requests
        if r.cors_error
    ]
    verdict, reason = chromium_verdict(runs[-1], cors_errors)
    page_origin = origins.page_origin(case.page)
    hops = [u for r in requests if not r.is_preflight for u in r.urls]
    # CORS applies once any hop (including the never-sent one of redirect:'manual')
    # leaves the page's origin.
    cors_checked = case.mode == "cors" and any(origin_of(u) != page_origin for u in hops)
    return {
        "id": case.id,
        "url": url,
        "page_origin": page_origin,
        "method": case.method,
        "mode": case.mode,
        "credentials": case.credentials,
        "via": case.via,
        "cookie_stored": case.cookie,
        "redirect": case.redirect,
        "same_origin": origin_of(url) == page_origin,
        "cors_checked": cors_checked,
        "js": runs[-1],
        "js_runs": runs,
        "requests": [r.as_json() for r in requests],
        "preflights": sum(r.is_preflight for r in requests),
        "cdp_settled": settled,
        "cors_errors": cors_errors,
        "chromium_verdict": verdict,
        "chromium_reason": reason,
        "expect": case.expect,
        "departure": case.departure,
    }


async def drive_browser(
    origins: Origins, cases: Sequence[Case], har: Path | None = None, netlog: Path | None = None
) -> list[dict[str, Any]]:
    records = []
    netlog_args = [f"--log-net-log={netlog}", "--net-log-capture-mode=Everything"] * bool(netlog)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            proxy={"server": f"http://127.0.0.1:{origins.proxy_port}"},
            args=[*CHROMIUM_ARGS, *netlog_args],
        )
        context = await browser.new_context(record_har_path=har, record_har_content="omit")
        # One page per origin; all of that origin's cases run in it, one after the other.
        for page_name in PAGES:
            page_cases = [case for case in cases if case.page == page_name]
            if not page_cases:
                continue  # loading it would add a page-load flow nobody asked for
            page = await context.new_page()
            cdp = await context.new_cdp_session(page)
            log = NetworkLog()
            log.attach(cdp)
            await cdp.send("Network.enable")
            await page.goto(origins.page_url(page_name))
            if page_name != "file":
                # Host-only cookie; cookies ignore ports, so localhost backends get it too.
                await page.evaluate(f"document.cookie = '{SESSION_COOKIE}; path=/'")
            for case in page_cases:
                records.append(await run_case(page, log, case, origins))
            await page.close()
        await context.close()  # writes the HAR
        await browser.close()
    return records


def start_helpers(
    stack: ExitStack,
    origins: Origins,
    outdir: Path,
    table_path: Path,
    backends: Mapping[str, str],
    backend_env: Mapping[str, Mapping[str, str]] | None = None,
    live_log: bool = False,
) -> servers.Process:
    """Start the backends and mitmdump in parallel, wait until all listen; return mitmdump.

    ``backend_env`` adds environment variables per backend instance (e.g. ``CORS_CONFIG``);
    ``live_log`` loads cors-inspector's addon into mitmdump, logging every decision to
    ``decisions.jsonl``.
    """
    logs = outdir / "logs"
    logs.mkdir(exist_ok=True)
    env = os.environ | {"FRONTEND_ORIGIN": origins.page_origin("localhost")}
    common = {"stack": stack, "log_dir": logs, "cwd": REPO, "env": env}
    backend_env = backend_env or {}
    raw_ports = [origins.page_port, origins.raw_port]  # one process serves both
    argv = [sys.executable, "-m", "tests.browser.raw_backend", str(table_path)]
    argv += map(str, raw_ports)
    listening = [(servers.start("raw_backend", argv, **common), raw_ports)]
    for instance, app in backends.items():
        port = origins.backend_ports[instance]
        argv = [sys.executable, "-m", "tests.browser.apps", app, str(port)]
        extra = {"env": env | dict(backend_env.get(instance, {}))}
        listening.append((servers.start(instance, argv, **common | extra), [port]))
    argv = [
        mitmdump(), "--listen-host", "127.0.0.1", "-p", str(origins.proxy_port),
        "--set", "flow_detail=0", "--set", "connection_strategy=lazy",
        "-w", str(outdir / "flows.mitm"),
    ]  # fmt: skip
    if live_log:
        log_path = outdir / "decisions.jsonl"
        log_path.unlink(missing_ok=True)  # the addon appends
        argv += [
            "-s", str(ADDON),
            "--set", f"cors_log={log_path}", "--set", "cors_only=false",
        ]  # fmt: skip
    # SIGINT lets mitmdump finish writing the flow file (and the addon its log, in done()).
    proxy = servers.start("mitmdump", argv, stop_signal=signal.SIGINT, **common)
    # The backends exit together (run_capture stops mitmdump first, on its own).
    servers.stop_together(stack, [process for process, _ in listening])
    listening.append((proxy, [origins.proxy_port]))
    deadline = time.monotonic() + servers.READY_TIMEOUT_S
    for process, process_ports in listening:
        for port in process_ports:
            process.wait_for_port(port, deadline)
    return proxy


def run_capture(
    outdir: Path,
    cases: Sequence[Case] = CASES,
    backends: Mapping[str, str] = BACKENDS,
    *,
    page_port: int | None = None,
    backend_env: Mapping[str, Mapping[str, str]] | None = None,
    live_log: bool = False,
) -> RunResult:
    """Start everything, run the cases in Chromium, stop everything, write the results.

    ``backends`` maps each FastAPI backend instance the cases target to its app in apps.py;
    the defaults are the full suite.  Pages no case uses are never opened.  ``page_port``
    serves the pages on that port instead of a free one (a re-run whose backends must trust
    the page origins of an earlier run); ``backend_env`` and ``live_log``: see
    ``start_helpers``.
    """
    if not CHROMIUM.exists():
        raise RuntimeError(
            f"{CHROMIUM} is missing: the browser suite needs Debian's chromium package "
            "(apt-get install chromium); it never downloads a browser."
        )
    outdir.mkdir(parents=True, exist_ok=True)
    if page_port is None:
        page_port, raw_port, proxy_port, *app_ports = servers.free_ports(3 + len(backends))
    else:
        servers.claim(page_port)
        raw_port, proxy_port, *app_ports = servers.free_ports(2 + len(backends), page_port)
    file_page = outdir / "page.html"
    file_page.write_text("<!doctype html><html><body>file page</body></html>")
    backend_ports = dict(zip(backends, app_ports, strict=True))
    origins = Origins(page_port, raw_port, proxy_port, backend_ports, file_page)
    table_path = outdir / "raw_table.json"
    table_path.write_text(json.dumps(raw_table(origins, cases), indent=1))

    with ExitStack() as stack:
        proxy = start_helpers(stack, origins, outdir, table_path, backends, backend_env, live_log)
        # A worker thread gets its own event loop even if the caller (pytest) runs one.
        with ThreadPoolExecutor(1) as pool:
            records = pool.submit(
                asyncio.run,
                drive_browser(origins, cases, outdir / "run.har", outdir / "netlog.json"),
            ).result()
        proxy.stop()  # before the backends: flows.mitm is complete once it has exited

    result = RunResult(outdir, records)
    result.chromium_path.write_text(json.dumps(records, indent=1))
    return result


if __name__ == "__main__":
    started = time.monotonic()
    run = run_capture(Path(sys.argv[1]).resolve(), live_log=True)
    expected = sum(
        (r["chromium_reason"] or r["chromium_verdict"]) == r["expect"] for r in run.cases
    )
    print(
        f"{len(run.cases)} cases in {time.monotonic() - started:.1f}s, {expected} as the cases "
        f"expect; flows in {run.flows_path}"
    )
