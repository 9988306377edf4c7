"""The TUI at 100,000 requests: loading them into the table, applying a filter, and memory.

  python bench/bench_tui.py [--flows 100000]

Runs the real app headless (Textual's `run_test`) and feeds it decisions in batches, as the
live proxy does. Each batch and each filter is timed as the work it costs the UI thread:
the change itself, then drawing the visible rows (the pilot's waits for the screen to go idle
are not work). Target: a filter < 0.2 s. Also prints the RSS the app holds per 100,000
requests (the decisions themselves were in memory before, so this is the table's own cost).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import report
from bench.inputs import many_states
from cors_inspector.engine import Analyzer
from cors_inspector.readers.mitm import exchange_from_state
from cors_inspector.tui.app import CorsInspectorApp
from cors_inspector.tui.store import Store

BATCH = 1_000  # about what 100 ms of a busy live session brings


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def measure(count: int) -> None:
    decisions = list(Analyzer().run(exchange_from_state(s) for s in many_states(count)))
    gc.collect()
    before = rss_mb()
    app = CorsInspectorApp(Store(keep=count))
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        table = app.table.list
        loaded = 0.0
        for first in range(0, len(decisions), BATCH):
            # What a batch costs the UI thread: adding it, then drawing the visible rows.
            start = time.perf_counter()
            app.add_decisions(decisions[first : first + BATCH])
            for y in range(table.size.height):
                table.render_line(y)
            loaded += time.perf_counter() - start
            await pilot.pause()
        gc.collect()
        held = rss_mb() - before
        timings = {}
        for scope in ("blocked", "cors", "all", "blocked"):
            # What a filter key costs the UI thread: the filter, then drawing the visible rows.
            start = time.perf_counter()
            app.apply_filter(scope=scope)
            for y in range(table.size.height):
                table.render_line(y)
            timings[scope] = time.perf_counter() - start
            await pilot.pause()
    worst = max(timings.values())
    per_batch = loaded / (len(decisions) / BATCH)
    print(
        f"{'load 100,000 into the table (UI thread)':<46} {loaded:>10.3f}   s "
        f"({per_batch * 1000:.1f} ms per batch of {BATCH})"
    )
    report(
        "slowest filter at that size (UI thread), s",
        worst,
        "< 0.2",
        worst < 0.2,
        " ".join(f"{k}={v:.3f}" for k, v in timings.items()),
    )
    print(
        f"{'RSS held by the TUI per 100,000 requests':<46} "
        f"{held * 100_000 / len(decisions):>10.0f}   MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flows", type=int, default=100_000)
    args = parser.parse_args()
    asyncio.run(measure(args.flows))


if __name__ == "__main__":
    main()
