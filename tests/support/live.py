"""Start the live tests' processes: the fixed loopback backend and a real mitmdump (with or
without the addon). Each is stopped by its pid when the ExitStack unwinds."""

from __future__ import annotations

import socket
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from tests.support import servers
from tests.support.paths import REPO, mitmdump

ADDON = REPO / "addons" / "cors_inspector.py"


def start_backend(
    stack: ExitStack, log_dir: Path, name: str = "backend"
) -> tuple[servers.Process, int]:
    (port,) = servers.free_ports(1)
    argv = [sys.executable, "-m", "tests.live.fixed_backend", str(port)]
    return servers.start(name, argv, stack=stack, log_dir=log_dir, cwd=REPO), port


def start_mitmdump(
    stack: ExitStack, log_dir: Path, *options: str, name: str = "mitmdump"
) -> tuple[servers.Process, int]:
    """mitmdump on a free loopback port; `options` are extra command-line arguments."""
    (port,) = servers.free_ports(1)
    argv = [
        mitmdump(),
        "--listen-host",
        "127.0.0.1",
        "-p",
        str(port),
        "--set",
        "flow_detail=0",
        "--set",
        "termlog_verbosity=error",
        *options,
    ]
    return servers.start(name, argv, stack=stack, log_dir=log_dir, cwd=REPO), port


def with_addon(log: Path, *options: str) -> list[str]:
    """mitmdump options loading cors-inspector's addon, logging its decisions to `log`."""
    return ["-s", str(ADDON), "--set", f"cors_log={log}", *options]


def wait_until_listening(*started: tuple[servers.Process, int]) -> None:
    deadline = time.monotonic() + servers.READY_TIMEOUT_S
    for process, port in started:
        process.wait_for_port(port, deadline)


def fetch_through(proxy_port: int, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", proxy_port), timeout=10) as conn:
        conn.sendall(raw)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)
