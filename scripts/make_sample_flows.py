"""Regenerate sample_flows/ and the bundled demo capture from real Chromium runs.

Usage: ``.venv/bin/python scripts/make_sample_flows.py`` (about 30 s).

Each story of ``tests/browser/stories.py`` is one run of the browser harness: real Chromium
fetches through a real mitmdump from a page to real FastAPI apps (or the raw backend).  For
each story this writes ``sample_flows/<story>.mitm`` (the page's flows, as mitmdump saved
them), ``sample_flows/<story>.har`` (mitmproxy's own HAR export of the same flows), then
``sample_flows/stories.json`` (Chromium's verdict on every fetch, from the run's
chromium.json), ``sample_flows/README.md`` and ``cors_inspector/samples/demo.mitm`` (every
story, one after the other).  Nothing is written unless Chromium decided every fetch as its
story expects.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mitmproxy import http, io
from mitmproxy.addons.savehar import SaveHar

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the harness is in tests/browser, outside the package

from show_ground_truth import outcome  # noqa: E402  (the sibling script)

from tests.browser.capture import CHROMIUM, RunResult, run_capture  # noqa: E402
from tests.browser.cases import Case  # noqa: E402
from tests.browser.stories import STORIES, Story  # noqa: E402

SAMPLES = REPO / "sample_flows"
DEMO = REPO / "cors_inspector" / "samples" / "demo.mitm"
LOOPBACK = ("localhost", "127.0.0.1")
Record = dict[str, Any]


@dataclass
class StoryRun:
    story: Story
    run: RunResult
    flows: list[http.HTTPFlow]
    netlog: bytes  # Chromium's own record of the session (--log-net-log, Everything mode)


def page_flows(flows_path: Path) -> list[http.HTTPFlow]:
    """The page session's flows, without Chromium's own background requests (its update
    check goes through the proxy too, and never to loopback)."""
    with flows_path.open("rb") as f:
        return [
            flow
            for flow in io.FlowReader(f).stream()
            if isinstance(flow, http.HTTPFlow) and flow.request.host in LOOPBACK
        ]


def surprises(story: Story, run: RunResult) -> list[str]:
    """Where Chromium did not decide as the story says (its texts would then be wrong)."""
    found = []
    for case in story.cases:
        record = run.record(case.id)
        if not record["cdp_settled"]:
            found.append(f"{case.id}: CDP never reported the end of every request")
        if outcome(record) != case.expect:
            found.append(f"{case.id}: Chromium said {outcome(record)}, expected {case.expect}")
        read = record["js"].get("readable_header_value")
        if case.read_header and read != case.read_header[1]:
            found.append(f"{case.id}: JS read {case.read_header[0]} as {read!r}")
    return found


def capture(story: Story, workdir: Path) -> StoryRun:
    started = time.monotonic()
    run = run_capture(workdir / story.id, story.cases, story.backends)
    if problems := surprises(story, run):
        raise SystemExit(f"{story.id}: not as the story says:\n  " + "\n  ".join(problems))
    print(f"{story.id:<28} {len(run.cases)} fetches in {time.monotonic() - started:.1f}s")
    return StoryRun(story, run, page_flows(run.flows_path), run.netlog_path.read_bytes())


def request_entry(record: Record, case: Case) -> Record:
    entry = {
        "case": record["id"],
        "url_path": urlsplit(record["url"]).path,
        "method": record["method"],
        "request_headers": [name for name, _ in case.headers],
        "credentials": record["credentials"],
        "chromium_verdict": record["chromium_verdict"],
        "chromium_reason": record["chromium_reason"],
        "cors_checked": record["cors_checked"],
    }
    if case.read_header:
        entry["read_header"] = {
            "name": case.read_header[0],
            "js_value": record["js"]["readable_header_value"],
        }
    return entry


def said(request: Record) -> str:
    """Chromium's verdict on one fetch, in words."""
    extras = request["request_headers"] + ["credentials"] * (request["credentials"] == "include")
    text = f"{request['method']} {request['url_path']}"
    text += f" with {', '.join(extras)}" if extras else ""
    text += f": {request['chromium_verdict']}"
    if request["chromium_reason"]:
        text += f" ({request['chromium_reason']})"
    if read := request.get("read_header"):
        text += f", response.headers.get('{read['name']}') gave {json.dumps(read['js_value'])}"
    return text


def story_entry(story_run: StoryRun) -> Record:
    story = story_run.story
    requests = [request_entry(story_run.run.record(case.id), case) for case in story.cases]
    return {
        "id": story.id,
        "files": {
            "mitm": f"{story.id}.mitm",
            "har": f"{story.id}.har",
            "netlog": f"{story.id}.netlog.json",
        },
        "page_origin": story_run.run.cases[0]["page_origin"],
        "page_did": story.page_did,
        "chromium_said": "; ".join(map(said, requests)),
        "fix": story.fix,
        "requests": requests,
    }


def write_mitm(path: Path, flows: list[http.HTTPFlow]) -> None:
    with path.open("wb") as f:
        writer = io.FlowWriter(f)
        for flow in flows:
            writer.add(flow)


def write_har(path: Path, flows: list[http.HTTPFlow]) -> None:
    # Serialised as mitmproxy's own `save.har` command does.
    path.write_text(json.dumps(SaveHar().make_har(flows), indent=4))


def chromium_version() -> str:
    argv = [str(CHROMIUM), "--version"]
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()


def manifest(stories: list[Record]) -> Record:
    return {
        "regenerate": ".venv/bin/python scripts/make_sample_flows.py",
        "recorded_with": {
            "chromium": chromium_version(),
            **{name: version(name) for name in ("mitmproxy", "fastapi", "starlette", "uvicorn")},
        },
        "demo": {"file": str(DEMO.relative_to(REPO)), "stories": [s["id"] for s in stories]},
        "stories": stories,
    }


def readme(stories: list[Record]) -> str:
    lines = [
        "# Sample flows: FastAPI CORS stories, recorded from real Chromium",
        "",
        "Regenerate with `.venv/bin/python scripts/make_sample_flows.py` (real Chromium through "
        "mitmdump; Chromium's verdicts go to `stories.json`); analyse one with "
        "`cors-inspector analyze sample_flows/<story>.mitm` (or its `.har`, or "
        "`.netlog.json`: Chromium's own NetLog of the same session).",
        "",
    ]
    lines += [
        f"- **{s['id']}**: {s['page_did']} Chromium: {s['chromium_said']}. Fix: {s['fix']}"
        for s in stories
    ]
    return "\n".join(lines) + "\n"


def write_samples(story_runs: list[StoryRun]) -> None:
    for stale in [*SAMPLES.glob("*.mitm"), *SAMPLES.glob("*.har"), *SAMPLES.glob("*.netlog.json")]:
        stale.unlink()
    for story_run in story_runs:
        write_mitm(SAMPLES / f"{story_run.story.id}.mitm", story_run.flows)
        write_har(SAMPLES / f"{story_run.story.id}.har", story_run.flows)
        (SAMPLES / f"{story_run.story.id}.netlog.json").write_bytes(story_run.netlog)
    write_mitm(DEMO, [flow for story_run in story_runs for flow in story_run.flows])
    stories = [story_entry(story_run) for story_run in story_runs]
    (SAMPLES / "stories.json").write_text(json.dumps(manifest(stories), indent=1) + "\n")
    (SAMPLES / "README.md").write_text(readme(stories))


def main() -> None:
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="sample-flows-"))
    print(f"browser runs in {workdir} (kept if a story fails)")
    story_runs = [capture(story, workdir) for story in STORIES]
    shutil.rmtree(workdir)
    SAMPLES.mkdir(exist_ok=True)
    DEMO.parent.mkdir(exist_ok=True)
    write_samples(story_runs)
    for path in sorted([*SAMPLES.iterdir(), DEMO]):
        print(f"{path.stat().st_size / 1024:7.1f} KB  {path.relative_to(REPO)}")
    print(f"{len(story_runs)} stories in {time.monotonic() - started:.0f}s")


if __name__ == "__main__":
    main()
