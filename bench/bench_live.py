"""Live: requests per second through mitmdump with the addon ÷ without it.

  python bench/bench_live.py [--requests 20000] [--connections 20]

Same loopback backend, same keep-alive client, a bounded request count, run alternately.
Target: ratio >= 0.90. Also prints the p99 latency the addon adds per flow.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import percentile, report
from tests.live.support import start_backend, start_mitmdump, wait_until_listening, with_addon


async def client(proxy_port: int, backend_port: int, count: int, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy_port)
    raw = (
        f"GET http://127.0.0.1:{backend_port}/allowed HTTP/1.1\r\nHost: 127.0.0.1:{backend_port}"
        "\r\nOrigin: http://localhost:3000\r\nSec-Fetch-Mode: cors\r\n\r\n"
    ).encode()
    for _ in range(count):
        start = time.perf_counter()
        writer.write(raw)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - start)
    writer.close()


def measure(use_addon: bool, requests: int, connections: int, workdir: Path) -> tuple[float, list]:
    latencies: list[float] = []
    with ExitStack() as stack:
        backend, backend_port = start_backend(stack, workdir)
        options = with_addon(workdir / "decisions.jsonl") if use_addon else []
        proxy, proxy_port = start_mitmdump(stack, workdir, *options)
        wait_until_listening((backend, backend_port), (proxy, proxy_port))

        async def run() -> float:
            start = time.perf_counter()
            await asyncio.gather(
                *(
                    client(proxy_port, backend_port, requests // connections, latencies)
                    for _ in range(connections)
                )
            )
            return time.perf_counter() - start

        elapsed = asyncio.run(run())
    return len(latencies) / elapsed, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="cors-bench-live-"))
    results: dict[bool, list[tuple[float, list[float]]]] = {False: [], True: []}
    for _ in range(args.rounds):
        for use_addon in (False, True):
            results[use_addon].append(measure(use_addon, args.requests, args.connections, workdir))
    best = {key: max(runs, key=lambda run: run[0]) for key, runs in results.items()}
    ratio = best[True][0] / best[False][0]
    report(
        "live rps with addon ÷ without",
        ratio,
        ">= 0.90",
        ratio >= 0.90,
        f"({best[True][0]:.0f} vs {best[False][0]:.0f} requests/s)",
    )
    added = percentile(best[True][1], 0.99) - percentile(best[False][1], 0.99)
    print(
        f"{'p99 latency added per flow':<46} {added * 1000:>10.3f}   ms "
        f"({percentile(best[True][1], 0.99) * 1000:.2f} vs "
        f"{percentile(best[False][1], 0.99) * 1000:.2f} ms)"
    )


if __name__ == "__main__":
    main()
