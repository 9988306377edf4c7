"""One backend at a glance: what was allowed and blocked, by reason, and its verified fix."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ...engine.words import counted
from ...output.styles import VERDICT_STYLE, Palette
from ..fixes import FixResult
from ..store import BackendStats
from .styles import ThemedStatic

VERDICT_ORDER = ("blocked", "unknown", "allowed", "not-applicable")


def counts_table(stats: BackendStats, palette: Palette) -> Table:
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(justify="right")
    table.add_column(no_wrap=True)
    table.add_column()
    ordered = sorted(
        stats.counts.items(), key=lambda item: (VERDICT_ORDER.index(item[0][0]), -item[1])
    )
    for (verdict, why), count in ordered:
        symbol, _ = VERDICT_STYLE[verdict]
        table.add_row(f"{count:,}", Text(f"{symbol} {verdict}", palette[verdict]), why)
    return table


class BackendSummary(ThemedStatic, can_focus=True):
    """Focusable, so that copy and save act on the backend in focus."""

    def __init__(self, backend: str) -> None:
        super().__init__()
        self.backend = backend
        self.border_title = backend
        self.fix: FixResult | None = None
        self.verifying = False
        self.version = -1  # of the backend's decisions last shown

    def show(
        self, stats: BackendStats, fix: FixResult | None, verifying: bool, reveal: bool
    ) -> None:
        """The backend's counts and its fix (the URLs it quotes masked unless `reveal`)."""
        self.fix, self.verifying, self.version = fix, verifying, stats.version
        fix_part: RenderableType
        if verifying:
            fix_part = Text("Verifying the fix with Starlette…", "italic")
        elif fix is not None and fix.error:
            fix_part = Text(f"The fix could not be computed: {fix.error}", "red")
        elif fix is None or fix.suggestion is None:
            fix_part = Text("Nothing blocked: no fix needed.", "dim")
        else:
            from ...output.fix import fix_panel  # loaded already: it made the fix

            fix_part = fix_panel(fix.suggestion, reveal)
            if fix.version != stats.version:
                stale = "More requests came since this fix was verified: press r to verify again."
                fix_part = Group(fix_part, Text(stale, "italic"))
        total = sum(stats.counts.values())
        subtitle = f"{counted(total, 'request', grouped=True)}, {stats.blocked:,} blocked"
        parts: list[RenderableType] = [counts_table(stats, self.palette())]
        if stats.disagreements:  # the rows the main screen's `d` filter shows
            subtitle += f", {stats.disagreements:,} disagree with the browser"
            disagree = counted(stats.disagreements, "request", grouped=True)
            parts.append(
                Text(
                    f"≠ {disagree} where the browser's own verdict differs from the rebuilt "
                    "one (d in the requests table lists them)",
                    self.palette()["unknown"],
                )
            )
        self.border_subtitle = subtitle
        self.update(Group(*parts, Text(""), fix_part))
