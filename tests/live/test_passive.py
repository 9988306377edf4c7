"""The addon is passive: the bytes a client receives through mitmdump are the same with and
without it, for allowed and blocked requests (real mitmdump, real loopback backend)."""

from contextlib import ExitStack
from pathlib import Path

from tests.support.live import fetch_through, start_backend, start_mitmdump, wait_until_listening
from tests.support.live import with_addon as with_addon_options

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


def run(with_addon: bool, tmp_path: Path) -> tuple[dict[str, bytes], str]:
    log = tmp_path / f"decisions-{with_addon}.jsonl"
    with ExitStack() as stack:
        backend, backend_port = start_backend(stack, tmp_path, f"backend-{with_addon}")
        options = with_addon_options(log) if with_addon else []
        proxy, proxy_port = start_mitmdump(stack, tmp_path, *options, name=f"mitm-{with_addon}")
        wait_until_listening((backend, backend_port), (proxy, proxy_port))
        received = {
            name: fetch_through(proxy_port, raw.replace(b"{port}", str(backend_port).encode()))
            for name, raw in REQUESTS.items()
        }
        proxy.stop()  # flushes the addon's last decisions
    # The port differs between runs; nothing else may.
    received = {k: v.replace(str(backend_port).encode(), b"PORT") for k, v in received.items()}
    return received, log.read_text() if with_addon else ""


def test_bytes_received_are_identical_with_and_without_the_addon(tmp_path):
    without, _ = run(False, tmp_path)
    with_addon, log = run(True, tmp_path)
    assert with_addon == without
    assert without["allowed"].endswith(b'{"items":3}')
    assert b"Set-Cookie: sid=abc" in with_addon["blocked"]  # judged blocked, delivered as is
    # ...and the addon did judge them.
    assert '"reason":"MissingAllowOriginHeader"' in log
    assert '"reason":"PreflightMissingAllowOriginHeader"' in log
