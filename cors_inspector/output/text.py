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
from ..engine.safelists import read_by_pages
from ..engine.words import counted
from .code import Block, print_blocks
from .styles import (
    IF_CREDENTIALS_STYLE,
    IF_CREDENTIALS_WORDS,
    STEP_STYLE,
    VERDICT_STYLE,
    Palette,
    console_lines,
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


def blocked_panel(decision: Decision) -> Panel:
    """Why a request was blocked, or (yellow) why it would be with credentials."""
    parts: list[RenderableType] = [Text(decision.explanation)]
    for number, line in enumerate(console_lines(decision)):
        parts.append(Text("\n" * (number == 0) + line, style="dim"))
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
    where = f"{escape(decision.method)} {escape(decision.url)}"
    if decision.verdict != "blocked":
        symbol, style = IF_CREDENTIALS_STYLE
        title = f"[{style}]{symbol} {IF_CREDENTIALS_WORDS}[/] {where}"
        return Panel(Group(*parts), title=title, title_align="left", border_style=style)
    title = f"[bold red]✘ {escape(decision.headline_reason or 'blocked')}[/] {where}"
    return Panel(Group(*parts), title=title, title_align="left", border_style="red")


def hidden_panel(decision: Decision) -> Panel | None:
    """For an allowed response with a header a page may read that script cannot: which
    headers script reads and which it does not (the CORS check passed, silently)."""
    hidden = decision.hidden_headers or []
    if decision.verdict != "allowed" or not any(read_by_pages(name) for name in hidden):
        return None
    readable = ", ".join(decision.readable_headers or []) or "none"
    shown = ", ".join(h for h in hidden if not h.startswith("access-control-"))
    where = f"{decision.method} {decision.url}"
    body = Text(f"{where}\nScript can read: {readable}\nHidden from script: {shown}\n")
    body.append(
        "Only CORS-safelisted headers and those listed in Access-Control-Expose-Headers are "
        "readable; if the page reads one of these, expose it (cors-inspector fix shows how).",
        style="dim",
    )
    title = "[yellow]✔ allowed, headers hidden from script[/]"
    return Panel(body, title=title, title_align="left", border_style="yellow")


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
    fix_for: Callable[[Decision], Sequence[Block]] = lambda decision: (),
) -> None:
    """The requests `keep` keeps (`kept` names them), each blocked one explained with its fix
    (code printed whole, outside the panel), those with hidden headers said so, then the
    counts over everything."""
    decisions = [decision for decision in everything if keep(decision)]
    if decisions:
        console.print(decisions_table(decisions))
    for decision in decisions:
        if decision.verdict == "blocked" or decision.verdict_if_credentials == "blocked":
            console.print(blocked_panel(decision))
            print_blocks(console, fix_for(decision))
        elif (hidden := hidden_panel(decision)) is not None:
            console.print(hidden)
    left_out = len(everything) - len(decisions)
    shown = f"{len(decisions)} shown: {kept}; --only all for every request" if left_out else ""
    console.print(summary_line(everything, shown))
