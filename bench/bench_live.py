"""Live: requests per second through mitmdump with the addon ÷ without it.

  python bench/bench_live.py [--requests 10000] [--rounds 4] [--connections 20]

Same loopback backend, same keep-alive client, a bounded request count, run in turns
(A B B A ...), the best run of each compared.
Target: ratio >= 0.90. Also prints the p99 latency the addon adds per flow.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import percentile, report, work_directory
from tests.support.live import start_backend, start_mitmdump, wait_until_listening, with_addon


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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Run(NamedTuple):
    rps: float
    latencies: list[float]
    proxy_cpu_per_flow: float  # seconds of mitmdump CPU per request


def measure(use_addon: bool, requests: int, connections: int, workdir: Path) -> Run:
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

        cpu_before = cpu_seconds(proxy.popen.pid)
        elapsed = asyncio.run(run())
        proxy_cpu = cpu_seconds(proxy.popen.pid) - cpu_before
    return Run(len(latencies) / elapsed, latencies, proxy_cpu / len(latencies))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    results: dict[bool, list[Run]] = {False: [], True: []}
    with work_directory(None) as workdir:
        for round_ in range(args.rounds):
            order = (False, True) if round_ % 2 == 0 else (True, False)  # A B B A: drift cancels
            for use_addon in order:
                run = measure(use_addon, args.requests, args.connections, workdir)
                results[use_addon].append(run)
    best = {key: max(runs, key=lambda run: run.rps) for key, runs in results.items()}
    with_it, without = best[True], best[False]
    ratio = with_it.rps / without.rps
    report(
        "live rps with addon ÷ without",
        ratio,
        ">= 0.90",
        ratio >= 0.90,
        f"({with_it.rps:.0f} vs {without.rps:.0f} requests/s)",
    )
    paired = [w.rps / wo.rps for w, wo in zip(results[True], results[False], strict=True)]
    print(f"{'  each round, with ÷ without':<46} " + " ".join(f"{ratio:.3f}" for ratio in paired))
    added = percentile(with_it.latencies, 0.99) - percentile(without.latencies, 0.99)
    print(
        f"{'p99 latency added per flow':<46} {added * 1000:>10.3f}   ms "
        f"({percentile(with_it.latencies, 0.99) * 1000:.2f} vs "
        f"{percentile(without.latencies, 0.99) * 1000:.2f} ms)"
    )
    # Where the ratio comes from: the proxy's own CPU per request, with and without the addon.
    cpu = {key: min(run.proxy_cpu_per_flow for run in runs) for key, runs in results.items()}
    print(
        f"{'mitmdump CPU per flow added by the addon':<46} "
        f"{(cpu[True] - cpu[False]) * 1e6:>10.1f}   µs "
        f"({cpu[True] * 1e6:.0f} vs {cpu[False] * 1e6:.0f} µs)"
    )


if __name__ == "__main__":
    main()
