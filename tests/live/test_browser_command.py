"""`cors-inspector browser` starts Chromium pointed at `cors-inspector proxy`: the page's
requests are judged (real Chromium, real proxy, real loopback backend)."""

import contextlib
import json
import subprocess
import sys
import time
from contextlib import ExitStack

import pytest

from tests.support import servers
from tests.support.live import start_backend, wait_until_listening
from tests.support.paths import REPO

pytestmark = pytest.mark.browser
CLI = [sys.executable, "-m", "cors_inspector"]


def test_browser_command_sends_the_page_through_the_proxy(tmp_path):
    (proxy_port,) = servers.free_ports(1)
    log = tmp_path / "decisions.jsonl"
    with ExitStack() as stack:
        common = {"stack": stack, "log_dir": tmp_path, "cwd": REPO}
        backend, backend_port = start_backend(stack, tmp_path)
        proxy = servers.start(
            "proxy", [*CLI, "proxy", "--listen-port", str(proxy_port), "--log", str(log)], **common
        )
        wait_until_listening((backend, backend_port), (proxy, proxy_port))
        deadline = time.monotonic() + servers.READY_TIMEOUT_S
        page = f"http://localhost:{backend_port}/page"
        servers.start(
            "browser",
            [*CLI, "browser", "--headless", "--proxy-port", str(proxy_port), page],
            **common,
        )
        records: list[dict] = []
        while not any(r["url"].endswith("/blocked") for r in records):
            assert time.monotonic() < deadline, f"no decision logged:\n{proxy.log_tail()}"
            with contextlib.suppress(subprocess.TimeoutExpired):
                proxy.popen.wait(timeout=0.1)  # the poll interval; returns at once if it died
                pytest.fail(f"the proxy exited:\n{proxy.log_tail()}")
            if log.exists():
                records = [json.loads(line) for line in log.read_text().splitlines()]
    (judged,) = [r for r in records if r["url"].endswith("/blocked")]
    assert (judged["verdict"], judged["reason"]) == ("blocked", "MissingAllowOriginHeader")
    assert judged["origin"] == f"http://localhost:{backend_port}"
