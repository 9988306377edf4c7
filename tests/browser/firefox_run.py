"""The browser suite's cases in real Firefox ESR, through real mitmdump, driven over WebDriver BiDi.

Usage: ``python -m tests.browser.firefox_run OUTDIR`` writes ``OUTDIR/flows.mitm`` (every
flow, from mitmdump) and ``OUTDIR/firefox.json`` (what Firefox decided for each case).

Firefox's verdict is the page's outcome; on failure its reason is the console message it
logs ("Cross-Origin Request Blocked: ... (Reason: ...)"), one of the strings of its own
``security.properties`` (read from the installed omni.ja), named by its key without the
trailing digit (MDN's name). One browser, one tab per page origin, cases in sequence; the
console messages of failed cases are awaited together at the end, with a deadline.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import sys
import time
import zipfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mitmproxy import http, io

from cors_inspector.browsers.firefox import write_profile
from tests.support import servers
from tests.support.agreement import case_of
from tests.support.paths import REPO

from .bidi import BiDi, bidi_address
from .capture import FETCH_JS, Origins, origin_of, raw_table, start_helpers
from .cases import BACKENDS, CASES, PAGES, SESSION_COOKIE, Case

FIREFOX = Path("/usr/bin/firefox-esr")
OMNI_JA = Path("/usr/lib/firefox-esr/omni.ja")
SECURITY_PROPERTIES = "chrome/en-US/locale/en-US/global/security/security.properties"
# Firefox logs a CORS refusal asynchronously, up to ~3 s after the fetch rejects.
CONSOLE_TIMEOUT_S = 10.0
BLOCKED = "Cross-Origin Request Blocked:"


@functools.cache
def security_properties() -> dict[str, str]:
    """Firefox's own CORS console strings, key -> text (``%1$S``: the URL, ``%2$S``: a value)."""
    with zipfile.ZipFile(OMNI_JA) as omni:
        text = omni.read(SECURITY_PROPERTIES).decode()
    strings = dict(
        line.split("=", 1) for line in text.splitlines() if line.startswith("CORS") and "=" in line
    )
    return {key: value for key, value in strings.items() if value.startswith(BLOCKED)}


@functools.cache
def _message_patterns() -> list[tuple[str, re.Pattern[str]]]:
    patterns = []
    for key, template in security_properties().items():
        pattern = re.escape(template)
        pattern = pattern.replace(re.escape("%1$S"), "(?P<url>.*?)").replace(
            re.escape("%2$S"), "(?P<value>.*?)"
        )
        patterns.append((key, re.compile(pattern + "$")))
    return patterns


def reason_of(text: str) -> tuple[str, str | None] | None:
    """(MDN reason name, URL) of one of Firefox's CORS console messages, None for others."""
    for key, pattern in _message_patterns():
        if found := pattern.match(text):
            return key.rstrip("0123456789"), found.group("url")
    return None


@dataclass
class FirefoxRun:
    """What one Firefox run left behind."""

    outdir: Path
    cases: list[dict[str, Any]]

    @property
    def flows_path(self) -> Path:
        return self.outdir / "flows.mitm"

    @property
    def firefox_path(self) -> Path:
        return self.outdir / "firefox.json"

    def record(self, case_id: str) -> dict[str, Any]:
        return next(r for r in self.cases if r["id"] == case_id)

    def __repr__(self) -> str:  # keeps pytest's failure reports short
        return f"FirefoxRun({str(self.outdir)!r}, {len(self.cases)} cases)"

    @classmethod
    def load(cls, outdir: Path) -> FirefoxRun:
        return cls(outdir, json.loads((outdir / "firefox.json").read_text()))


def case_messages(entries: list[dict[str, Any]], case_id: str) -> list[dict[str, Any]]:
    """Firefox's CORS refusals for one case, in the order it logged them."""
    found = []
    for entry in entries:
        text = entry.get("text") or ""
        if text.startswith(BLOCKED) and (named := reason_of(text)):
            reason, url = named
            if url and case_of(url.strip("\u2018\u2019")) == case_id:
                found.append({"reason": reason, "url": url, "text": text})
    return found


async def run_case(client: BiDi, context: str, case: Case, origins: Origins) -> dict[str, Any]:
    url = origins.url(case)
    read = case.read_header[0] if case.read_header else None
    arguments = json.dumps([url, case.fetch_options(), read, case.via, case.cookie])
    runs = []
    for _ in range(case.repeat):
        expression = f"({FETCH_JS})({arguments}).then(JSON.stringify)"
        runs.append(await client.evaluate_json(context, expression))
    page_origin = origins.page_origin(case.page)
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
        "js": runs[-1],
        "js_runs": runs,
        "chromium_expect": case.expect,
    }


async def drive_firefox(address: str, origins: Origins, cases: Sequence[Case]) -> list[dict]:
    client = await BiDi.connect(address)
    try:
        context = await client.top_context()
        records = []
        # One page per origin; all of that origin's cases run in it, one after the other.
        for page_name in PAGES:
            page_cases = [case for case in cases if case.page == page_name]
            if not page_cases:
                continue
            await client.navigate(context, origins.page_url(page_name))
            if page_name != "file":
                cookie = json.dumps(f"{SESSION_COOKIE}; path=/")
                await client.evaluate_json(
                    context, f"Promise.resolve(JSON.stringify(document.cookie = {cookie}))"
                )
            for case in page_cases:
                records.append(await run_case(client, context, case, origins))
        # Only a failed fetch logs a refusal: wait for those, all together.
        failed = [r["id"] for r in records if "error" in r["js"]]
        await client.wait_for(
            lambda entries: all(case_messages(entries, case_id) for case_id in failed),
            time.monotonic() + CONSOLE_TIMEOUT_S,
        )
        for record in records:
            messages = case_messages(client.log_entries, record["id"])
            record["console_messages"] = messages
            record["firefox_verdict"], record["firefox_reason"] = firefox_verdict(
                record["js"], messages
            )
        return records
    finally:
        await client.close()


def firefox_verdict(js: dict[str, Any], messages: list[dict[str, Any]]) -> tuple[str, str | None]:
    """``(verdict, reason)``: the page's outcome; on failure, the first refusal logged."""
    if "error" in js:
        return ("blocked", messages[0]["reason"]) if messages else ("failed", None)
    return ("opaque", None) if js["type"] == "opaque" else ("allowed", None)


def note_cors_checked(records: list[dict[str, Any]], flows: Path) -> None:
    """A case is CORS-checked once any request it sent (beyond a preflight) left the page's
    origin: read from the flows Firefox sent."""
    hops: dict[str, list[str]] = {}
    with flows.open("rb") as f:
        for flow in io.FlowReader(f).stream():
            if not isinstance(flow, http.HTTPFlow):
                continue
            preflight = "access-control-request-method" in flow.request.headers
            if not preflight and (case_id := case_of(flow.request.url)):
                hops.setdefault(case_id, []).append(flow.request.url)
    for record in records:
        record["cors_checked"] = record["mode"] == "cors" and any(
            origin_of(url) != record["page_origin"] for url in hops.get(record["id"], [])
        )


def run_firefox_capture(outdir: Path, cases: Sequence[Case] = CASES) -> FirefoxRun:
    """Start everything, run the cases in Firefox, stop everything, write the results."""
    if not FIREFOX.exists():
        raise RuntimeError(
            f"{FIREFOX} is missing: the browser suite needs Debian's firefox-esr package "
            "(apt-get install firefox-esr); it never downloads a browser."
        )
    outdir.mkdir(parents=True, exist_ok=True)
    page_port, raw_port, proxy_port, *app_ports = servers.free_ports(3 + len(BACKENDS))
    file_page = outdir / "page.html"
    file_page.write_text("<!doctype html><html><body>file page</body></html>")
    origins = Origins(
        page_port, raw_port, proxy_port, dict(zip(BACKENDS, app_ports, strict=True)), file_page
    )
    table_path = outdir / "raw_table.json"
    table_path.write_text(json.dumps(raw_table(origins, cases), indent=1))
    profile = outdir / "profile"
    write_profile(profile, "127.0.0.1", proxy_port)

    with ExitStack() as stack:
        proxy = start_helpers(stack, origins, outdir, table_path, BACKENDS)
        argv = [str(FIREFOX), "--headless", "--remote-debugging-port=0", "--profile", str(profile)]
        firefox = servers.start("firefox", argv, stack=stack, log_dir=outdir / "logs", cwd=REPO)
        address = bidi_address(firefox, time.monotonic() + servers.READY_TIMEOUT_S)
        with ThreadPoolExecutor(1) as pool:  # its own event loop, even under pytest's
            records = pool.submit(asyncio.run, drive_firefox(address, origins, cases)).result()
        firefox.stop()
        proxy.stop()  # before the backends: flows.mitm is complete once it has exited

    run = FirefoxRun(outdir, records)
    note_cors_checked(records, run.flows_path)
    run.firefox_path.write_text(json.dumps(records, indent=1))
    return run


if __name__ == "__main__":
    started = time.monotonic()
    result = run_firefox_capture(Path(sys.argv[1]).resolve())
    blocked = sum(r["firefox_verdict"] == "blocked" for r in result.cases)
    print(
        f"{len(result.cases)} cases in {time.monotonic() - started:.1f}s, {blocked} blocked by "
        f"Firefox; flows in {result.flows_path}"
    )
