"""Reading and judging a Chrome NetLog against the bare cost of loading it.

  python bench/bench_netlog.py [--megabytes 400] [--workdir DIR]

1. `cors-inspector analyze --format jsonl` of a large NetLog ÷ `json.load` of the same file:
   target <= 1.0. Both run as fresh processes, alternately.
2. Peak resident memory of that analyze on a NetLog a quarter that size and on the full one:
   it must not grow with the file (target: the larger within 10 % + 10 MB of the smaller).

The NetLog is the real Chromium 156 one of tests/unit/netlogs/everything.json, its events
repeated (each copy's requests complete before the next copy reuses their source ids).
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PYTHON, ROOT, alternate, peak_rss_mb, report, run_quietly, work_directory

REAL = ROOT / "tests" / "unit" / "netlogs" / "everything.json"
JSON_LOAD = "import json, sys\nwith open(sys.argv[1]) as f:\n    json.load(f)\n"
EVENTS_START = b'"events": [\n'
EVENTS_END = b"],\n"


def write_netlog(path: Path, megabytes: int) -> None:
    """The real NetLog with its events repeated until the file is `megabytes` long."""
    data = REAL.read_bytes()
    head, _, rest = data.partition(EVENTS_START)
    events, _, tail = rest.rpartition(EVENTS_END)
    copies = max(1, (megabytes << 20) // len(events))
    with path.open("wb") as out:
        out.write(head + EVENTS_START)
        for number in range(copies):
            out.write(events)
            out.write(b",\n" if number < copies - 1 else EVENTS_END)
        out.write(tail)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=int, default=400)
    parser.add_argument("--workdir", type=Path, help="keep the generated inputs here")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with work_directory(args.workdir) as workdir:
        sizes = (args.megabytes // 4, args.megabytes)
        paths = [workdir / f"netlog-{size}MB.json" for size in sizes]
        for size, path in zip(sizes, paths, strict=True):
            if not path.exists():
                print(f"writing {path} ...", flush=True)
                write_netlog(path, size)
        analyze = [PYTHON, "-m", "cors_inspector", "analyze", "--format", "jsonl"]
        large = paths[-1]
        base, ours = alternate(
            partial(run_quietly, [PYTHON, "-c", JSON_LOAD, str(large)]),
            partial(run_quietly, [*analyze, str(large)]),
            args.rounds,
        )
        ratio = ours / base
        detail = f"({ours:.1f} s vs {base:.1f} s, {args.megabytes} MB)"
        report("analyze NetLog ÷ json.load", ratio, "<= 1.0", ratio <= 1.0, detail)
        small_mb, large_mb = (peak_rss_mb([*analyze, str(path)]) for path in paths)
        report(
            f"analyze NetLog peak RSS, {sizes[1]} MB file (MB)",
            large_mb,
            "flat",
            large_mb <= small_mb * 1.1 + 10,
            f"({small_mb:.0f} MB at {sizes[0]} MB of NetLog, {large_mb:.0f} MB at {sizes[1]} MB)",
        )


if __name__ == "__main__":
    main()
