"""Offline analysis against the bare cost of loading the capture.

  python bench/bench_offline.py [--flows 100000] [--workdir DIR]

1. `cors-inspector analyze --format jsonl` of a 100,000-flow mitmproxy file ÷ a bare
   `mitmproxy.io.FlowReader` pass over the same file: target <= 1.3.
2. The same for a 100,000-entry HAR ÷ `json.load` of it: target <= 1.5.
Both sides run as fresh processes, alternately.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PYTHON, alternate, report, run_quietly
from bench.inputs import write_har, write_mitm

FLOW_READER = (
    "import sys\nfrom mitmproxy.io import FlowReader\n"
    "with open(sys.argv[1], 'rb') as f:\n    for _ in FlowReader(f).stream(): pass\n"
)
JSON_LOAD = "import json, sys\nwith open(sys.argv[1]) as f:\n    json.load(f)\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flows", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, help="keep the generated inputs here")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="cors-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    mitm, har = workdir / f"flows-{args.flows}.mitm", workdir / f"flows-{args.flows}.har"
    if not mitm.exists():
        print(f"writing {mitm} ...", flush=True)
        write_mitm(mitm, args.flows)
    if not har.exists():
        print(f"writing {har} ...", flush=True)
        write_har(har, args.flows)
    analyze = [PYTHON, "-m", "cors_inspector", "analyze", "--format", "jsonl"]

    reader, ours = alternate(
        lambda: run_quietly([PYTHON, "-c", FLOW_READER, str(mitm)]),
        lambda: run_quietly([*analyze, str(mitm)]),
        args.rounds,
    )
    ratio = ours / reader
    report(
        "analyze .mitm ÷ FlowReader pass",
        ratio,
        "<= 1.3",
        ratio <= 1.3,
        f"({ours:.1f} s vs {reader:.1f} s, {args.flows} flows)",
    )

    loader, ours = alternate(
        lambda: run_quietly([PYTHON, "-c", JSON_LOAD, str(har)]),
        lambda: run_quietly([*analyze, str(har)]),
        args.rounds,
    )
    ratio = ours / loader
    report(
        "analyze .har ÷ json.load",
        ratio,
        "<= 1.5",
        ratio <= 1.5,
        f"({ours:.1f} s vs {loader:.1f} s, {args.flows} entries)",
    )


if __name__ == "__main__":
    main()
