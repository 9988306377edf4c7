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
from .styles import (
    IF_CREDENTIALS_STYLE,
    IF_CREDENTIALS_WORDS,
    STEP_STYLE,
    VERDICT_STYLE,
    Palette,
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


class Tally:
    """Counts over every request judged, for the report's last line."""

    def __init__(self) -> None:
        self.verdicts: Counter[str] = Counter()
        self.total = 0
        self.shown = 0
        self.undecided = 0  # allowed, but blocked if the page sent credentials

    def add(self, decision: Decision, shown: bool) -> None:
        self.total += 1
        self.shown += shown
        self.verdicts[decision.verdict] += 1
        self.undecided += decision.verdict_if_credentials == "blocked"


def summary_line(tally: Tally, shown: str = "") -> Text:
    """Counts over every request judged; `shown` says what the report above left out."""
    text = Text(f"{tally.total} requests: ")
    for verdict in ("blocked", "allowed", "unknown", "not-applicable"):
        symbol, style = VERDICT_STYLE[verdict]
        text.append(f"{symbol} {tally.verdicts.get(verdict, 0)} {verdict}  ", style=style)
    if tally.undecided:
        symbol, style = IF_CREDENTIALS_STYLE
        text.append(f"{symbol} {tally.undecided} of them blocked with credentials  ", style=style)
    if shown:
        text.append(f"({shown})", style="dim")
    return text


def explained(decision: Decision) -> bool:
    """Whether the report explains the request under the table."""
    return decision.verdict == "blocked" or decision.verdict_if_credentials == "blocked"


def print_report(
    console: Console,
    everything: Iterable[Decision],
    keep: Callable[[Decision], bool],
    kept: str,
    again: Callable[[], Iterable[Decision]] | None = None,
    fix_for: Callable[[Decision], RenderableType | None] = lambda decision: None,
) -> Tally:
    """The requests `keep` keeps (`kept` names them) as they come, each blocked one explained
    (from `again`, the same decisions once more, when it is given: the fixes under them need
    every request of their backend), then the counts over everything."""
    tally = Tally()
    table = PagedTable(console)
    for decision in everything:
        shown = keep(decision)
        tally.add(decision, shown)
        if shown:
            table.add(decision)
    table.close()
    if tally.verdicts["blocked"] or tally.undecided:
        for decision in again() if again else ():
            if keep(decision) and explained(decision):
                console.print(blocked_panel(decision, fix_for(decision)))
    left_out = tally.total - tally.shown
    shown = f"{tally.shown} shown: {kept}; --only all for every request" if left_out else ""
    console.print(summary_line(tally, shown))
    return tally
