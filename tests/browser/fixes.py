"""Apply cors-inspector's suggested fix to the real FastAPI apps, then ask Chromium again.

For a capture (the browser run, or a story of ``sample_flows/``), ``plan`` computes
``suggestions_for`` over the engine's decisions: one suggestion per backend *origin*
(scheme://host:port; every FastAPI app instance has its own port).  Each FastAPI backend
instance with a suggestion is started again with ``CORS_CONFIG`` = the suggestion's
``config.kwargs()`` (see apps.py), and ``rerun`` runs the requests the suggestion covers in
real Chromium through mitmdump (``capture.run_capture``), with the pages served on the port
of the original capture: the suggested ``allow_origins`` name the page origins as the
browser sent them.  Requests no CORS setting can fix (``Suggestion.uncovered``: a page's
lower-case method, Origin ``null``, a 500 without CORS headers, a redirected preflight, ...)
are kept out of the judgement and named with their look-alike code.
"""

from __future__ import annotations

import asyncio
import json
import traceback
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from cors_inspector.engine import Analyzer, Decision
from cors_inspector.fix import Observation, Suggestion, suggestions_for
from cors_inspector.fix.config import CorsConfig
from cors_inspector.readers import read_capture
from tests.support import servers
from tests.support.agreement import case_of

from .capture import RunResult, origin_of, run_capture
from .cases import Case

# A request Chromium refused, and what counts as accepting it again.
BLOCKED = "blocked"
WORKERS = 3  # re-runs at once (each: Chromium, mitmdump, the raw backend, its apps)
ATTEMPTS = 2  # a re-run that breaks down before any verdict is tried once more

SUMMARY_KEY = pytest.StashKey[list[str]]()  # lines for pytest_terminal_summary


def decisions_of(flows: Path) -> list[Decision]:
    return list(Analyzer().run(read_capture(flows)))


def observations_of(suggestion: Suggestion) -> list[Observation]:
    """Every observation of the backend: the verified ones, then the uncovered ones."""
    verification = suggestion.verification
    checked = [check.observation for check in verification.checks] if verification else []
    return checked + suggestion.uncovered


def port_of(origin: str) -> int | None:
    return urlsplit(origin).port if origin != "null" else None


def accepts(before: str, after: str | None) -> bool:
    """Chromium accepts the re-run request: allowed (an opaque or failed fetch stays so)."""
    if after == BLOCKED or after is None:
        return False
    return after == ("allowed" if before in (BLOCKED, "allowed") else before)


@dataclass
class FixPlan:
    """What one capture's suggestions say to re-run, and against which fixed apps."""

    name: str
    cases: dict[str, Case]  # every fetch of the capture, by id
    before: dict[str, str]  # case id -> Chromium's verdict in the capture
    suggestions: dict[str, Suggestion]  # backend origin -> suggestion
    instance_origin: dict[str, str]  # FastAPI backend instance -> its origin in the capture
    apps: dict[str, str]  # FastAPI backend instance -> app name in apps.py
    uncovered: dict[str, list[str]]  # case id -> look-alike codes (no CORS setting helps)
    covered: list[str]  # case ids the re-run must have Chromium accept
    rerun_cases: list[Case]  # run in this order
    page_port: int | None

    def suggestion_for(self, instance: str) -> Suggestion | None:
        origin = self.instance_origin.get(instance)
        return self.suggestions.get(origin) if origin else None

    @property
    def fixed_instances(self) -> list[str]:
        targets = {case.target for case in self.rerun_cases}
        return [i for i in self.apps if i in targets and self.suggestion_for(i) is not None]

    @property
    def backend_env(self) -> dict[str, dict[str, str]]:
        env = {}
        for instance in self.fixed_instances:
            suggestion = self.suggestion_for(instance)
            assert suggestion is not None
            env[instance] = {"CORS_CONFIG": json.dumps(self.config_for(suggestion).kwargs())}
        return env

    def config_for(self, suggestion: Suggestion) -> CorsConfig:
        """The configuration a user applies: the credentialed one where Chromium blocked what
        the capture showed as allowed but blocked if the page sends credentials (the wire
        could not tell), as `fix` offers it beside the plain one."""
        alternative = suggestion.if_credentials
        if alternative is not None and alternative.verification is not None:
            for check in alternative.verification.checks:
                decision = check.observation.decision
                case_id = case_of(decision.url) or ""
                if decision.verdict_if_credentials and self.before.get(case_id) == BLOCKED:
                    return alternative.config
        return suggestion.config

    @property
    def blocked(self) -> list[str]:
        return [case_id for case_id, verdict in self.before.items() if verdict == BLOCKED]

    @property
    def scripted(self) -> list[str]:
        """Blocked cases the suggestion covers on a backend that is no FastAPI app (the
        scripted raw backend): verified by Starlette only, there is no app to re-run."""
        return [
            case_id
            for case_id in self.blocked
            if case_id not in self.uncovered and self.cases[case_id].target not in self.apps
        ]

    def uncovered_blocked(self) -> dict[str, list[str]]:
        return {c: codes for c, codes in self.uncovered.items() if self.before.get(c) == BLOCKED}

    def describe(self, instance: str) -> str:
        suggestion = self.suggestion_for(instance)
        if suggestion is None:
            return f"{instance}: no suggestion"
        config = self.config_for(suggestion).to_python()
        return f"{instance} ({suggestion.backend}), CORS_CONFIG:\n{config}"


def plan(
    name: str,
    decisions: Iterable[Decision],
    cases: Sequence[Case],
    before: Mapping[str, str],
    apps: Mapping[str, str],
    page_port: int | None,
    *,
    whole_session: bool,
) -> FixPlan:
    """Suggestions over ``decisions``, and the re-run they call for.

    ``whole_session`` (a story): re-run every fetch, in order, and require Chromium to accept
    every covered one (a fix must not break what worked).  Otherwise (the browser run):
    re-run exactly the covered blocked fetches to FastAPI backends.
    """
    decisions = list(decisions)
    by_id = {case.id: case for case in cases}
    suggestions = suggestions_for(decisions)
    instance_origin: dict[str, str] = {}
    for decision in decisions:
        case = by_id.get(case_of(decision.url) or "")
        if case is not None and case.target in apps:
            instance_origin.setdefault(case.target, origin_of(decision.url))
    uncovered: dict[str, set[str]] = defaultdict(set)
    for suggestion in suggestions.values():
        for observation in suggestion.uncovered:
            if case_id := case_of(observation.decision.url):
                lookalike = suggestion.lookalike_of(observation)
                uncovered[case_id].add(lookalike.code if lookalike else "?")
    fixable = [
        case
        for case in cases
        if case.id not in uncovered
        and case.target in apps
        and case.target in instance_origin
        and suggestions.get(instance_origin[case.target]) is not None
    ]
    if whole_session:
        covered = [case.id for case in fixable]
        rerun_cases = list(cases) if covered else []
    else:
        covered = [case.id for case in fixable if before.get(case.id) == BLOCKED]
        rerun_cases = [by_id[case_id] for case_id in covered]
    return FixPlan(
        name=name,
        cases=by_id,
        before=dict(before),
        suggestions=suggestions,
        instance_origin=instance_origin,
        apps=dict(apps),
        uncovered={case_id: sorted(codes) for case_id, codes in uncovered.items()},
        covered=covered,
        rerun_cases=rerun_cases,
        page_port=page_port,
    )


@dataclass
class FixRun:
    """Chromium's verdicts on the re-run (or why there are none)."""

    plan: FixPlan
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    outdir: Path | None = None
    error: str | None = None
    breakdowns: list[str] = field(default_factory=list)  # attempts that gave no verdicts

    @property
    def ran(self) -> bool:
        return bool(self.records)

    def after(self, case_id: str) -> str | None:
        record = self.records.get(case_id)
        return record["chromium_verdict"] if record else None

    def is_accepted(self, case_id: str) -> bool:
        return accepts(self.plan.before[case_id], self.after(case_id))

    @property
    def accepted(self) -> list[str]:
        return [case_id for case_id in self.plan.covered if self.is_accepted(case_id)]

    def failure(self, case_id: str) -> str | None:
        """Why ``case_id`` was not accepted in the re-run, or None if it was."""
        if self.error:
            return f"the re-run failed: {self.error}"
        record = self.records.get(case_id)
        if record is None:
            return "not re-run"
        if self.is_accepted(case_id):
            return None
        case = self.plan.cases[case_id]
        requests = "\n".join(
            f"  {'preflight' if r['is_preflight'] else 'request'} {r['method']} "
            f"{' -> '.join(r['urls'])} statuses={r['statuses']} error={r['error_text']} "
            f"cors_error={r['cors_error']}"
            for r in record["requests"]
        )
        return (
            f"Chromium said {record['chromium_verdict']} {record['chromium_reason'] or ''} "
            f"(before the fix: {self.plan.before[case_id]}) for {record['url']}\n"
            f"{requests}\n{self.plan.describe(case.target)}\n"
            f"logs: {self.outdir / 'logs' if self.outdir else '-'}"
        )


def rerun(fix_plan: FixPlan, outdir: Path) -> FixRun:
    """Run the plan's fetches in Chromium against the apps started with the fix.

    A run that breaks down (a helper that never listens, a browser that crashes: no verdicts
    at all) is tried once more; Chromium's verdicts are never retried.
    """
    if not fix_plan.rerun_cases:
        return FixRun(fix_plan)
    targets = {case.target for case in fix_plan.rerun_cases}
    apps = {instance: app for instance, app in fix_plan.apps.items() if instance in targets}
    errors = []
    for attempt in range(ATTEMPTS):
        rundir = outdir if attempt == 0 else outdir.with_name(f"{outdir.name}-again")
        try:
            result: RunResult = run_capture(
                rundir,
                fix_plan.rerun_cases,
                apps,
                page_port=fix_plan.page_port,
                backend_env=fix_plan.backend_env,
            )
        except (Exception, asyncio.CancelledError):  # CancelledError: a BaseException
            errors.append(f"{rundir}:\n{traceback.format_exc(limit=4)}")
            continue
        return FixRun(fix_plan, {r["id"]: r for r in result.cases}, rundir, breakdowns=errors)
    return FixRun(fix_plan, outdir=outdir, error="\n".join(errors), breakdowns=errors)


def rerun_all(plans: Sequence[FixPlan], outdir: Path) -> dict[str, FixRun]:
    """``rerun`` every plan, ``WORKERS`` at a time; each run keeps its own directory."""
    servers.hold(*(p.page_port for p in plans if p.page_port is not None))
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = {p.name: pool.submit(rerun, p, outdir / p.name.replace("/", "_")) for p in plans}
        return {name: future.result() for name, future in futures.items()}


def uncovered_text(uncovered: Mapping[str, list[str]]) -> str:
    """``code: case, case; code: case`` (sorted), for summary lines."""
    by_code: dict[str, list[str]] = defaultdict(list)
    for case_id, codes in uncovered.items():
        for code in codes:
            by_code[code].append(case_id)
    return "; ".join(f"{code}: {', '.join(sorted(ids))}" for code, ids in sorted(by_code.items()))
