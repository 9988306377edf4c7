"""Memory while analysing a capture streamed from disk must not grow with the file.

  python bench/bench_memory.py [--small 100000] [--large 1000000] [--workdir DIR]

Peak RSS of `cors-inspector analyze --format jsonl` on a 1,000,000-flow file ÷ on a
100,000-flow file: target <= 1.1 (flat). Needs ~2.5 GB of disk for the large file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PYTHON, peak_rss_mb, report, work_directory
from bench.inputs import write_mitm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    with work_directory(args.workdir) as workdir:
        peaks = []
        for count in (args.small, args.large):
            path = workdir / f"flows-{count}.mitm"
            if not path.exists():
                print(f"writing {path} ...", flush=True)
                write_mitm(path, count)
            argv = [PYTHON, "-m", "cors_inspector", "analyze", str(path), "--format", "jsonl"]
            peaks.append((count, peak_rss_mb(argv)))
        (small, small_mb), (large, large_mb) = peaks
        ratio = large_mb / small_mb
        report(
            f"peak RSS {large} flows ÷ {small} flows",
            ratio,
            "<= 1.1",
            ratio <= 1.1,
            f"({large_mb:.0f} MB vs {small_mb:.0f} MB)",
        )


if __name__ == "__main__":
    main()
