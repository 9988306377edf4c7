"""The addon is passive: the bytes a client receives through mitmdump are the same with and
without it, for allowed and blocked requests (real mitmdump, real loopback backend)."""

import socket
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from tests.browser import servers
from tests.browser.capture import REPO, mitmdump

ADDON = REPO / "addons" / "cors_inspector.py"
REQUESTS = {
    "allowed": b"GET http://127.0.0.1:{port}/allowed HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    b"Origin: http://localhost:3000\r\nSec-Fetch-Mode: cors\r\nConnection: close\r\n\r\n",
    "blocked": b"GET http://127.0.0.1:{port}/blocked HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    b"Origin: http://localhost:3000\r\nSec-Fetch-Mode: cors\r\nCookie: sid=1\r\n"
    b"Connection: close\r\n\r\n",
    "preflight": b"OPTIONS http://127.0.0.1:{port}/preflight HTTP/1.1\r\n"
    b"Host: 127.0.0.1:{port}\r\nOrigin: http://localhost:3000\r\n"
    b"Access-Control-Request-Method: PUT\r\nConnection: close\r\n\r\n",
}


def fetch_through(proxy_port: int, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", proxy_port), timeout=10) as conn:
        conn.sendall(raw)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def run(with_addon: bool, tmp_path: Path) -> tuple[dict[str, bytes], str]:
    backend_port, proxy_port = servers.free_ports(2)
    log = tmp_path / f"decisions-{with_addon}.jsonl"
    with ExitStack() as stack:
        common = {"stack": stack, "log_dir": tmp_path, "cwd": REPO}
        backend = servers.start(
            f"backend-{with_addon}",
            [sys.executable, "-m", "tests.live.fixed_backend", str(backend_port)],
            **common,
        )
        argv = [
            mitmdump(),
            "--listen-host",
            "127.0.0.1",
            "-p",
            str(proxy_port),
            "--set",
            "flow_detail=0",
        ]
        if with_addon:
            argv += ["-s", str(ADDON), "--set", f"cors_log={log}"]
        proxy = servers.start(f"mitmdump-{with_addon}", argv, **common)
        deadline = time.monotonic() + servers.READY_TIMEOUT_S
        backend.wait_for_port(backend_port, deadline)
        proxy.wait_for_port(proxy_port, deadline)
        received = {
            name: fetch_through(proxy_port, raw.replace(b"{port}", str(backend_port).encode()))
            for name, raw in REQUESTS.items()
        }
        proxy.stop()  # flushes the addon's last decisions
        output = proxy.log_tail(50)
    # The port differs between runs; nothing else may.
    return {k: v.replace(str(backend_port).encode(), b"PORT") for k, v in received.items()}, (
        log.read_text() if with_addon else output
    )


def test_bytes_received_are_identical_with_and_without_the_addon(tmp_path):
    without, _ = run(False, tmp_path)
    with_addon, log = run(True, tmp_path)
    assert with_addon == without
    assert without["allowed"].endswith(b'{"items":3}')
    assert b"Set-Cookie: sid=abc" in with_addon["blocked"]  # judged blocked, delivered as is
    # ...and the addon did judge them.
    assert '"reason":"MissingAllowOriginHeader"' in log
    assert '"reason":"PreflightMissingAllowOriginHeader"' in log
