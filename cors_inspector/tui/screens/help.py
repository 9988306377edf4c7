"""The keys, and what the symbols mean."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import zip_longest
from typing import ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen

from ...output.styles import (
    IF_CREDENTIALS,
    IF_CREDENTIALS_STYLE,
    IF_CREDENTIALS_WORDS,
    STEP_STYLE,
    VERDICT_STYLE,
    Palette,
)
from ..widgets.header_view import CORS, DECISIVE
from ..widgets.requests_table import FOLDED
from ..widgets.styles import ThemedStatic

VERDICT_WORDS = {
    "allowed": "allowed: the page can read the response",
    "blocked": "blocked by the browser",
    "not-applicable": "no CORS check applies (same-origin, navigation, no-cors)",
    "unknown": "the capture cannot tell (no response)",
}


def legend(palette: Palette) -> Table:
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(no_wrap=True)
    table.add_column()
    for verdict, (symbol, _) in VERDICT_STYLE.items():
        table.add_row(Text(symbol, palette[verdict]), VERDICT_WORDS[verdict])
    symbol, _ = IF_CREDENTIALS_STYLE
    table.add_row(Text(symbol, palette[IF_CREDENTIALS]), f"{IF_CREDENTIALS_WORDS} (i)")
    table.add_row(Text("≠", palette["unknown"]), "the browser's own verdict differs (d)")
    for outcome, (symbol, _) in STEP_STYLE.items():
        table.add_row(Text(symbol, palette[outcome]), f"trace step: {outcome}")
    table.add_row(FOLDED.strip(), "a request with its preflight folded under it (space unfolds)")
    table.add_row(DECISIVE, "header named by a failing check")
    table.add_row(CORS, "Origin or Access-Control-* header")
    return table


def help_keys(app: App[object], bindings: Iterable[BindingType]) -> list[tuple[str, str]]:
    """(keys, what they do) for each binding, as the help lists them."""
    return [
        (
            " ".join(map(app.get_key_display, Binding.make_bindings([binding]))),
            binding.tooltip or binding.description,
        )
        for binding in bindings
        if isinstance(binding, Binding)
    ]


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "help.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,question_mark,q", "dismiss", "Close")]

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body") as body_scroll:
            body_scroll.border_title = "cors-inspector help"
            body_scroll.border_subtitle = "Esc closes"
            yield ThemedStatic()

    def on_mount(self) -> None:
        # Two pairs of columns: the keys fit on one screen.
        table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 2, 0, 0))
        for _ in range(2):
            table.add_column(style="bold", no_wrap=True)
            table.add_column()
        half = (len(self.keys) + 1) // 2
        for left, right in zip_longest(self.keys[:half], self.keys[half:], fillvalue=("", "")):
            table.add_row(*left, *right)
        text = self.query_one(ThemedStatic)
        text.update(
            Group(
                Text("Keys", "bold underline"),
                table,
                Text("\nSymbols", "bold underline"),
                legend(text.palette()),
                Text(
                    "\nThe mouse works too: click a request to see it in detail, click ▸ to "
                    "unfold its preflight. Ctrl+P opens the command palette (themes included).",
                    "dim",
                ),
            )
        )
