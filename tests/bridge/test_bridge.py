"""`cors-inspector proxy --with-browser --headless`: real Chromium attached over its DevTools
pipe, real mitmproxy, a real loopback backend. The page runs its cases by itself on load
(tests/bridge/app.js); the proxy's log must carry the browser's word on every request, and
go on with the wire alone once the browser is killed mid-session."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.support import servers
from tests.support.live import fetch_through, wait_until_listening
from tests.support.paths import REPO

pytestmark = pytest.mark.browser
CLI = [sys.executable, "-m", "cors_inspector"]
APP = Path(__file__).with_name("app.js")
CALL = re.compile(r"\b(fetch|send)\(")


def marked_calls() -> dict[str, tuple[int, int]]:
    """`case: NAME` -> the 1-based line and column of the fetch()/send() call on that line."""
    calls = {}
    for number, line in enumerate(APP.read_text().splitlines(), 1):
        if mark := re.search(r"// case: ([\w-]+)$", line):
            calls[mark.group(1)] = (number, CALL.search(line).start() + 1)
    return calls


def records(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def wait_for(proxy: servers.Process, what: str, done, deadline: float):
    """Poll `done()` until it returns something true; fail if the proxy died or time ran out."""
    while not (result := done()):
        assert time.monotonic() < deadline, f"{what}: not seen in time:\n{proxy.log_tail()}"
        with contextlib.suppress(subprocess.TimeoutExpired):
            proxy.popen.wait(timeout=0.1)  # the poll interval; returns at once if it died
            pytest.fail(f"the proxy exited while waiting for {what}:\n{proxy.log_tail()}")
    return result


def kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def case_of(record: dict) -> str | None:
    path = record["url"].split("/api/", 1)
    return path[1] if len(path) == 2 and "127.0.0.1" in record["url"] else None


def unexplained(record: dict) -> bool:
    """The browser and the wire-only verdict differ, and nothing says why."""
    theirs = record["browser_verdict"]
    if theirs is None or (theirs, record["browser_reason"]) == (
        record["verdict"],
        record["reason"] if theirs == "blocked" else None,
    ):
        return False
    settled = record["credentials_basis"].startswith("the browser:")
    flagged = "they disagree" in record["explanation"]
    return not (settled or flagged)


def goes_on_without_the_browser(
    proxy: servers.Process, ports: tuple[int, int], log: Path, browser_pid: int, deadline: float
) -> None:
    """Kill the browser mid-session: the proxy says so and judges the next request (to the
    backend at ports[1]) with the wire alone."""
    proxy_port, backend_port = ports
    kill_group(browser_pid)
    wait_for(
        proxy,
        "the lost browser's line",
        lambda: "going on with the wire alone" in proxy.log_path.read_text(),
        deadline + servers.READY_TIMEOUT_S,
    )
    answer = fetch_through(
        proxy_port,
        f"GET http://127.0.0.1:{backend_port}/api/after HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{backend_port}\r\nOrigin: http://localhost:{backend_port}\r\n"
        "Connection: close\r\n\r\n".encode(),
    )
    assert answer.startswith(b"HTTP/1.1 200")
    after = wait_for(
        proxy,
        "the request after the browser died",
        lambda: [r for r in records(log) if case_of(r) == "after"],
        deadline + 2 * servers.READY_TIMEOUT_S,
    )
    assert after[0]["verdict"] == "allowed" and after[0]["browser_verdict"] is None


def test_the_bridge_reports_the_browsers_verdict_and_survives_the_browser(tmp_path):
    backend_port, proxy_port = servers.free_ports(2)
    log = tmp_path / "decisions.jsonl"
    page = f"http://localhost:{backend_port}/page"
    with ExitStack() as stack:
        common = {"stack": stack, "log_dir": tmp_path, "cwd": REPO}
        backend = servers.start(
            "backend", [sys.executable, "-m", "tests.bridge.backend", str(backend_port)], **common
        )
        wait_until_listening((backend, backend_port))
        options = ["--listen-port", str(proxy_port), "--log", str(log), "--all"]
        proxy = servers.start(
            "proxy",
            [*CLI, "proxy", *options, "--with-browser", "--headless", "--url", page],
            stop_signal=signal.SIGINT,  # the proxy writes its last records and stops the browser
            **common,
        )
        deadline = time.monotonic() + servers.READY_TIMEOUT_S
        (pid,) = wait_for(
            proxy,
            "the browser's pid",
            lambda: re.findall(r"DevTools pipe \(pid (\d+)\)", proxy.log_path.read_text()),
            deadline,
        )
        browser_pid = int(pid)
        stack.callback(kill_group, browser_pid)  # should the proxy have failed to stop it

        def every_case() -> list[dict] | None:
            seen = records(log)
            cases = {case_of(r) for r in seen if r["kind"] == "actual"}  # sent or not
            return seen if set(marked_calls()) <= cases else None

        judged = wait_for(proxy, "every case of the page", every_case, deadline)

        # The browser's word on every request of the page, none unexplained.
        page_records = [r for r in judged if f":{backend_port}/" in r["url"]]
        assert all(r["browser_verdict"] is not None for r in page_records), [
            (r["method"], r["url"]) for r in page_records if r["browser_verdict"] is None
        ]
        assert [r for r in page_records if unexplained(r)] == []
        by_case = {case_of(r): r for r in page_records if r["kind"] == "actual"}
        assert by_case["missing"]["browser_reason"] == "MissingAllowOriginHeader"
        assert by_case["wildcard"]["browser_reason"] == "WildcardOriginNotAllowed"
        assert by_case["allowed"]["browser_verdict"] == "allowed"
        # The actual request its failed preflight stopped: reported, never sent.
        unsent = by_case["preflight-fails"]
        assert (unsent["method"], unsent["sent"]) == ("PUT", False)
        assert [r for r in page_records if not r["sent"]] == [unsent]
        assert unsent["browser_reason"] == "PreflightMissingAllowOriginHeader"
        assert unsent["verdict"] == "blocked"
        # Every fetch()/XHR points at its own line and column of app.js.
        for case, (line, column) in marked_calls().items():
            initiator = by_case[case]["initiator"]
            assert initiator["url"] == f"http://localhost:{backend_port}/app.js", case
            assert (initiator["line"], initiator["column"]) == (line, column), case
            assert initiator["stack"][0]["line"] == line

        # The browser dies mid-session: the proxy says so once and goes on with the wire.
        goes_on_without_the_browser(proxy, (proxy_port, backend_port), log, browser_pid, deadline)
        proxy.stop()
        assert proxy.popen.returncode == 0, proxy.log_tail()
    final = records(log)
    assert {r["flow_id"] for r in judged} <= {r["flow_id"] for r in final}  # nothing lost
    assert proxy.log_path.read_text().count("going on with the wire alone") == 1
    assert "browser bridge: " in proxy.log_tail()
