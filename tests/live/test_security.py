"""The proxy listens on loopback unless told otherwise; beyond loopback it says so loudly and
asks for a password. Listeners beyond loopback are tried only inside a network namespace of
the test's own (`unshare -n`: only loopback exists there), never on a real interface."""

import json
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

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
        assert "authentication" not in process.log_tail()  # loopback never asks


def in_namespace(tmp_path: Path, *options: str) -> dict:
    """What tests/live/netns_proxy.py saw in a network namespace of its own."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("unshare or ip (util-linux, iproute2) is not installed")
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a network namespace here: {probe.stderr.strip()}")
    with ExitStack() as stack:
        helper = servers.start(
            "netns",
            [
                "unshare",
                "-n",
                sys.executable,
                "-m",
                "tests.live.netns_proxy",
                str(tmp_path),
                *options,
            ],
            stack=stack,
            log_dir=tmp_path,
            cwd=REPO,
        )
        helper.popen.wait(timeout=120)
        output = helper.log_path.read_text()
    assert helper.popen.returncode == 0, output
    return json.loads(output.splitlines()[-1])


def test_beyond_loopback_it_warns_and_asks_for_a_random_password(tmp_path):
    seen = in_namespace(tmp_path)
    assert seen["listening"] == ["0.0.0.0"]
    assert "WARNING: listening on 0.0.0.0" in seen["log"]
    user, password = seen["credentials"].split(":")
    assert user == "cors-inspector" and len(password) >= 16
    assert seen["log"].count(password) == 1  # printed once, at start
    assert seen["without"].startswith("HTTP/1.1 407")
    assert seen["connect_without"].startswith("HTTP/1.1 407")
    assert seen["wrong"].startswith("HTTP/1.1 407")
    assert seen["with"] == "HTTP/1.1 200 OK"  # relayed to the namespace's loopback backend


def test_beyond_loopback_the_password_given_is_asked(tmp_path):
    seen = in_namespace(tmp_path, "--proxy-auth=alice:s3cret-word")
    assert seen["credentials"] == "alice:s3cret-word"
    assert "s3cret-word" not in seen["log"]  # the user knows it: never printed
    assert "asks for authentication (user alice)" in seen["log"]
    assert seen["without"].startswith("HTTP/1.1 407")
    assert seen["with"] == "HTTP/1.1 200 OK"
