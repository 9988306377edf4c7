"""Show fixes: per backend (the `fix` command) and under each blocked request (`analyze`)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.syntax import Syntax
from rich.text import Text

from ..engine import Decision
from ..fix import Suggestion
from ..fix.config import CorsConfig
from ..fix.diagnose import Lookalike
from ..fix.observe import decision_shape

RISK_STYLE = {"high": "bold red", "medium": "yellow", "low": "dim"}


def verification_line(suggestion: Suggestion) -> Text:
    verification = suggestion.verification
    if verification is None or not verification.checks:
        return Text("Nothing to verify: no request here can be fixed by a CORS setting.", "dim")
    total = sum(check.observation.count for check in verification.checks)
    was_blocked = sum(
        check.observation.count for check in verification.checks if check.observation.blocked
    )
    if verification.ok:
        page_methods = [
            check.method
            for check in verification.checks
            if check.method != check.observation.method
        ]
        after_page = f" once the page sends {', '.join(sorted(set(page_methods)))}" * bool(
            page_methods
        )
        return Text(
            f"✔ verified with Starlette {verification.starlette_version}: all {total} requests "
            f"pass{after_page} ({was_blocked} {'was' if was_blocked == 1 else 'were'} blocked)",
            style="green",
        )
    failed = sum(check.observation.count for check in verification.failures)
    text = Text(
        f"✘ with Starlette {verification.starlette_version}, {failed} of "
        f"{total} requests still fail:",
        style="bold red",
    )
    for check in verification.failures:
        failure = check.failure
        assert failure is not None
        text.append(f"\n  {check.method} {check.observation.decision.url}: {failure.reason}", "red")
    return text


def config_syntax(config: CorsConfig) -> Syntax:
    return _syntax(config.to_python())


def _syntax(code: str) -> Syntax:
    return Syntax(code, "python", theme="ansi_dark", background_color="default")


def fix_panel(suggestion: Suggestion) -> Panel:
    observations = suggestion.verification.checks if suggestion.verification else []
    parts: list[RenderableType] = []
    if suggestion.current is None:
        parts.append(
            Text(
                "Now: no CORS headers in any response (no CORSMiddleware answers, or "
                "it refuses every origin seen).",
                style="dim",
            )
        )
    else:
        parts.append(Text("Now, as the responses show it:", style="dim"))
        parts.append(config_syntax(suggestion.current))
    if observations:
        parts.append(
            Text(
                "Suggested (paste after every other add_middleware call, so CORS is "
                "the outermost layer):",
                style="bold",
            )
        )
        parts.append(config_syntax(suggestion.config))
    parts.append(verification_line(suggestion))
    parts.extend(credentialed_case(suggestion))
    shown: set[str] = set()
    for observation, lookalike in suggestion.lookalikes:
        if lookalike.title in shown:
            continue
        shown.add(lookalike.title)
        heading = "Diagnosis" if lookalike.cors_change_helps else "Not a CORS setting"
        parts.append(Text(f"\n{heading}: {lookalike.title}", style="bold yellow"))
        parts.append(Text(f"  {observation.method} {observation.decision.url}", style="dim"))
        parts.append(Text(f"  {lookalike.fix}"))
    for risk in suggestion.risks:
        parts.append(
            Text(
                f"\nRisk ({risk.severity}): {risk.title}. {risk.detail}",
                style=RISK_STYLE[risk.severity],
            )
        )
    for note in suggestion.notes if observations else ():
        parts.append(Text(f"Note: {note}", style="dim"))
    checked = sum(check.observation.count for check in observations)
    title = f"Fix for {suggestion.backend} ({checked} requests checked)"
    return Panel(Group(*parts), title=title, title_align="left", border_style="cyan")


def credentialed_case(suggestion: Suggestion) -> list[RenderableType]:
    """The configuration for requests that pass only while the page sends no credentials."""
    alternative = suggestion.if_credentials
    if alternative is None:
        return []
    return [
        credentialed_heading(suggestion),
        config_syntax(alternative.config),
        verification_line(alternative),
    ]


def credentialed_heading(suggestion: Suggestion) -> Text:
    alternative = suggestion.if_credentials
    checks = alternative.verification.checks if alternative and alternative.verification else []
    count = sum(
        c.observation.count
        for c in checks
        if c.observation.decision.verdict_if_credentials == "blocked"
    )
    return Text(
        f"\nIf the page sends credentials (fetch `credentials: 'include'`, XHR "
        f"`withCredentials`), {count} request{'s' if count != 1 else ''} allowed here "
        "would be blocked; then use:",
        style="bold yellow",
    )


class FixesByRequest:
    """What to change for each blocked request of one backend: its look-alike's fix, or the
    backend's configuration. Only words are kept, the renderables made when asked for (a
    Syntax holds its theme): `analyze` holds one of these per backend, not the suggestion
    (whose verification holds every request checked)."""

    def __init__(self, suggestion: Suggestion) -> None:
        self._backend = suggestion.backend
        self._code = suggestion.config.to_python()
        self._verified = verification_line(suggestion)
        alternative = suggestion.if_credentials
        self._credentialed = (
            (
                credentialed_heading(suggestion),
                alternative.config.to_python(),
                verification_line(alternative),
            )
            if alternative is not None
            else None
        )
        self._by_id: dict[str, Lookalike] = {}
        self._by_shape: dict[tuple[Any, ...], Lookalike] = {}
        for observation, lookalike in suggestion.lookalikes:
            for exchange in (observation.preflight, observation.actual):
                if exchange is not None:
                    self._by_id.setdefault(exchange.id, lookalike)
            # Observations are kept once per shape: the others of its shape look the same.
            self._by_shape.setdefault(decision_shape(observation.decision), lookalike)

    def __call__(self, decision: Decision) -> RenderableType | None:
        if decision.verdict != "blocked":  # blocked only if the page sends credentials
            if self._credentialed is None:
                return None
            heading, code, verified = self._credentialed
            return Group(heading, _syntax(code), verified)
        found = self._by_id.get(decision.flow_id) or self._by_shape.get(decision_shape(decision))
        if found is None:
            return Group(
                Text(f"Fix for {self._backend}:", style="bold"), _syntax(self._code), self._verified
            )
        heading = "Diagnosis" if found.cors_change_helps else "Not a CORS setting"
        body: list[RenderableType] = [
            Text(f"{heading}: {found.title}", style="bold yellow"),
            Text(found.fix),
        ]
        if found.cors_change_helps:
            body += [_syntax(self._code), self._verified]
        return Group(*body)


def fix_for_decision(decision: Decision, suggestion: Suggestion | None) -> RenderableType | None:
    """What to change for one blocked request: its look-alike's fix, or the backend's config."""
    return FixesByRequest(suggestion)(decision) if suggestion is not None else None


def suggestion_record(suggestion: Suggestion) -> dict[str, Any]:
    verification = suggestion.verification
    checks = verification.checks if verification else []
    return {
        "backend": suggestion.backend,
        "config": suggestion.config.kwargs(),
        "python": suggestion.config.to_python(),
        "current": suggestion.current.kwargs() if suggestion.current else None,
        "verified": bool(verification and verification.checks and verification.ok),
        "starlette_version": verification.starlette_version if verification else None,
        "checks": [
            {
                "flow_id": check.observation.decision.flow_id,
                "url": check.observation.decision.url,
                "method": check.method,
                "before": check.observation.decision.verdict,
                "count": check.observation.count,  # requests of this shape it stands for
                "after": "allowed" if check.passed else "blocked",
                "reason": check.failure.reason if check.failure else None,
            }
            for check in checks
        ],
        "lookalikes": [
            {
                "flow_id": observation.decision.flow_id,
                "url": observation.decision.url,
                "code": lookalike.code,
                "title": lookalike.title,
                "fix": lookalike.fix,
                "cors_change_helps": lookalike.cors_change_helps,
            }
            for observation, lookalike in suggestion.lookalikes
        ],
        "risks": [asdict(risk) for risk in suggestion.risks],
        "notes": suggestion.notes,
        "if_credentials": (
            suggestion_record(suggestion.if_credentials) if suggestion.if_credentials else None
        ),
    }
