"""Run inside a network namespace of the test's own (`unshare -n`), where only loopback
exists: bring `lo` up with one extra, non-loopback address, start a loopback-only backend and
`cors-inspector proxy --listen-host 0.0.0.0 [OPTIONS]`, and try to relay through the proxy
from that other address. Prints one JSON object saying what happened.

Usage: unshare -n python -m tests.live.netns_proxy LOG_DIR [PROXY OPTIONS...]
"""

from __future__ import annotations

import base64
import json
import re
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from tests.live.test_security import listening_addresses
from tests.support import servers
from tests.support.live import start_backend
from tests.support.paths import REPO

OTHER_ADDRESS = "10.200.0.1"  # exists only inside the namespace


def ask(port: int, raw: bytes) -> str:
    """The status line the proxy answers `raw` with, asked from OTHER_ADDRESS."""
    with socket.create_connection((OTHER_ADDRESS, port), timeout=10) as conn:
        conn.sendall(raw)
        answer = b""
        while b"\r\n" not in answer and (chunk := conn.recv(65536)):
            answer += chunk
    return answer.split(b"\r\n", 1)[0].decode()


def main(log_dir: Path, options: list[str]) -> dict[str, object]:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "addr", "add", f"{OTHER_ADDRESS}/32", "dev", "lo"], check=True)
    with ExitStack() as stack:
        backend, backend_port = start_backend(stack, log_dir)
        (port,) = servers.free_ports(1, backend_port)
        argv = [sys.executable, "-m", "cors_inspector", "proxy", "--listen-port", str(port)]
        proxy = servers.start(
            "proxy",
            [*argv, "--listen-host", "0.0.0.0", *options],
            stack=stack,
            log_dir=log_dir,
            cwd=REPO,
        )
        deadline = time.monotonic() + servers.READY_TIMEOUT_S
        backend.wait_for_port(backend_port, deadline)
        proxy.wait_for_port(port, deadline)
        told = re.search(r"user (\S+), password (\S+)", proxy.log_tail())
        given = next((o.split("=", 1)[-1] for o in options if o.startswith("--proxy-auth")), "")
        credentials = f"{told[1]}:{told[2]}" if told else given
        get = f"GET http://127.0.0.1:{backend_port}/allowed HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        connect = f"CONNECT 127.0.0.1:{backend_port} HTTP/1.1\r\nHost: 127.0.0.1\r\n"

        def with_auth(request: str, secret: str) -> bytes:
            token = base64.b64encode(secret.encode()).decode()
            return f"{request}Proxy-Authorization: Basic {token}\r\n\r\n".encode()

        result = {
            "listening": sorted(listening_addresses(port)),
            "credentials": credentials,
            "without": ask(port, f"{get}\r\n".encode()),
            "connect_without": ask(port, f"{connect}\r\n".encode()),
            "wrong": ask(port, with_auth(get, "cors-inspector:wrong")),
            "with": ask(port, with_auth(get, credentials)),
        }
        proxy.stop()
        result["log"] = proxy.log_path.read_text(errors="replace")
    return result


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), sys.argv[2:])))
