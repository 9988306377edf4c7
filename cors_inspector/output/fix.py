"""Show fixes: per backend (the `fix` command) and under each blocked request (`analyze`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.text import Text

from ..engine import Decision
from ..engine.words import counted
from ..fix import Suggestion
from ..fix.observe import decision_shape
from ..redact import redact_text
from .code import Block, Code, print_blocks

RISK_STYLE = {"high": "bold red", "medium": "yellow", "low": "dim"}


def verification_line(suggestion: Suggestion) -> Text:
    verification = suggestion.verification
    if verification is None or not verification.checks:
        return Text("Nothing to verify: no request here can be fixed by a CORS setting.", "dim")
    # An observation stands for every request of its shape (fix.observe.Folder).
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
        every = f"all {total} requests pass" if total != 1 else "the 1 request passes"
        return Text(
            f"✔ verified with Starlette {verification.starlette_version}: {every}"
            f"{after_page} ({was_blocked} {'was' if was_blocked == 1 else 'were'} blocked)",
            style="green",
        )
    failing = sum(check.observation.count for check in verification.failures)
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


def _requests(count: int) -> str:
    return f"{count} request{'s' if count != 1 else ''}"


def hidden_line(suggestion: Suggestion) -> Text | None:
    """The headers script cannot read, and how to expose them (never done by default)."""
    if not suggestion.hidden_headers:
        return None
    names = ", ".join(suggestion.hidden_headers)
    them = "it" if len(suggestion.hidden_headers) == 1 else "them"
    proof = {
        True: f" (✔ verified with Starlette: uncommented, script can read {them})",
        False: " (✘ Starlette does not let script read them even then)",
        None: "",
    }[suggestion.exposing_verified]
    return Text(
        f"Hidden from script: {names}. Nothing on the wire shows whether the page reads "
        f"{them}, so the fix does not expose {them}: if it does, uncomment the expose_headers "
        f"line{proof}.",
        style="yellow",
    )


def fix_blocks(suggestion: Suggestion) -> list[Block]:
    """One backend's fix: what the responses show now, the change, its proof, the rest."""
    checked = suggestion.verification.checks if suggestion.verification else []
    blocked = any(o.blocked for o in suggestion.observations)
    parts: list[Block] = []
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
        offered = () if suggestion.changed else suggestion.hidden_headers
        parts.append(Code(suggestion.current.to_python(offered)))
    if checked and suggestion.changed:
        parts.append(
            Text(
                "Suggested (paste after every other add_middleware call, so CORS is "
                "the outermost layer):",
                style="bold",
            )
        )
        parts.append(Code(suggestion.to_python()))
    elif blocked:
        parts.append(Text("Suggested: no change to CORSMiddleware; see below.", style="bold"))
    parts.append(verification_line(suggestion))
    if (hidden := hidden_line(suggestion)) is not None:
        parts.append(hidden)
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
    for note in suggestion.notes if checked else ():
        parts.append(Text(f"Note: {note}", style="dim"))
    return parts


def fix_title(suggestion: Suggestion) -> str:
    checks = suggestion.verification.checks if suggestion.verification else []
    checked = sum(check.observation.count for check in checks)
    return f"Fix for {suggestion.backend} ({_requests(checked)} checked)"


def masked(blocks: Iterable[Block]) -> list[Block]:
    """The blocks with every URL's userinfo and secret query values masked, for a view that
    shows secrets only when asked (the TUI); code holds origins only, never a secret."""
    return [_masked(block) for block in blocks]


def _masked(block: Block) -> Block:
    if isinstance(block, Text) and (plain := redact_text(block.plain)) != block.plain:
        return Text(plain, style=block.style)  # the spans no longer fit: the block's style
    return block


def fix_panel(suggestion: Suggestion, reveal: bool = True) -> Panel:
    """The fix in a box, for a widget that scrolls (the TUI); terminals get print_fix."""
    blocks = fix_blocks(suggestion)
    return Panel(
        Group(*(blocks if reveal else masked(blocks))),
        title=fix_title(suggestion),
        title_align="left",
        border_style="cyan",
    )


def print_fix(console: Console, suggestion: Suggestion) -> None:
    """The fix for a terminal or a pipe: its code unboxed and whole, ready to paste."""
    console.print(Text(fix_title(suggestion), style="bold cyan"))
    print_blocks(console, fix_blocks(suggestion))
    console.print()


def print_nothing_blocked(console: Console, suggestions: Iterable[Suggestion]) -> None:
    """`fix` when nothing is blocked: the headers script cannot read, and how to expose them."""
    hidden = [s for s in suggestions if s.hidden_headers]
    if not hidden:
        console.print("Nothing blocked: no fix needed.")
        return
    for suggestion in hidden:
        names = ", ".join(suggestion.hidden_headers)
        console.print(
            Text(
                f"Nothing blocked, but these headers are hidden from script: {names} "
                f"({suggestion.backend}).",
                style="bold yellow",
            )
        )
        print_fix(console, suggestion)


def credentialed_case(suggestion: Suggestion, alone: bool = False) -> list[Block]:
    """The configuration for requests that pass only while the page sends no credentials;
    `alone`: not under the suggestion's own configuration (one request of `analyze`)."""
    alternative = suggestion.if_credentials
    if alternative is None:
        return []
    checks = alternative.verification.checks if alternative.verification else []
    count = sum(
        c.observation.count
        for c in checks
        if c.observation.decision.verdict_if_credentials == "blocked"
    )
    intro = (
        f"\nIf the page sends credentials (fetch `credentials: 'include'`, XHR "
        f"`withCredentials`), {_requests(count)} allowed here would be blocked; "
    )
    if not alone and _same_change(alternative, suggestion):
        intro += "the configuration above covers that case too:"
        return [Text(intro, style="bold yellow"), verification_line(alternative)]
    return [
        Text(intro + "then use:", style="bold yellow"),
        Code(alternative.to_python()),
        verification_line(alternative),
    ]


def _same_change(alternative: Suggestion, suggestion: Suggestion) -> bool:
    return suggestion.changed and alternative.config == suggestion.config


class FixesByRequest:
    """What to change for each blocked request of one backend: its look-alike's fix, or the
    backend's configuration. Made once per backend and kept as words and code (`analyze`
    holds one per backend, not the suggestion, whose verification holds every request
    checked)."""

    def __init__(self, suggestion: Suggestion) -> None:
        change: list[Block] = [Code(suggestion.to_python())] * suggestion.changed
        verified = verification_line(suggestion)
        self._credentialed = credentialed_case(suggestion, alone=True)
        self._backend_fix: list[Block] = [
            Text(f"Fix for {suggestion.backend}:", style="bold"),
            *change,
            verified,
        ]
        self._by_id: dict[str, list[Block]] = {}
        self._by_shape: dict[tuple[Any, ...], list[Block]] = {}
        # Many requests share a look-alike's words: one body for each (bounded memory).
        bodies: dict[tuple[str, str, str, bool], list[Block]] = {}
        for observation, lookalike in suggestion.lookalikes:
            said = (lookalike.code, lookalike.title, lookalike.fix, lookalike.cors_change_helps)
            body = bodies.get(said)
            if body is None:
                heading = "Diagnosis" if lookalike.cors_change_helps else "Not a CORS setting"
                body = bodies[said] = [
                    Text(f"{heading}: {lookalike.title}", style="bold yellow"),
                    Text(lookalike.fix),
                ]
                if lookalike.cors_change_helps:
                    body += [*change, verified]
            for exchange in (observation.preflight, observation.actual):
                if exchange is not None:
                    self._by_id.setdefault(exchange.id, body)
            # Observations are kept once per shape: the others of its shape look the same.
            self._by_shape.setdefault(decision_shape(observation.decision), body)

    def __call__(self, decision: Decision) -> list[Block]:
        if decision.verdict != "blocked":  # blocked only if the page sends credentials
            return self._credentialed
        found = self._by_id.get(decision.flow_id) or self._by_shape.get(decision_shape(decision))
        return found if found is not None else self._backend_fix


def fix_blocks_for_decision(decision: Decision, suggestion: Suggestion | None) -> list[Block]:
    """What to change for one blocked request: its look-alike's fix, or the backend's config."""
    return FixesByRequest(suggestion)(decision) if suggestion is not None else []


def fix_for_decision(
    decision: Decision, suggestion: Suggestion | None, reveal: bool = True
) -> RenderableType | None:
    """fix_blocks_for_decision as one renderable, for a widget (the TUI)."""
    blocks = fix_blocks_for_decision(decision, suggestion)
    return Group(*(blocks if reveal else masked(blocks))) if blocks else None


def python_source(suggestions: Iterable[Suggestion]) -> str:
    """`fix --format python`: one block per backend (and per credentialed case), each under
    a comment naming it and saying whether Starlette verified it."""
    blocks = []
    for suggestion in suggestions:
        cases = [(suggestion, "")]
        if suggestion.if_credentials is not None and not _same_change(
            suggestion.if_credentials, suggestion
        ):
            cases.append((suggestion.if_credentials, ", if the page sends credentials"))
        for case, which in cases:
            code = case.to_python()
            if case.changed and case.verification and case.verification.checks:
                status = verification_line(case).plain.splitlines()[0]
            elif any(o.blocked for o in case.observations):
                status = "no CORSMiddleware change fixes what was blocked (`cors-inspector fix`)"
                code = ""
            else:
                status = "nothing blocked; the configuration the responses show"
            if case.hidden_headers:
                status += f"\n# hidden from script: {', '.join(case.hidden_headers)}"
            blocks.append(f"# {case.backend}{which}: {status}\n{code}".rstrip() + "\n")
    return "\n\n".join(blocks) if blocks else "# Nothing blocked: no fix needed.\n"


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
                "count": check.observation.count,  # requests of this shape it stands for
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
        "changed": suggestion.changed,
        "hidden_headers": suggestion.hidden_headers,
        "exposing_verified": suggestion.exposing_verified,
        "code": suggestion.to_python(),
        "if_credentials": (
            suggestion_record(suggestion.if_credentials) if suggestion.if_credentials else None
        ),
    }
