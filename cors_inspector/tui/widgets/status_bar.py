"""One line: where the requests come from, how many, what is shown, and warnings."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text

from ...engine.words import counted
from ...output.styles import IF_CREDENTIALS, IF_CREDENTIALS_STYLE, VERDICT_STYLE
from ..store import Store
from .styles import ThemedStatic


class StatusBar(ThemedStatic):
    DEFAULT_CSS = """
    StatusBar#status {
        height: 1;
        background: $panel;
        color: $foreground;
        padding: 0 1;

        & > .status-bar--warning {
            background: $error;
            color: $text;
            text-style: bold;
        }
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"status-bar--warning"}

    def show(self, store: Store, source: str, reveal: bool, warnings: list[str]) -> None:
        left = Text(f"{source}  " if source else "")
        left.append(counted(store.total, "request", grouped=True))
        palette = self.palette()
        for verdict in ("blocked", "unknown"):
            if store.verdicts[verdict]:
                symbol, _ = VERDICT_STYLE[verdict]
                left.append(f"  {symbol} {store.verdicts[verdict]:,} {verdict}", palette[verdict])
        if store.if_credentials:
            symbol, _ = IF_CREDENTIALS_STYLE
            left.append(
                f"  {symbol} {store.if_credentials:,} if credentials", palette[IF_CREDENTIALS]
            )
        if store.disagreements:
            left.append(
                f"  ≠ {store.disagreements:,} disagree with the browser", palette["unknown"]
            )
        left.append(f"  · {len(store.lines):,} shown", "dim")
        if store.dropped:
            left.append(f"  · {store.dropped:,} oldest dropped (--keep {store.keep:,})", "dim")
        right = Text()
        warning = self.get_component_rich_style("status-bar--warning")
        if reveal:
            right.append(" ⚠ SECRETS REVEALED (r masks) ", warning)
        for text in warnings:
            right.append(f" ⚠ {text} ", warning)
        grid = Table.grid(expand=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        grid.add_column(justify="right", no_wrap=True)
        grid.add_row(left, right)
        self.update(grid)
