"""`cors-inspector browser` starts Chromium (or Firefox, with --firefox) pointed at
`cors-inspector proxy`: the page's requests are judged (real browser, real proxy, real
loopback backend), and Firefox's throwaway profile trusts mitmproxy's CA for itself only."""

import contextlib
import json
import re
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.support import servers
from tests.support.live import start_backend, wait_until_listening
from tests.support.paths import REPO

pytestmark = pytest.mark.browser
CLI = [sys.executable, "-m", "cors_inspector"]
PROFILE = re.compile(r"throwaway profile (\S+)\)")


def wait_for_blocked(proxy: servers.Process, log: Path, deadline: float) -> dict:
    """The proxy's logged decision for the page's /blocked request, once it is there."""
    records: list[dict] = []
    while not any(r["url"].endswith("/blocked") for r in records):
        assert time.monotonic() < deadline, f"no decision logged:\n{proxy.log_tail()}"
        with contextlib.suppress(subprocess.TimeoutExpired):
            proxy.popen.wait(timeout=0.1)  # the poll interval; returns at once if it died
            pytest.fail(f"the proxy exited:\n{proxy.log_tail()}")
        if log.exists():
            records = [json.loads(line) for line in log.read_text().splitlines()]
    (judged,) = [r for r in records if r["url"].endswith("/blocked")]
    return judged


@pytest.mark.parametrize(
    ("options", "browser"),
    [([], "chromium"), (["--firefox"], "firefox")],
    ids=["chromium", "firefox"],
)
def test_browser_command_sends_the_page_through_the_proxy(tmp_path, options, browser):
    if browser == "firefox" and shutil.which("certutil") is None:
        pytest.fail("certutil missing: apt-get install libnss3-tools", pytrace=False)
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
        command = servers.start(
            "browser",
            [*CLI, "browser", "--headless", "--proxy-port", str(proxy_port), *options, page],
            **common,
        )
        judged = wait_for_blocked(proxy, log, deadline)
        (profile,) = PROFILE.findall(command.log_path.read_text())
        profile = Path(profile)
        if browser == "firefox":
            # mitmproxy's CA is in this profile's own NSS database, trusted for web sites.
            listed = subprocess.run(
                ["certutil", "-L", "-d", f"sql:{profile}"],
                capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            assert re.search(r"^mitmproxy\s+C,,\s*$", listed, re.MULTILINE), listed
            assert (
                'network.proxy.allow_hijacking_localhost", true'
                in (profile / "user.js").read_text()
            )
        command.stop()
    assert (judged["verdict"], judged["reason"]) == ("blocked", "MissingAllowOriginHeader")
    assert judged["origin"] == f"http://localhost:{backend_port}"
    assert judged["browser"] == browser
    if browser == "firefox":
        assert judged["firefox_console_message"].startswith("Cross-Origin Request Blocked:")
    assert not profile.exists(), "the throwaway profile outlived the browser"
