"""Print what Chromium decided in a browser run, case by case, and the counts by outcome.

Usage: ``python scripts/show_ground_truth.py RUN_DIR`` where RUN_DIR holds the
``chromium.json`` written by ``python -m tests.browser.capture RUN_DIR``.
Cases where Chromium did not do what the case expects are marked ``!!``.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path


def outcome(record: dict) -> str:
    return record["chromium_reason"] or record["chromium_verdict"]


def main(run_dir: Path) -> int:
    records = json.loads((run_dir / "chromium.json").read_text())
    width = max(len(r["id"]) for r in records)
    for r in records:
        mark = "  " if outcome(r) == r["expect"] else "!!"
        parameters = ", ".join(
            e["failedParameter"] for e in r["cors_errors"] if e["failedParameter"]
        )
        print(
            f"{mark} {r['id']:<{width}}  {outcome(r):<40} preflights={r['preflights']}"
            f"  {parameters}"
        )
    print()
    for name, count in sorted(Counter(map(outcome, records)).items()):
        print(f"{count:4}  {name}")
    unexpected = sum(outcome(r) != r["expect"] for r in records)
    print(f"{len(records)} cases, {unexpected} not as the cases expect")
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
