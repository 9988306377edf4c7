"""Fuzz the capture readers: mutated sample_flows/ captures, each read and judged in a forked
child with a memory cap and a watchdog. The long run, outside CI (the short one is in
tests/unit/test_hostile_input.py).

  python scripts/fuzz_captures.py --count 100000 --seconds 3600 [--seed N] [--save DIR]

Prints inputs run, tracebacks (any exception but CaptureError), hangs, memory-cap hits and
the peak RSS of one input; the first failing inputs are saved to DIR to reproduce them.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.unit.fuzz_support import Corpus, fuzz, save_findings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000, help="inputs at most")
    parser.add_argument("--seconds", type=float, default=3600, help="time at most")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=20, help="seconds before a hang")
    parser.add_argument("--bomb-mb", type=int, default=64, help="size of a gzip bomb inflated")
    parser.add_argument("--save", type=Path, default=Path("fuzz-findings"))
    parser.add_argument("--keep", type=int, default=20, help="failing inputs saved")
    args = parser.parse_args()
    corpus = Corpus(bomb_mb=args.bomb_mb)
    started = time.monotonic()
    summary = fuzz(
        args.count,
        args.seconds,
        args.seed,
        args.timeout,
        corpus=corpus,
        progress=lambda summary: print(summary, file=sys.stderr, flush=True),
    )
    print(f"{summary} ({time.monotonic() - started:.0f} s, seed {args.seed})")
    for finding in summary.findings[: args.keep]:
        print(f"  #{finding.index} {finding.kind} {finding.how}: {finding.outcome}")
    if summary.findings:
        save_findings(summary, corpus, args.seed, args.save, args.keep)
        print(f"saved to {args.save}/")
    return 1 if summary.findings else 0


if __name__ == "__main__":
    sys.exit(main())
