"""`cors-inspector proxy --with-browser --firefox --headless`: real Firefox ESR attached over
WebDriver BiDi, real mitmproxy, the same real loopback backend and self-running page as the
Chromium bridge's test (tests/bridge/app.js). Firefox's verdict and reason (its console line)
must reach the proxy's log for the page's requests, and the proxy must go on with the wire
alone once Firefox is killed mid-session."""

from __future__ import annotations

import re
import signal
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.bridge.test_bridge import (
    CLI,
    case_of,
    goes_on_without_the_browser,
    kill_group,
    marked_calls,
    records,
    wait_for,
)
from tests.support import servers
from tests.support.live import wait_until_listening
from tests.support.paths import REPO

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path("/usr/bin/firefox-esr").exists(), reason="needs Debian's firefox-esr"
    ),
]


def unexplained(record: dict) -> bool:
    """Firefox and the wire-only verdict differ (by Firefox's reason name), and nothing says
    why."""
    theirs = record["browser_verdict"]
    if theirs is None or (theirs, record["browser_reason"]) == (
        record["verdict"],
        record["firefox_reason"] if theirs == "blocked" else None,
    ):
        return False
    settled = record["credentials_basis"].startswith("the browser:")
    return not (settled or "they disagree" in record["explanation"])


def test_the_firefox_bridge_reports_firefoxs_verdict_and_survives_firefox(tmp_path):
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
        browser = ["--with-browser", "--firefox", "--headless", "--url", page]
        proxy = servers.start(
            "proxy",
            [*CLI, "proxy", *options, *browser],
            stop_signal=signal.SIGINT,  # the proxy writes its last records and stops Firefox
            **common,
        )
        deadline = time.monotonic() + servers.READY_TIMEOUT_S
        (pid,) = wait_for(
            proxy,
            "Firefox's pid",
            lambda: re.findall(r"WebDriver BiDi \(pid (\d+)\)", proxy.log_path.read_text()),
            deadline,
        )
        firefox_pid = int(pid)
        stack.callback(kill_group, firefox_pid)  # should the proxy have failed to stop it

        def every_case() -> list[dict] | None:
            seen = records(log)
            cases = {case_of(r) for r in seen if r["kind"] == "actual"}  # sent or not
            return seen if set(marked_calls()) <= cases else None

        judged = wait_for(proxy, "every case of the page", every_case, deadline)

        # Firefox's word on every CORS request of the page, none unexplained.
        page_records = [r for r in judged if f":{backend_port}/api/" in r["url"]]
        assert all(r["browser_verdict"] is not None for r in page_records), [
            (r["method"], r["url"]) for r in page_records if r["browser_verdict"] is None
        ]
        assert [r for r in page_records if unexplained(r)] == []
        by_case = {case_of(r): r for r in page_records if r["kind"] == "actual"}
        # A refusal: blocked, with Firefox's own reason, the one the engine names for Firefox.
        blocked = [r for r in page_records if r["browser_verdict"] == "blocked"]
        assert {case_of(r) for r in blocked} == {"missing", "wildcard", "preflight-fails"}
        for record in blocked:
            assert record["browser_reason"] == record["firefox_reason"], record
        assert by_case["missing"]["browser_reason"] == "CORSMissingAllowOrigin"
        assert by_case["wildcard"]["browser_reason"] == "CORSNotSupportingCredentials"
        for case in ("allowed", "xhr-allowed", "preflight-passes", "done"):
            assert by_case[case]["browser_verdict"] == "allowed", by_case[case]
        # The actual request its failed preflight stopped: reported, never sent.
        unsent = by_case["preflight-fails"]
        assert (unsent["method"], unsent["sent"]) == ("PUT", False)
        assert [r for r in page_records if not r["sent"]] == [unsent]
        assert unsent["browser_reason"] == "CORSMissingAllowOrigin"
        assert unsent["verdict"] == "blocked"
        preflight = next(
            r for r in page_records if r["kind"] == "preflight" and case_of(r) == "preflight-fails"
        )
        assert (preflight["browser_verdict"], preflight["verdict"]) == ("blocked", "blocked")

        # Firefox dies mid-session: the proxy says so once and goes on with the wire.
        goes_on_without_the_browser(proxy, (proxy_port, backend_port), log, firefox_pid, deadline)
        proxy.stop()
        assert proxy.popen.returncode == 0, proxy.log_tail()
    final = records(log)
    assert {r["flow_id"] for r in judged} <= {r["flow_id"] for r in final}  # nothing lost
    assert proxy.log_path.read_text().count("going on with the wire alone") == 1
    assert "browser bridge: " in proxy.log_tail()
