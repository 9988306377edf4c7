"""The addon under faults, in a real mitmdump: the proxy keeps serving, every flow gets
exactly one record in the decision log, and memory stays flat over a bounded soak."""

import asyncio
import json
import ssl
import subprocess
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.support import servers
from tests.support.live import start_backend, start_mitmdump, wait_until_listening, with_addon

SOAK_REQUESTS = 100_000
SOAK_CONNECTIONS = 50
CONCURRENT = 1_000
# Memory may grow while mitmproxy warms up; past that it must stay flat.
FLAT_RSS_GROWTH_MB = 40


def request(path: str, port: int, close: bool = False) -> bytes:
    return (
        f"GET http://127.0.0.1:{port}{path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Origin: http://localhost:3000\r\nSec-Fetch-Mode: cors\r\n"
        + ("Connection: close\r\n" if close else "")
        + "\r\n"
    ).encode()


async def read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            await reader.readexactly(int(line.split(b":")[1]))
    return status


async def one_shot(proxy_port: int, raw: bytes) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy_port)
    writer.write(raw)
    await writer.drain()
    status = await read_response(reader)
    writer.close()
    return status


async def keep_alive(proxy_port: int, backend_port: int, count: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy_port)
    raw = request("/allowed", backend_port)
    for _ in range(count):
        writer.write(raw)
        await writer.drain()
        assert await read_response(reader) == 200
    writer.close()


async def client_aborts(proxy_port: int, backend_port: int) -> None:
    """Headers promising a body that never comes, then the client hangs up."""
    _, writer = await asyncio.open_connection("127.0.0.1", proxy_port)
    head = request("/allowed", backend_port).replace(
        b"\r\n\r\n", b"\r\nContent-Length: 100\r\n\r\n"
    )
    writer.write(head + b"partial")
    await writer.drain()
    writer.close()


async def tls_to_a_plain_http_server(proxy_port: int, backend_port: int) -> int:
    """CONNECT, then HTTPS to a server that speaks only HTTP: the upstream TLS fails."""
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy_port)
    writer.write(f"CONNECT 127.0.0.1:{backend_port} HTTP/1.1\r\n\r\n".encode())
    await writer.drain()
    await reader.readuntil(b"\r\n\r\n")
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    await asyncio.wait_for(writer.start_tls(context, server_hostname="127.0.0.1"), 20)
    writer.write(
        f"GET /allowed HTTP/1.1\r\nHost: 127.0.0.1:{backend_port}\r\n"
        "Origin: http://localhost:3000\r\nSec-Fetch-Mode: cors\r\n\r\n".encode()
    )
    await writer.drain()
    status = await read_response(reader)
    writer.close()
    return status


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def records(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture
def proxy(tmp_path):
    (closed_port,) = servers.free_ports(1)
    log = tmp_path / "decisions.jsonl"
    with ExitStack() as stack:
        backend, backend_port = start_backend(stack, tmp_path)
        options = with_addon(log, "--set", "cors_only=false", "--set", "cors_log_max_bytes=0")
        mitm, proxy_port = start_mitmdump(stack, tmp_path, "--set", "ssl_insecure=true", *options)
        wait_until_listening((backend, backend_port), (mitm, proxy_port))
        yield mitm, proxy_port, backend_port, closed_port, log


def test_faults_leave_the_proxy_serving_and_one_record_per_flow(proxy):
    mitm, proxy_port, backend_port, closed_port, log = proxy

    async def scenario() -> list[int]:
        statuses = [await one_shot(proxy_port, request("/x", closed_port, close=True))]
        await client_aborts(proxy_port, backend_port)
        statuses.append(await tls_to_a_plain_http_server(proxy_port, backend_port))
        many = [
            one_shot(proxy_port, request(f"/allowed?n={n}", backend_port, close=True))
            for n in range(CONCURRENT)
        ]
        statuses += await asyncio.gather(*many)
        statuses.append(await one_shot(proxy_port, request("/blocked", backend_port, True)))
        return statuses

    statuses = asyncio.run(scenario())
    assert statuses[0] == 502  # backend down: mitmproxy answers itself
    assert statuses[1] == 502  # upstream TLS failed
    assert statuses[2:] == [200] * (CONCURRENT + 1)  # ... and the proxy kept serving
    mitm.stop()
    logged = records(log)
    ids = [r["flow_id"] for r in logged]
    assert len(ids) == len(set(ids)), "a flow was logged twice"
    by_path = {}
    for record in logged:
        by_path.setdefault(record["url"].split(":", 2)[-1].split("/", 1)[-1], []).append(record)
    assert sum(1 for r in logged if "/allowed?n=" in r["url"]) == CONCURRENT
    down = [r for r in logged if f":{closed_port}/" in r["url"]]
    assert [(r["verdict"], r["reason"]) for r in down] == [("blocked", "MissingAllowOriginHeader")]
    assert "never answered" in down[0]["explanation"]
    assert any(r["url"].startswith("https://") for r in logged), "the TLS failure is judged"
    assert any("/blocked" in r["url"] and r["verdict"] == "blocked" for r in logged)
    assert "internal error" not in mitm.log_tail(200)


def test_a_record_reaches_the_log_while_the_proxy_runs(proxy):
    """`tail -f decisions.jsonl` works: the record is written once the flow is judged, not
    when the proxy stops."""
    mitm, proxy_port, backend_port, _, log = proxy
    assert asyncio.run(one_shot(proxy_port, request("/blocked", backend_port, True))) == 200
    deadline = time.monotonic() + 10
    while not (complete := log.read_text().split("\n")[:-1] if log.exists() else []):
        assert time.monotonic() < deadline, "nothing logged while the proxy runs"
        with pytest.raises(subprocess.TimeoutExpired):  # doubles as the poll interval
            mitm.popen.wait(timeout=0.01)
    (record,) = [json.loads(line) for line in complete]
    assert (record["verdict"], record["reason"]) == ("blocked", "MissingAllowOriginHeader")


def test_soak_memory_stays_flat_and_every_request_is_logged(proxy):
    mitm, proxy_port, backend_port, _, log = proxy
    per_connection = SOAK_REQUESTS // SOAK_CONNECTIONS

    async def wave(fraction: int) -> None:
        await asyncio.gather(
            *(
                keep_alive(proxy_port, backend_port, per_connection // fraction)
                for _ in range(SOAK_CONNECTIONS)
            )
        )

    asyncio.run(wave(10))  # the first tenth: warm-up
    warm = rss_mb(mitm.popen.pid)
    for _ in range(9):
        asyncio.run(wave(10))
    grown = rss_mb(mitm.popen.pid) - warm
    mitm.stop()
    assert len(records(log)) == SOAK_REQUESTS
    assert grown < FLAT_RSS_GROWTH_MB, f"mitmdump grew {grown:.0f} MB after warm-up"
