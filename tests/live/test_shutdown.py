"""No decision lost on stop: the proxy, run either way, stopped by SIGTERM or SIGINT in the
middle of a 200-client load, has a record for every response a client received in full."""

import asyncio
import signal
import sys
import time
from contextlib import ExitStack

import pytest

from tests.live.test_faults import read_response, records, request
from tests.support import servers
from tests.support.live import start_backend, start_mitmdump, wait_until_listening, with_addon
from tests.support.paths import REPO

CLIENTS = 200
PER_CLIENT = 100  # requests each client sends at most (bounded count)
STOP_AFTER = 2_000  # responses received in full before the signal is sent
LOAD_SECONDS = 60  # bounded time: the clients give up after this


async def load(proxy_port: int, backend_port: int, stop) -> set[str]:
    """CLIENTS keep-alive clients; the stop signal goes out once STOP_AFTER responses are in.
    The paths of the responses received in full."""
    received: set[str] = set()
    signalled = asyncio.Event()
    deadline = time.monotonic() + LOAD_SECONDS

    async def client(number: int) -> None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy_port)
        except OSError:
            return
        try:
            for sent in range(PER_CLIENT):
                if time.monotonic() > deadline:
                    return
                path = f"/allowed?client={number}&n={sent}"
                writer.write(request(path, backend_port))
                await writer.drain()
                await asyncio.wait_for(read_response(reader), LOAD_SECONDS)
                received.add(path)
                if len(received) >= STOP_AFTER and not signalled.is_set():
                    signalled.set()
                    stop()
        except (TimeoutError, OSError, asyncio.IncompleteReadError):
            return  # the proxy went away mid-request: that response never came in full
        finally:
            writer.close()

    await asyncio.gather(*(client(n) for n in range(CLIENTS)))
    assert signalled.is_set(), "the load ended before the proxy was stopped"
    return received


def cors_inspector_proxy(stack, tmp_path, log):
    (port,) = servers.free_ports(1)
    argv = [sys.executable, "-m", "cors_inspector", "proxy", "--listen-port", str(port)]
    argv += ["--log", str(log)]
    return servers.start("proxy", argv, stack=stack, log_dir=tmp_path, cwd=REPO), port


def mitmdump_with_addon(stack, tmp_path, log):
    return start_mitmdump(stack, tmp_path, *with_addon(log, "--set", "cors_log_max_bytes=0"))


@pytest.mark.parametrize("way", [cors_inspector_proxy, mitmdump_with_addon])
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_no_decision_is_lost_when_the_proxy_is_stopped_under_load(tmp_path, way, stop_signal):
    log = tmp_path / "decisions.jsonl"
    with ExitStack() as stack:
        backend, backend_port = start_backend(stack, tmp_path)
        proxy, proxy_port = way(stack, tmp_path, log)
        wait_until_listening((backend, backend_port), (proxy, proxy_port))
        received = asyncio.run(
            load(proxy_port, backend_port, lambda: proxy.popen.send_signal(stop_signal))
        )
        code = proxy.popen.wait(timeout=servers.READY_TIMEOUT_S)
        assert code == 0, f"not a clean shutdown ({code}):\n{proxy.log_tail()}"
    logged = {r["url"].split(f":{backend_port}", 1)[1] for r in records(log)}
    lost = received - logged
    assert not lost, f"{len(lost)} of {len(received)} received responses have no record"
    output = proxy.log_tail(100_000)
    assert "internal error" not in output and "cors_inspector/" not in output
    if way is cors_inspector_proxy:  # mitmdump's own connections print theirs as it exits
        assert "Traceback" not in output
