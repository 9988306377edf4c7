"""Start-up errors of `cors-inspector proxy`: one line on stderr and exit 2, before anything
says the proxy is up."""

import socket
import subprocess
import sys

import pytest

from tests.support import servers


def proxy(*options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cors_inspector", "proxy", *options],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    ("options", "line"),
    [
        (["--log", "/nonexistent/dir/x.jsonl"], "cannot open the decision log"),
        (["--save", "/tmp"], "cannot open the flows file /tmp: Is a directory"),
    ],
)
def test_a_file_that_cannot_be_written(options, line):
    (port,) = servers.free_ports(1)
    result = proxy("--listen-port", str(port), *options)
    assert result.returncode == 2
    (said,) = result.stderr.splitlines()
    assert said.startswith("cors-inspector: error: ") and line in said
    assert "proxy on" not in result.stdout + result.stderr


def test_a_port_in_use():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = proxy("--listen-port", str(port))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"cors-inspector: error: cannot listen on 127.0.0.1:{port}: address already in use; "
        "choose another port with --listen-port"
    ]
    assert result.stdout == ""
