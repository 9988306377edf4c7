"""Render decisions for a terminal with Rich: a table, then why each blocked request failed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.segment import SegmentLines
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

PAGE_ROWS = 500  # the table is measured and printed this many rows at a time (bounded memory)
# Columns as wide as their widest cell; a table of several pages gives them the width of
# the widest value they usually hold (`OPTIONS`, `· same-origin`), so that its pages line up.
_NARROW = {"time": 8, "method": 7, "status": 6, "verdict": 13}


def _row(decision: Decision) -> tuple[str, str, Text, str, Text, str]:
    time = datetime.fromtimestamp(decision.started).strftime("%H:%M:%S")
    request = Text(decision.url)
    if decision.origin:
        request.append(f"\nfrom {decision.origin}", style="dim")
    status = str(decision.status) if decision.status is not None else "-"
    return time, decision.method, request, status, verdict_text(decision), reason_text(decision)


def decisions_table(
    decisions: Sequence[Decision], widths: dict[str, int] | None = None, title: bool = True
) -> Table:
    """The table of requests; `widths` are the narrow columns' widths at least (so that the
    pages of a long table line up)."""
    widths = widths or {}
    table = Table(
        title="Requests" if title else None,
        title_justify="left",
        expand=True,
        show_lines=False,
        show_header=title,
    )
    table.add_column("time", no_wrap=True, style="dim", min_width=widths.get("time"))
    table.add_column("method", no_wrap=True, min_width=widths.get("method"))
    table.add_column("request", overflow="fold", ratio=3)
    table.add_column("status", justify="right", no_wrap=True, min_width=widths.get("status"))
    table.add_column("verdict", no_wrap=True, min_width=widths.get("verdict"))
    table.add_column("reason", overflow="fold", ratio=2)
    for decision in decisions:
        table.add_row(*_row(decision))
    return table


class PagedTable:
    """The table of requests printed PAGE_ROWS rows at a time, the pages joined into one
    table: Rich measures every row of a table before printing it."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._page: list[Decision] = []
        self._widths = {name: len(name) for name in _NARROW}
        self._paged = False
        self._bottom: list | None = None  # the table's bottom edge, once a page is printed

    def add(self, decision: Decision) -> None:
        self._page.append(decision)
        if len(self._page) == PAGE_ROWS:
            if not self._paged:  # more pages may follow
                self._paged = True
                self._widths = dict(_NARROW)
            self._print_page()

    def close(self) -> None:
        """Print what is left and the bottom edge."""
        if self._page:
            self._print_page()
        if self._bottom is not None:
            self.console.print(SegmentLines([self._bottom], new_lines=True), end="")
            self._bottom = None

    def _print_page(self) -> None:
        page, self._page = self._page, []
        for decision in page:
            time, method, _, status, verdict, _ = _row(decision)
            for name, cell in zip(_NARROW, (time, method, status, verdict), strict=True):
                self._widths[name] = max(self._widths[name], cell_len(str(cell)))
        first = self._bottom is None
        table = decisions_table(page, self._widths, title=first)
        lines = self.console.render_lines(table, self.console.options)
        self._bottom = lines.pop()
        if not first:
            lines = lines[1:]  # the top edge: this page goes on from the one above
        self.console.print(SegmentLines(lines, new_lines=True), end="")


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
    if not _hides(decision):
        return None
    hidden = decision.hidden_headers or []
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


def explained(decision: Decision) -> bool:
    """Whether the report explains the request under the table (blocked, or blocked if the
    page sent credentials)."""
    return decision.verdict == "blocked" or decision.verdict_if_credentials == "blocked"


def _hides(decision: Decision) -> bool:
    """Whether hidden_panel has something to say (cheaply: before building it)."""
    return decision.verdict == "allowed" and any(
        read_by_pages(name) for name in decision.hidden_headers or ()
    )


class Tally:
    """Counts over every request judged, for the report's last line; and whether anything
    shown needs explaining under the table."""

    def __init__(self) -> None:
        self.verdicts: Counter[str] = Counter()
        self.total = 0
        self.shown = 0
        self.undecided = 0  # allowed, but blocked if the page sent credentials
        self.to_explain = 0  # shown, and explained or with headers hidden from script

    def add(self, decision: Decision, shown: bool) -> None:
        self.total += 1
        self.shown += shown
        self.verdicts[decision.verdict] += 1
        self.undecided += decision.verdict_if_credentials == "blocked"
        self.to_explain += shown and (explained(decision) or _hides(decision))


def summary_line(tally: Tally, shown: str = "") -> Text:
    """Counts over every request judged; `shown` says what the report above left out."""
    text = Text(f"{counted(tally.total, 'request')}: ")
    for verdict in ("blocked", "allowed", "unknown", "not-applicable"):
        symbol, style = VERDICT_STYLE[verdict]
        text.append(f"{symbol} {tally.verdicts.get(verdict, 0)} {verdict}  ", style=style)
    if tally.undecided:
        symbol, style = IF_CREDENTIALS_STYLE
        text.append(f"{symbol} {tally.undecided} of them blocked with credentials  ", style=style)
    if shown:
        text.append(f"({shown})", style="dim")
    return text


def print_report(
    console: Console,
    everything: Iterable[Decision],
    keep: Callable[[Decision], bool],
    kept: str,
    again: Callable[[], Iterable[Decision]] | None = None,
    fix_for: Callable[[Decision], Sequence[Block]] = lambda decision: (),
) -> Tally:
    """The requests `keep` keeps (`kept` names them) as they come, in a table printed in
    pages, then under it each blocked one explained with its fix (code printed whole,
    outside the panel) and those with hidden headers said so: from `again`, the same
    decisions once more, since the fixes need every request of their backend; then the
    counts over everything."""
    tally = Tally()
    table = PagedTable(console)
    for decision in everything:
        shown = keep(decision)
        tally.add(decision, shown)
        if shown:
            table.add(decision)
    table.close()
    if tally.to_explain and again is not None:
        for decision in again():
            if not keep(decision):
                continue
            if explained(decision):
                console.print(blocked_panel(decision))
                print_blocks(console, fix_for(decision))
            elif (hidden := hidden_panel(decision)) is not None:
                console.print(hidden)
    left_out = tally.total - tally.shown
    shown = f"{tally.shown} shown: {kept}; --only all for every request" if left_out else ""
    console.print(summary_line(tally, shown))
    return tally
