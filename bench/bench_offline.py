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
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PYTHON, alternate, report, run_quietly, work_directory
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
    with work_directory(args.workdir) as workdir:
        mitm, har = workdir / f"flows-{args.flows}.mitm", workdir / f"flows-{args.flows}.har"
        if not mitm.exists():
            print(f"writing {mitm} ...", flush=True)
            write_mitm(mitm, args.flows)
        if not har.exists():
            print(f"writing {har} ...", flush=True)
            write_har(har, args.flows)
        analyze = [PYTHON, "-m", "cors_inspector", "analyze", "--format", "jsonl"]

        comparisons = (
            ("analyze .mitm ÷ FlowReader pass", FLOW_READER, mitm, 1.3, "flows"),
            ("analyze .har ÷ json.load", JSON_LOAD, har, 1.5, "entries"),
        )
        for name, baseline, path, target, unit in comparisons:
            base, ours = alternate(
                partial(run_quietly, [PYTHON, "-c", baseline, str(path)]),
                partial(run_quietly, [*analyze, str(path)]),
                args.rounds,
            )
            ratio = ours / base
            report(
                name,
                ratio,
                f"<= {target}",
                ratio <= target,
                f"({ours:.1f} s vs {base:.1f} s, {args.flows} {unit})",
            )


if __name__ == "__main__":
    main()
