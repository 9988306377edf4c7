"""Show fixes: per backend (the `fix` command) and under each blocked request (`analyze`)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.syntax import Syntax
from rich.text import Text

from ..engine import Decision
from ..engine.words import counted
from ..fix import Suggestion
from ..fix.config import CorsConfig

RISK_STYLE = {"high": "bold red", "medium": "yellow", "low": "dim"}


def verification_line(suggestion: Suggestion) -> Text:
    verification = suggestion.verification
    if verification is None or not verification.checks:
        return Text("Nothing to verify: no request here can be fixed by a CORS setting.", "dim")
    total = len(verification.checks)
    was_blocked = sum(1 for check in verification.checks if check.observation.blocked)
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
            f"✔ verified with Starlette {verification.starlette_version}: "
            + ("the 1 request passes" if total == 1 else f"all {total} requests pass")
            + f"{after_page} ({was_blocked} {'was' if was_blocked == 1 else 'were'} blocked)",
            style="green",
        )
    failing = len(verification.failures)
    text = Text(
        f"✘ with Starlette {verification.starlette_version}, {failing} of "
        f"{counted(total, 'request')} still {'fails' if failing == 1 else 'fail'}:",
        style="bold red",
    )
    for check in verification.failures:
        failure = check.failure
        assert failure is not None
        text.append(f"\n  {check.method} {check.observation.decision.url}: {failure.reason}", "red")
    return text


def config_syntax(config: CorsConfig) -> Syntax:
    return Syntax(config.to_python(), "python", theme="ansi_dark", background_color="default")


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
    title = f"Fix for {suggestion.backend} ({counted(len(observations), 'request')} checked)"
    return Panel(Group(*parts), title=title, title_align="left", border_style="cyan")


def credentialed_case(suggestion: Suggestion) -> list[RenderableType]:
    """The configuration for requests that pass only while the page sends no credentials."""
    alternative = suggestion.if_credentials
    if alternative is None:
        return []
    checks = alternative.verification.checks if alternative.verification else []
    count = sum(1 for c in checks if c.observation.decision.verdict_if_credentials == "blocked")
    return [
        Text(
            f"\nIf the page sends credentials (fetch `credentials: 'include'`, XHR "
            f"`withCredentials`), {count} request{'s' if count != 1 else ''} allowed here "
            "would be blocked; then use:",
            style="bold yellow",
        ),
        config_syntax(alternative.config),
        verification_line(alternative),
    ]


def fix_for_decision(decision: Decision, suggestion: Suggestion | None) -> RenderableType | None:
    """What to change for one blocked request: its look-alike's fix, or the backend's config."""
    if suggestion is None:
        return None
    if decision.verdict != "blocked":  # blocked only if the page sends credentials
        return Group(*credentialed_case(suggestion)) if suggestion.if_credentials else None
    for observation, lookalike in suggestion.lookalikes:
        exchanges = (observation.preflight, observation.actual)
        if observation.decision is decision or any(
            e is not None and e.id == decision.flow_id for e in exchanges
        ):
            heading = "Diagnosis" if lookalike.cors_change_helps else "Not a CORS setting"
            body: list[RenderableType] = [
                Text(f"{heading}: {lookalike.title}", style="bold yellow"),
                Text(lookalike.fix),
            ]
            if lookalike.cors_change_helps:
                body += [config_syntax(suggestion.config), verification_line(suggestion)]
            return Group(*body)
    return Group(
        Text(f"Fix for {suggestion.backend}:", style="bold"),
        config_syntax(suggestion.config),
        verification_line(suggestion),
    )


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
