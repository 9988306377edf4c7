"""Where the addon prints its lines, for real: a bare `mitmdump -s addons/cors_inspector.py`
prints them (its `cors_print` is `auto`), and so does `cors-inspector proxy` (it sets `on`)."""

import signal
import sys
from contextlib import ExitStack
from pathlib import Path

from tests.live.test_passive import REQUESTS
from tests.support import servers
from tests.support.live import (
    ADDON,
    fetch_through,
    start_backend,
    start_mitmdump,
    wait_until_listening,
)
from tests.support.paths import REPO


def printed_through(tmp_path: Path, start_proxy) -> str:
    """What the proxy started by `start_proxy(stack)` printed while one blocked request went
    through it, read once it has stopped (which writes out its last lines)."""
    with ExitStack() as stack:
        backend, backend_port = start_backend(stack, tmp_path)
        proxy, proxy_port = start_proxy(stack)
        wait_until_listening((backend, backend_port), (proxy, proxy_port))
        raw = REQUESTS["blocked"].replace(b"{port}", str(backend_port).encode())
        fetch_through(proxy_port, raw)
        proxy.stop()
        return proxy.log_path.read_text(errors="replace")


def test_mitmdump_with_the_script_prints_a_line_per_decision(tmp_path):
    printed = printed_through(
        tmp_path, lambda stack: start_mitmdump(stack, tmp_path, "-s", str(ADDON))
    )
    assert "✘ blocked" in printed and "MissingAllowOriginHeader" in printed


def test_the_proxy_command_prints_a_line_per_decision(tmp_path):
    def start(stack: ExitStack) -> tuple[servers.Process, int]:
        (port,) = servers.free_ports(1)
        argv = [sys.executable, "-m", "cors_inspector", "proxy", "--listen-port", str(port)]
        process = servers.start(
            "proxy", argv, stack=stack, log_dir=tmp_path, cwd=REPO, stop_signal=signal.SIGINT
        )
        return process, port

    printed = printed_through(tmp_path, start)
    assert "✘ blocked" in printed and "MissingAllowOriginHeader" in printed
