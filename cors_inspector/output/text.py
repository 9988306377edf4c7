"""Render decisions for a terminal with Rich: a table, then why each blocked request failed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime

from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..engine.decision import Decision
from ..engine.words import counted
from .styles import (
    IF_CREDENTIALS_STYLE,
    IF_CREDENTIALS_WORDS,
    STEP_STYLE,
    VERDICT_STYLE,
    Palette,
    reason_text,
    verdict_text,
)


def decisions_table(decisions: Sequence[Decision]) -> Table:
    table = Table(title="Requests", title_justify="left", expand=True, show_lines=False)
    table.add_column("time", no_wrap=True, style="dim")
    table.add_column("method", no_wrap=True)
    table.add_column("request", overflow="fold", ratio=3)
    table.add_column("status", justify="right", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    table.add_column("reason", overflow="fold", ratio=2)
    for decision in decisions:
        time = datetime.fromtimestamp(decision.started).strftime("%H:%M:%S")
        request = Text(decision.url)
        if decision.origin:
            request.append(f"\nfrom {decision.origin}", style="dim")
        table.add_row(
            time,
            decision.method,
            request,
            str(decision.status) if decision.status is not None else "-",
            verdict_text(decision),
            reason_text(decision),
        )
    return table


def trace_table(decision: Decision, palette: Palette | None = None) -> Table:
    table = Table(box=None, show_header=True, pad_edge=False, expand=True)
    table.add_column("", no_wrap=True)
    table.add_column("check", style="bold", overflow="fold", ratio=2, min_width=16)
    table.add_column("observed", overflow="fold", ratio=3)
    table.add_column("needed", overflow="fold", ratio=3)
    table.add_column("rule", style="dim", overflow="fold", ratio=2)
    for step in decision.trace:
        symbol, default = STEP_STYLE[step.outcome]
        style = palette[step.outcome] if palette else default
        table.add_row(Text(symbol, style=style), step.check, step.observed, step.needed, step.spec)
    return table


def blocked_panel(decision: Decision, fix: RenderableType | None = None) -> Panel:
    """Why a request was blocked, or (yellow) why it would be with credentials."""
    parts: list[RenderableType] = [Text(decision.explanation)]
    if decision.console_message:
        parts.append(Text(f"\nChromium: {decision.console_message}", style="dim"))
    if decision.firefox_reason:
        parts.append(Text(f"Firefox: {decision.firefox_reason}", style="dim"))
    if decision.reason_if_credentials:
        parts.append(
            Text(
                f"\nWith credentials: Chromium {decision.reason_if_credentials}, Firefox "
                f"{decision.firefox_reason_if_credentials}",
                style="dim",
            )
        )
    parts.append(
        Text(f"Credentials: {decision.credentials} ({decision.credentials_basis})", style="dim")
    )
    parts.append(Text(""))
    parts.append(trace_table(decision))
    if fix is not None:
        parts.append(Text(""))
        parts.append(fix)
    where = f"{escape(decision.method)} {escape(decision.url)}"
    if decision.verdict != "blocked":
        symbol, style = IF_CREDENTIALS_STYLE
        title = f"[{style}]{symbol} {IF_CREDENTIALS_WORDS}[/] {where}"
        return Panel(Group(*parts), title=title, title_align="left", border_style=style)
    title = f"[bold red]✘ {escape(decision.reason or 'blocked')}[/] {where}"
    return Panel(Group(*parts), title=title, title_align="left", border_style="red")


def summary_line(decisions: Sequence[Decision], shown: str = "") -> Text:
    """Counts over every request judged; `shown` says what the report above left out."""
    verdicts = Counter(decision.verdict for decision in decisions)
    text = Text(f"{counted(len(decisions), 'request')}: ")
    for verdict in ("blocked", "allowed", "unknown", "not-applicable"):
        symbol, style = VERDICT_STYLE[verdict]
        text.append(f"{symbol} {verdicts.get(verdict, 0)} {verdict}  ", style=style)
    undecided = sum(1 for decision in decisions if decision.verdict_if_credentials == "blocked")
    if undecided:
        symbol, style = IF_CREDENTIALS_STYLE
        text.append(f"{symbol} {undecided} of them blocked with credentials  ", style=style)
    if shown:
        text.append(f"({shown})", style="dim")
    return text


def print_report(
    console: Console,
    everything: Sequence[Decision],
    keep: Callable[[Decision], bool],
    kept: str,
    fix_for: Callable[[Decision], RenderableType | None] = lambda decision: None,
) -> None:
    """The requests `keep` keeps (`kept` names them), each blocked one explained, then the
    counts over everything."""
    decisions = [decision for decision in everything if keep(decision)]
    if decisions:
        console.print(decisions_table(decisions))
    for decision in decisions:
        if decision.verdict == "blocked" or decision.verdict_if_credentials == "blocked":
            console.print(blocked_panel(decision, fix_for(decision)))
    left_out = len(everything) - len(decisions)
    shown = f"{len(decisions)} shown: {kept}; --only all for every request" if left_out else ""
    console.print(summary_line(everything, shown))
