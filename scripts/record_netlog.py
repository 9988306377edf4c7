"""Re-record the NetLog fixtures of tests/unit/netlogs/ from real Chromium runs.

    .venv/bin/python scripts/record_netlog.py

Runs the cases of tests/browser/netlog_run.py in Chromium twice (Everything and Default
capture mode) and writes, trimmed to the cases' requests (their URL_REQUEST sources and the
stream jobs that bound them to a socket; the constants the reader reads; no polledData):

    everything.json      Everything mode, as Chrome lays it out (one event a line)
    everything.json.gz   the same, gzip-compressed
    default.json         Default mode: cookie and auth values stripped
    unclosed.json        everything.json cut after an event, as a killed browser leaves it
    chromium.json        what CDP said of each request (Everything run), for the unit tests
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser.netlog_run import run  # noqa: E402

OUT = ROOT / "tests" / "unit" / "netlogs"
CONSTANTS_KEPT = (
    "clientInfo",
    "logCaptureMode",
    "logEventPhase",
    "logEventTypes",
    "logFormatVersion",
    "logSourceType",
    "loadFlag",
    "netError",
    "timeTickOffset",
)


def trimmed(netlog: Path) -> str:
    """The NetLog with only the cases' requests, laid out as Chrome writes it."""
    document = json.loads(netlog.read_text())
    constants = {key: document["constants"][key] for key in CONSTANTS_KEPT}
    url_request = constants["logSourceType"]["URL_REQUEST"]
    events = document["events"]
    # A case's request names its URL (case=...) in some event; its preflights and stream
    # jobs name it as a source_dependency.
    kept = {
        event["source"]["id"]
        for event in events
        if event["source"]["type"] == url_request and "case=" in json.dumps(event.get("params"))
    }
    kept |= {
        event["source"]["id"]
        for event in events
        if event.get("params", {}).get("source_dependency", {}).get("id") in kept
    }
    lines = [
        json.dumps(event, separators=(",", ":"), sort_keys=True)
        for event in events
        if event["source"]["id"] in kept
    ]
    head = '{"constants":' + json.dumps(constants, separators=(",", ":"), sort_keys=True)
    return head + ',\n"events": [\n' + ",\n".join(lines) + '],\n"polledData": {}\n}\n'


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="record-netlog-"))
    try:
        runs = {mode: run(work, mode) for mode in ("Everything", "Default")}
        everything = trimmed(runs["Everything"].netlog)
        (OUT / "everything.json").write_text(everything)
        (OUT / "default.json").write_text(trimmed(runs["Default"].netlog))
        (OUT / "everything.json.gz").write_bytes(gzip.compress(everything.encode(), mtime=0))
        lines = everything.splitlines(keepends=True)
        (OUT / "unclosed.json").write_text("".join(lines[: len(lines) * 2 // 3]))
        (OUT / "chromium.json").write_text(json.dumps(runs["Everything"].requests, indent=1))
    finally:
        shutil.rmtree(work)
    for path in sorted(OUT.iterdir()):
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
