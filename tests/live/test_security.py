"""The proxy listens on loopback unless told otherwise, and says loudly when it is not."""

import sys
import time
from contextlib import ExitStack
from pathlib import Path

from tests.support import servers
from tests.support.paths import REPO

CLI = [sys.executable, "-m", "cors_inspector", "proxy"]


def listening_addresses(port: int) -> set[str]:
    """Local IPv4 addresses listening on `port`, from /proc/net/tcp (state 0A = LISTEN)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, port_hex = local.split(":")
        if state == "0A" and int(port_hex, 16) == port:
            found.add(".".join(str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0)))
    return found


def start_proxy(tmp_path: Path, stack: ExitStack, *options: str) -> tuple[servers.Process, int]:
    (port,) = servers.free_ports(1)
    process = servers.start(
        f"proxy-{port}",
        [*CLI, "--listen-port", str(port), *options],
        stack=stack,
        log_dir=tmp_path,
        cwd=REPO,
    )
    process.wait_for_port(port, time.monotonic() + servers.READY_TIMEOUT_S)
    return process, port


def test_default_is_loopback_only(tmp_path):
    with ExitStack() as stack:
        process, port = start_proxy(tmp_path, stack)
        assert listening_addresses(port) == {"127.0.0.1"}
        process.stop()
        assert "WARNING" not in process.log_tail()


def test_any_other_address_is_warned_about(tmp_path):
    with ExitStack() as stack:
        process, port = start_proxy(tmp_path, stack, "--listen-host", "0.0.0.0")
        assert listening_addresses(port) == {"0.0.0.0"}
        process.stop()
        assert "WARNING: listening on 0.0.0.0" in process.log_tail()
