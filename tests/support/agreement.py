"""What "the engine agrees with Chromium" means for one fetch.

Shared by ``test_agreement`` (the browser run's cases) and ``tests/unit/test_sample_flows.py``
(the recorded stories in ``sample_flows/``), so both hold the engine to the same rule.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cors_inspector.readers.netlog_constants import CORS_ERRORS_BY_VERSION
from tests.support.paths import REPO


def case_of(url: str) -> str | None:
    """The browser suite's case id, from the `case` query parameter of a URL."""
    return parse_qs(urlsplit(url).query).get("case", [None])[0]


EngineRecord = dict[str, Any]

# cors-inspector's exit status: 0 nothing blocked, 1 something blocked (both are results).
ANALYZED = (0, 1)


@dataclass
class Analysis:
    """``cors-inspector analyze --format jsonl`` output, or why there is none."""

    jsonl: str
    error: str | None = None

    def __repr__(self) -> str:  # keeps pytest's failure reports short
        return f"Analysis({len(self.jsonl)} chars, error={self.error is not None})"


def analyze_jsonl(flows: Path) -> Analysis:
    """Run the CLI on ``flows``.  A crash is kept as ``error`` so that every test using the
    output fails with it (rather than erroring)."""
    argv = [sys.executable, "-m", "cors_inspector", "analyze", str(flows), "--format", "jsonl"]
    proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=300)
    if proc.returncode not in ANALYZED:
        return Analysis("", f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stderr[-4000:]}")
    return Analysis(proc.stdout)


def group_by_case(jsonl: str) -> dict[str, list[EngineRecord]]:
    """``analyze --format jsonl`` output by the case id in each URL, each in time order.

    Raises ValueError, KeyError or TypeError on output that is not the jsonl schema.
    """
    grouped: dict[str, list[EngineRecord]] = defaultdict(list)
    for line in jsonl.splitlines():
        if line.strip():
            record = json.loads(line)
            if case_id := case_of(record["url"]):
                grouped[case_id].append(record)
    for records in grouped.values():
        records.sort(key=lambda r: r["started"])
    return grouped


def describe(records: list[EngineRecord]) -> str:
    return "\n".join(
        f"  {r['kind']:<11} {r['method']:<7} {r['verdict']:<14} {r.get('reason')} "
        f"{r['url']}\n    {r.get('explanation')}"
        for r in records
    )


# Per browser: the engine record's field holding that browser's reason, and the one holding
# its reason had the page sent credentials.
REASON_FIELDS = {
    "chromium": ("reason", "reason_if_credentials"),
    "firefox": ("firefox_reason", "firefox_reason_if_credentials"),
}


def explained_by_credentials(
    truth: Mapping[str, Any], records: list[EngineRecord], browser: str = "chromium"
) -> bool:
    """The browser blocked what the wire shows as allowed, and the engine says so: blocked if
    the page sent credentials, for the browser's reason (the wire cannot show the mode)."""
    reason = truth[f"{browser}_reason"]
    _, if_credentials = REASON_FIELDS[browser]
    return truth[f"{browser}_verdict"] == "blocked" and any(
        r["verdict"] == "allowed"
        and r.get("verdict_if_credentials") == "blocked"
        and r.get(if_credentials) == reason
        for r in records
    )


def disagreement(
    truth: Mapping[str, Any], records: list[EngineRecord], browser: str = "chromium"
) -> str | None:
    """Why the engine's ``records`` for one fetch contradict the browser, or None if they don't.

    ``truth`` carries ``<browser>_verdict``, ``<browser>_reason`` and ``cors_checked`` as
    chromium.json (firefox.json) records them; the engine's reason for that browser is
    ``reason`` (Chromium's CorsError) or ``firefox_reason``.
    """
    name = browser.capitalize()
    if not records:
        return "the engine reported nothing"
    verdict = truth[f"{browser}_verdict"]
    field, _ = REASON_FIELDS[browser]
    if verdict == "blocked":
        reason = truth[f"{browser}_reason"]
        if any(r["verdict"] == "blocked" and r[field] == reason for r in records):
            return None
        if explained_by_credentials(truth, records, browser):
            return None
        return f"{name} blocked with {reason}; no engine record says so"
    if any(r["verdict"] == "blocked" for r in records):
        return f"{name} did not block this fetch"
    if verdict == "failed":
        return None  # a network error without a CORS error: only "not blocked" is checkable
    final = [r for r in records if r["kind"] != "preflight"]
    if not final:
        return "no non-preflight record"
    expected = "allowed" if truth["cors_checked"] else "not-applicable"
    if final[-1]["verdict"] != expected:
        return f"the final request should be {expected}"
    if verdict == "opaque" and final[-1]["kind"] != "not-cors":
        return "an opaque (no-cors) response should be of kind not-cors"
    return None


def har_disagreement(chromium: Mapping[str, Any], records: list[EngineRecord]) -> str | None:
    """`disagreement` for Playwright's HAR, which keeps no headers of a request the browser
    failed (nor any preflight), so that net::ERR_FAILED is all it shows: "blocked" without a
    reason is then right for a CORS failure, and the best it can say of another failure (a
    redirect under `redirect: 'error'`). A hop never followed (`redirect: 'manual'`) is an
    entry with nothing but net::ERR_ABORTED: not a request the page saw."""
    failed = chromium["chromium_verdict"] in ("blocked", "failed")
    if failed and any(
        r["verdict"] == "blocked" and r["reason"] is None and r["status"] is None for r in records
    ):
        return None
    if chromium["chromium_verdict"] == "failed" and not any(
        r["verdict"] == "blocked" for r in records
    ):
        return None  # a network error: only "not blocked" is checkable, as in `disagreement`
    answered = [r for r in records if r["status"] is not None or r["verdict"] == "blocked"]
    return disagreement(chromium, answered)


# -- Chromium's own NetLog: every request, each with its own verdict ---------------------------

# cors.mojom's "Preflight:" errors: the ones CORS_PREFLIGHT_ERROR carries, and the ones the
# cases provoke (InvalidResponse, a preflight's network error, is not provoked here).
PREFLIGHT_ERRORS = set(CORS_ERRORS_BY_VERSION[156][9:21])

Verdict = tuple[str, str | None]


def chromium_verdicts(requests: list[dict[str, Any]]) -> dict[str, dict[str, list[Verdict]]]:
    """Per case, per kind, Chromium's (verdict, CorsError) of each request in order. CDP puts
    a preflight's error on its actual request only: a preflight failed if that error is one
    of the preflight errors."""
    by_case: dict[str, dict[str, list[Verdict]]] = defaultdict(lambda: defaultdict(list))
    for case in {request["case"] for request in requests}:
        mine = [request for request in requests if request["case"] == case]
        errors = [r["cors_error"] for r in mine if not r["is_preflight"] and r["cors_error"]]
        preflight_error = next((e for e in errors if e in PREFLIGHT_ERRORS), None)
        for request in mine:
            if request["is_preflight"]:
                verdict = ("blocked", preflight_error) if preflight_error else ("allowed", None)
                by_case[case]["preflight"].append(verdict)
            else:
                error = request["cors_error"]
                by_case[case]["actual"].append(("blocked", error) if error else ("allowed", None))
    return by_case


def engine_verdicts(records: list[EngineRecord]) -> dict[str, list[Verdict]]:
    by_kind: dict[str, list[Verdict]] = defaultdict(list)
    for record in records:
        by_kind[record["kind"]].append((record["verdict"], record["reason"]))
    return by_kind


def netlog_agreement(
    requests: list[dict[str, Any]], by_case: Mapping[str, list[EngineRecord]]
) -> tuple[int, list[str]]:
    """How many requests the engine judged as Chromium did, and each case where it did not.

    ``requests`` are tests/browser/netlog_run.py's CDP records; ``by_case`` is
    ``group_by_case`` of ``analyze --format jsonl`` over the run's NetLog.
    """
    chromium = chromium_verdicts(requests)
    agreed, disagreements = 0, []
    for case, expected in sorted(chromium.items()):
        found = engine_verdicts(by_case.get(case, []))
        for kind in sorted({*expected, *found}):
            if expected[kind] == found[kind]:
                agreed += len(expected[kind])
            else:
                disagreements.append(
                    f"{case} {kind}: Chromium {expected[kind]}, engine {found[kind]}"
                )
    return agreed, disagreements
