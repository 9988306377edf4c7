"""The browser bridge's cost: its CPU per browser event, and the proxy's requests/s for
ordinary clients with a browser attached ÷ without.

  python bench/bench_bridge.py [--requests 10000] [--rounds 4] [--connections 20] [--replays 200]

CPU per event: the real messages of headless Chromium running tests/bridge's page (recorded
through a real bridge and a real mitmdump), replayed into fresh bridge state many times.
Throughput: `cors-inspector proxy` with `--with-browser --headless` (the browser idle on
a loaded page, once its processes have finished starting: under 2 % of a core for a second)
and without, same loopback backend and keep-alive clients, in turns (A B B A
...), the best run of each compared. Target: ratio >= 0.95.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_live import client, cpu_seconds
from bench.common import PYTHON, ROOT, report, work_directory
from cors_inspector.browsers.bridge import Bridge, NetworkEvents, Pairing
from cors_inspector.browsers.chromium import find_browser
from tests.support import servers
from tests.support.live import start_backend, start_mitmdump, wait_until_listening

READY_S = 30.0


def recorded_messages(workdir: Path) -> list[dict[str, Any]]:
    """Every message Chromium sent while running the bridge test page, through mitmdump."""
    messages: list[dict[str, Any]] = []
    done = threading.Event()
    with ExitStack() as stack:
        (backend_port,) = servers.free_ports(1)
        backend = servers.start(
            "page-backend",
            [PYTHON, "-m", "tests.bridge.backend", str(backend_port)],
            stack=stack,
            log_dir=workdir,
            cwd=ROOT,
        )
        proxy, proxy_port = start_mitmdump(stack, workdir)
        wait_until_listening((backend, backend_port), (proxy, proxy_port))
        page = f"http://localhost:{backend_port}/page"
        bridge = Bridge(find_browser(), "127.0.0.1", proxy_port, page, True, print)
        stack.callback(bridge.close)
        handle = bridge.events.handle

        def record(message: dict[str, Any]) -> None:
            messages.append(message)
            handle(message)
            url = (message.get("params") or {}).get("request", {}).get("url", "")
            if url.endswith("/api/done"):
                done.set()

        bridge.events.handle = record  # type: ignore[method-assign]
        bridge.start()
        if not done.wait(READY_S):
            raise RuntimeError("the page did not finish its cases")
    return messages


def cpu_per_event(messages: list[dict[str, Any]], replays: int) -> float:
    """Seconds of CPU per message, replayed into fresh bridge state each time."""
    start = time.thread_time()
    for _ in range(replays):
        events = NetworkEvents(Pairing(), lambda *_args, **_kwargs: 0, "about:blank")
        for message in messages:
            events.handle(message)
    return (time.thread_time() - start) / (replays * len(messages))


def session_cpu_seconds(session: int) -> float:
    """CPU time used so far by every process of a session (the browser's: its pid leads it)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it exited meanwhile
        if int(fields[3]) == session:
            total += cpu_seconds(int(stat.parent.name))
    return total


QUIET_SHARE = 0.02  # of a core: the browser is idle once it uses less, over QUIET_WINDOW_S
QUIET_WINDOW_S = 1.0


def settle(session: int, deadline: float) -> float:
    """Seconds until the browser's processes are idle: for several seconds after its page
    has loaded, Chromium finishes starting (up to a core's tenth), which is not the cost of
    an idle browser. Measured in windows of QUIET_WINDOW_S."""
    start = time.monotonic()
    while True:
        before = session_cpu_seconds(session)
        threading.Event().wait(QUIET_WINDOW_S)  # the measuring window itself
        if session_cpu_seconds(session) - before < QUIET_SHARE * QUIET_WINDOW_S:
            return time.monotonic() - start
        if time.monotonic() > deadline:
            raise RuntimeError("the browser never went idle")


def measure(with_browser: bool, requests: int, connections: int, workdir: Path) -> float:
    """Requests/s through `cors-inspector proxy`, with the idle browser attached or not."""
    with ExitStack() as stack:
        backend, backend_port = start_backend(stack, workdir)
        (proxy_port,) = servers.free_ports(1, backend_port)
        argv = [PYTHON, "-m", "cors_inspector", "proxy", "--listen-port", str(proxy_port)]
        argv += ["--log", str(workdir / "decisions.jsonl")]
        if with_browser:  # the page is a 404: its printed line says the browser is up
            page = f"http://127.0.0.1:{backend_port}/loaded"
            argv += ["--all", "--with-browser", "--headless", "--url", page]
        else:
            argv += ["--all"]
        proxy = servers.start(
            "proxy", argv, stack=stack, log_dir=workdir, cwd=ROOT, stop_signal=signal.SIGINT
        )
        wait_until_listening((backend, backend_port), (proxy, proxy_port))
        browser, settled = 0, 0.0
        if with_browser:  # measured once the browser is up and has loaded its page
            argv_log = proxy.log_path
            deadline = time.monotonic() + READY_S
            while not (found := re.findall(r"DevTools pipe \(pid (\d+)\)", argv_log.read_text())):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no browser attached:\n{proxy.log_tail()}")
                threading.Event().wait(0.05)  # the poll interval of a wait with a deadline
            browser = int(found[0])
            while "/loaded" not in argv_log.read_text():
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the browser's page never loaded:\n{proxy.log_tail()}")
                threading.Event().wait(0.05)
            settled = settle(browser, deadline)
        latencies: list[float] = []

        async def run() -> float:
            start = time.perf_counter()
            await asyncio.gather(
                *(
                    client(proxy_port, backend_port, requests // connections, latencies)
                    for _ in range(connections)
                )
            )
            return time.perf_counter() - start

        cpu_before = cpu_seconds(proxy.popen.pid)
        browser_before = session_cpu_seconds(browser) if browser else 0.0
        elapsed = asyncio.run(run())
        cpu = cpu_seconds(proxy.popen.pid) - cpu_before
        browser_cpu = session_cpu_seconds(browser) - browser_before if browser else 0.0
    print(
        f"  {'with' if with_browser else 'without'} the browser: "
        f"{len(latencies) / elapsed:.0f} requests/s, {cpu / len(latencies) * 1e6:.0f} µs "
        f"proxy CPU per request, browser {browser_cpu / elapsed * 100:.1f}% of a core"
        + (f" (idle {settled:.1f} s after its page loaded)" if with_browser else ""),
        flush=True,
    )
    return len(latencies) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--replays", type=int, default=200)
    args = parser.parse_args()
    with work_directory(None) as workdir:
        messages = recorded_messages(workdir)
        per_event = cpu_per_event(messages, args.replays)
        print(
            f"{'bridge CPU per browser event':<46} {per_event * 1e6:>10.1f}   µs "
            f"({len(messages)} real messages, replayed {args.replays} times)"
        )
        results: dict[bool, list[float]] = {False: [], True: []}
        for round_ in range(args.rounds):
            order = (False, True) if round_ % 2 == 0 else (True, False)  # A B B A: drift cancels
            for with_browser in order:
                results[with_browser].append(
                    measure(with_browser, args.requests, args.connections, workdir)
                )
    with_it, without = max(results[True]), max(results[False])
    ratio = with_it / without
    report(
        "proxy rps with a browser attached ÷ without",
        ratio,
        ">= 0.95",
        ratio >= 0.95,
        f"({with_it:.0f} vs {without:.0f} requests/s)",
    )


if __name__ == "__main__":
    main()
