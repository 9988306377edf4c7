"""`cors-inspector browser --proxy-port P` attached to a running `cors-inspector proxy`: real
Chromium over its own DevTools pipe (or real Firefox ESR over WebDriver BiDi, `--firefox`),
its word reported to the proxy over the loopback endpoint its token file names, real
mitmproxy, the self-running page of tests/bridge. The proxy's log carries the browser's word;
its file goes with the proxy."""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import servers
from tests.support.live import wait_until_listening
from tests.support.paths import REPO

from .test_bridge import CLI, case_of, kill_group, marked_calls, records, wait_for

pytestmark = pytest.mark.browser


@dataclass
class Attached:
    proxy: servers.Process
    browser: servers.Process
    log: Path
    token_file: Path
    judged: list[dict]  # the log once every case of the page is in it
    by_case: dict[str, dict]  # the page's actual requests (sent or not), by case


@contextmanager
def attached_browser(tmp_path: Path, *browser_options: str) -> Iterator[Attached]:
    """A proxy, the backend, and `cors-inspector browser --headless OPTIONS` attached to the
    proxy, once the page's every case is in the proxy's log."""
    backend_port, proxy_port = servers.free_ports(2)
    log = tmp_path / "decisions.jsonl"
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
    token_file = runtime / "cors-inspector" / f"bridge-{proxy_port}.json"
    with ExitStack() as stack:
        common = {"stack": stack, "log_dir": tmp_path, "cwd": REPO, "env": env}
        backend = servers.start(
            "backend", [sys.executable, "-m", "tests.bridge.backend", str(backend_port)], **common
        )
        options = ["--listen-port", str(proxy_port), "--log", str(log), "--all"]
        proxy = servers.start(
            "proxy", [*CLI, "proxy", *options], stop_signal=signal.SIGINT, **common
        )
        wait_until_listening((backend, backend_port), (proxy, proxy_port))
        deadline = time.monotonic() + servers.READY_TIMEOUT_S
        wait_for(proxy, "the proxy's attach file", token_file.exists, deadline)

        page = f"http://localhost:{backend_port}/page"
        argv = [*CLI, "browser", "--headless", *browser_options, "--proxy-port", str(proxy_port)]
        browser = servers.start("browser", [*argv, page], **common)  # SIGTERM: it stops its own
        (pid,) = wait_for(
            browser,  # its log says why, should it start unattached
            "the attached browser's pid",
            lambda: re.findall(r"attached over .* \(pid (\d+)\)", browser.log_path.read_text()),
            deadline,
        )
        stack.callback(kill_group, int(pid))  # should the command have failed to stop it

        def every_case() -> list[dict] | None:
            seen = records(log)
            cases = {case_of(r) for r in seen if r["kind"] == "actual"}
            return seen if set(marked_calls()) <= cases else None

        # The page's cases get their own time: Chromium's start-up on a loaded machine took
        # most of the first deadline once.
        deadline = time.monotonic() + servers.READY_TIMEOUT_S
        judged = wait_for(proxy, "every case of the page", every_case, deadline)
        assert browser.popen.poll() is None, browser.log_tail()
        assert "a browser attached" in proxy.log_path.read_text()
        page_records = [r for r in judged if f":{backend_port}/" in r["url"]]
        assert all(r["browser_verdict"] is not None for r in page_records), [
            (r["method"], r["url"]) for r in page_records if r["browser_verdict"] is None
        ]
        by_case = {case_of(r): r for r in page_records if r["kind"] == "actual"}
        yield Attached(proxy, browser, log, token_file, judged, by_case)

        browser.stop()  # the browser command goes: the proxy says so and goes on
        assert browser.popen.returncode == 0, browser.log_tail()
        wait_for(
            proxy,
            "the detached browser's line",
            lambda: "going on with the wire alone" in proxy.log_path.read_text(),
            time.monotonic() + servers.READY_TIMEOUT_S,
        )
        assert token_file.exists()  # another browser may attach
        proxy.stop()
        assert proxy.popen.returncode == 0, proxy.log_tail()
        assert not token_file.exists()  # removed when the proxy stops
    assert {r["flow_id"] for r in judged} <= {r["flow_id"] for r in records(log)}


def test_the_browser_command_attaches_to_the_running_proxy_and_reports_its_verdicts(tmp_path):
    with attached_browser(tmp_path) as run:
        by_case = run.by_case
        assert "(cors-inspector browser: chromium)" in run.proxy.log_path.read_text()
        assert by_case["missing"]["browser_reason"] == "MissingAllowOriginHeader"
        assert by_case["wildcard"]["browser_reason"] == "WildcardOriginNotAllowed"
        assert by_case["allowed"]["browser_verdict"] == "allowed"
        unsent = by_case["preflight-fails"]
        assert (unsent["sent"], unsent["browser_reason"]) == (
            False,
            "PreflightMissingAllowOriginHeader",
        )
        line, column = marked_calls()["allowed"]
        initiator = by_case["allowed"]["initiator"]
        assert (initiator["line"], initiator["column"]) == (line, column)


@pytest.mark.skipif(not Path("/usr/bin/firefox-esr").exists(), reason="needs Debian's firefox-esr")
def test_the_firefox_launcher_attaches_too_and_reports_firefoxs_verdicts(tmp_path):
    with attached_browser(tmp_path, "--firefox") as run:
        by_case = run.by_case
        assert "(cors-inspector browser: firefox)" in run.proxy.log_path.read_text()
        assert by_case["missing"]["browser_reason"] == "CORSMissingAllowOrigin"
        assert by_case["wildcard"]["browser_reason"] == "CORSNotSupportingCredentials"
        for case in ("allowed", "xhr-allowed", "preflight-passes", "done"):
            assert by_case[case]["browser_verdict"] == "allowed", by_case[case]
        unsent = by_case["preflight-fails"]
        assert (unsent["method"], unsent["sent"], unsent["browser_reason"]) == (
            "PUT",
            False,
            "CORSMissingAllowOrigin",
        )
        assert by_case["allowed"]["initiator"] is None  # Firefox's BiDi names no script line
