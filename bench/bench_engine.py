"""The engine alone: decisions per second on in-memory exchanges, on one core.

  taskset -c 0 python bench/bench_engine.py [--flows 100000]

Target: >= 50,000 decisions/s. The exchanges are read once (not timed), then judged.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import report
from bench.inputs import many_states
from cors_inspector.engine import Analyzer, Headers
from cors_inspector.readers.mitm import exchange_from_state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    exchanges = [exchange_from_state(state) for state in many_states(args.flows)]
    best = float("inf")
    gc.disable()  # as `analyze` runs the engine (cors_inspector/judge.py, judge_captures)
    for _ in range(args.rounds):
        for exchange in exchanges:  # each round looks the headers up afresh
            exchange.request.headers = Headers(exchange.request.headers.pairs)
            if exchange.response:
                exchange.response.headers = Headers(exchange.response.headers.pairs)
        start = time.perf_counter()
        decided = sum(1 for _ in Analyzer().run(exchanges))
        best = min(best, time.perf_counter() - start)
        assert decided == len(exchanges)
    gc.enable()
    rate = len(exchanges) / best
    report(
        "engine decisions per second (one core)",
        rate,
        ">= 50000",
        rate >= 50_000,
        f"({len(exchanges)} exchanges in {best:.2f} s)",
    )


if __name__ == "__main__":
    main()
