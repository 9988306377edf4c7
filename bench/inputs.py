"""Large, realistic inputs for the benchmarks: real captures multiplied.

The flows of `sample_flows/` (real Chromium sessions) are repeated with varied ids, page
origins, backend ports, paths and timestamps, so that the engine sees many origins, URLs and
outcomes (allowed, blocked for every story's reason, preflights and their pairs).
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mitmproxy.addons.savehar import SaveHar
from mitmproxy.http import HTTPFlow
from mitmproxy.io import tnetstring

from cors_inspector.readers.tnetstring import records

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_flows"


def sample_states() -> list[dict[str, Any]]:
    """Every HTTP flow state of the real sample captures, in capture order."""
    states = []
    for path in sorted(SAMPLES.glob("*.mitm")):
        with path.open("rb") as raw:
            states += [s for s in records(raw) if s.get("type") == "http"]
    return states


def _vary(state: dict[str, Any], copy: int, offset: float) -> dict[str, Any]:
    """A copy of a flow state from another page origin, port and path, later in time."""
    request = dict(state["request"])
    request["port"] = 20000 + copy % 2000
    request["path"] = request["path"].replace(b"?", f"/v{copy}?".encode(), 1)
    page = f"http://localhost:{30000 + copy % 500}".encode()
    host = f"{request['host']}:{request['port']}".encode()

    def varied_header(name: bytes, value: bytes) -> bytes:
        lowered = name.lower()
        if lowered == b"origin" and value != b"null":
            return page
        return host if lowered == b"host" else value

    request["headers"] = [[name, varied_header(name, value)] for name, value in request["headers"]]
    request["timestamp_start"] = (request["timestamp_start"] or 0) + offset
    varied = dict(
        state, id=str(uuid.UUID(int=copy * 1_000_003 + hash(state["id"]) % 997)), request=request
    )
    response = state.get("response")
    if response:
        allow = [
            page
            if name.lower() == b"access-control-allow-origin" and value not in (b"*", b"null")
            else value
            for name, value in ((n, v) for n, v in response["headers"])
        ]
        varied["response"] = dict(
            response,
            headers=[
                [name, value] for (name, _), value in zip(response["headers"], allow, strict=True)
            ],
            timestamp_end=(response.get("timestamp_end") or 0) + offset,
        )
    return varied


def many_states(count: int) -> Iterator[dict[str, Any]]:
    base = sample_states()
    span = max(s["request"]["timestamp_start"] or 0 for s in base) - min(
        s["request"]["timestamp_start"] or 0 for s in base
    )
    produced = 0
    copy = 0
    while produced < count:
        for state in base:
            if produced == count:
                return
            yield _vary(state, copy, offset=copy * (span + 60))
            produced += 1
        copy += 1


def write_mitm(path: Path, count: int) -> Path:
    with path.open("wb") as out:
        for state in many_states(count):
            tnetstring.dump(state, out)
    return path


def write_har(path: Path, count: int, chunk: int = 2_000) -> Path:
    """A HAR of `count` entries (mitmproxy's own export), written without holding it all."""
    saver = SaveHar()
    with path.open("w") as out:
        out.write(
            '{"log": {"version": "1.2", "creator": {"name": "bench", "version": "1"}, '
            '"pages": [], "entries": ['
        )
        first = True
        batch: list[HTTPFlow] = []
        for state in many_states(count):
            batch.append(HTTPFlow.from_state(copy.deepcopy(state)))  # from_state pops keys
            if len(batch) == chunk:
                for entry in saver.make_har(batch)["log"]["entries"]:
                    out.write(("" if first else ",") + json.dumps(entry))
                    first = False
                batch = []
        for entry in saver.make_har(batch)["log"]["entries"] if batch else []:
            out.write(("" if first else ",") + json.dumps(entry))
            first = False
        out.write("]}}")
    return path
