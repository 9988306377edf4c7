"""Memory while analysing a capture streamed from disk must not grow with the file.

Peak RSS of `cors-inspector analyze --format jsonl` on a 1,000,000-flow file ÷ on a
100,000-flow file: target <= 1.1 (flat). Then, on the large file side by side, the peak RSS
of every output: `analyze --format jsonl`, `text`, `json` and `fix`: target < 200 MB each.
The text report is measured on the small file: Rich renders about 400 rows and blocked
requests a second here, so 1,000,000 would take hours (`--text-flows` to choose).
Needs ~2.5 GB of disk for the large file.

  python bench/bench_memory.py [--small 100000] [--large 1000000] [--text-flows N] [--workdir DIR]
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
    parser.add_argument("--text-flows", type=int, help="default: --small")
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    with work_directory(args.workdir) as workdir:
        peaks = []
        for count in (args.small, args.large):
            path = input_file(workdir, count)
            peaks.append((count, peak_rss_mb(command(path, *JSONL))))
        (small, small_mb), (large, large_mb) = peaks
        ratio = large_mb / small_mb
        report(
            f"peak RSS {large} flows ÷ {small} flows",
            ratio,
            "<= 1.1",
            ratio <= 1.1,
            f"({large_mb:.0f} MB vs {small_mb:.0f} MB)",
        )
        for name, words in OUTPUTS.items():
            count = (args.text_flows or small) if words == TEXT else large
            path = input_file(workdir, count)
            peak = large_mb if words == JSONL else peak_rss_mb(command(path, *words))
            report(f"peak RSS, {count} flows: {name}", peak, "< 200 MB", peak < 200, "MB")


def input_file(workdir: Path, count: int) -> Path:
    path = workdir / f"flows-{count}.mitm"
    if not path.exists():
        print(f"writing {path} ...", flush=True)
        write_mitm(path, count)
    return path


JSONL = ("analyze", "--format", "jsonl")
TEXT = ("analyze", "--format", "text", "--only", "all")
OUTPUTS = {  # every output, beside the streamed one measured above
    "analyze --format jsonl": JSONL,
    "analyze --format text --only all": TEXT,
    "analyze --format json": ("analyze", "--format", "json"),
    "fix": ("fix",),
    "fix --format json": ("fix", "--format", "json"),
}


def command(path: Path, *words: str) -> list[str]:
    return [PYTHON, "-m", "cors_inspector", words[0], str(path), *words[1:]]


if __name__ == "__main__":
    main()
