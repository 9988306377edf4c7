"""How long `cors-inspector --help` and `analyze x.har` take to start, side by side with
another checkout of the project (e.g. before a change) or, without one, with a bare Python.

    python bench/bench_startup.py                     # ratios to `python -c pass`
    python bench/bench_startup.py --against ../old    # ratios to another checkout
"""

from __future__ import annotations

import argparse
import os
import subprocess
from functools import partial
from pathlib import Path

from common import PYTHON, ROOT, alternate

SAMPLE = ROOT / "sample_flows" / "healthy-session.har"
COMMANDS = {
    "--help": ["--help"],
    "analyze x.har": ["analyze", str(SAMPLE), "--format", "jsonl"],
}


def run_in(tree: Path | None, args: list[str]) -> None:
    if tree is None:
        subprocess.run([PYTHON, "-c", "pass"], check=True)
        return
    env = dict(os.environ, PYTHONPATH=str(tree))
    argv = [PYTHON, "-m", "cors_inspector", *args]
    subprocess.run(argv, env=env, cwd=tree, capture_output=True, check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", type=Path, help="another checkout to compare with")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    other = args.against.resolve() if args.against else None
    label = f"{other}" if other else "python -c pass"
    for name, argv in COMMANDS.items():
        ours, theirs = alternate(
            partial(run_in, ROOT, argv), partial(run_in, other, argv), args.rounds
        )
        print(
            f"{name:<14} this checkout {ours * 1000:6.0f} ms   {label} {theirs * 1000:6.0f} ms"
            f"   ratio {ours / theirs:.2f}"
        )


if __name__ == "__main__":
    main()
