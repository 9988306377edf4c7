"""The requests table: one line per request, its preflights folded under it.

A Line API widget over `Store.lines`: only the lines on screen are rendered, new traffic is
appended without touching the rest, and a filter change swaps one list. The column titles
are its first line, fixed. It follows new traffic until the user moves away from the end;
then it counts what arrived instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from ...engine.words import counted
from ...output.styles import (
    IF_CREDENTIALS,
    IF_CREDENTIALS_STYLE,
    VERDICT_STYLE,
    reason_text,
    verdict_key,
)
from ...redact import redact_text
from ..store import Change, Row, Store, disagrees
from .styles import text_style

FOLDED, UNFOLDED, CHILD = "▸ ", "▾ ", " └ "
TITLES = ("time", "method", "origin → URL", "status", "verdict", "reason")
TIME, METHOD, STATUS, VERDICT = 8, 10, 6, 13  # "· same-origin" is the longest verdict
REASON_MAX = 34  # "PreflightMissingAllowOriginHeader" fits
ARROW = " → "


def squeeze(text: str, width: int) -> str:
    """`text` in `width` cells, cut in the middle: both ends of a URL tell the most."""
    if len(text) <= width:
        return text
    if width < 8:
        return text[: max(0, width - 1)] + "…"
    head = (width - 1) * 3 // 5
    return text[:head] + "…" + text[len(text) - (width - 1 - head) :]


@dataclass(frozen=True, slots=True)
class Columns:
    """Column widths for a table `width` cells wide: the URL and the reason share the rest."""

    widths: tuple[int, ...]

    @classmethod
    def fit(cls, width: int) -> Columns:
        rest = max(0, width - TIME - METHOD - STATUS - VERDICT - len(TITLES) + 1)
        reason = min(REASON_MAX, max(8, rest * 2 // 5))
        return cls((TIME, METHOD, max(8, rest - reason), STATUS, VERDICT, reason))

    def line(self, cells: list[Text], base: Style) -> Text:
        text = Text(style=base, no_wrap=True, end="")
        for index, (cell, width) in enumerate(zip(cells, self.widths, strict=True)):
            if index:
                text.append(" ")
            if index == 3:  # status: right-aligned
                cell.align("right", width)
            cell.truncate(width, overflow="ellipsis", pad=True)
            text.append_text(cell)
        return text


class RequestList(ScrollView, can_focus=True):
    """The column titles, then the request lines, scrolling under them.

    It only reads the store: the keys run actions of the screen, which moves the cursor (or
    folds) and then asks the list to show it; a click is reported as `Clicked`.
    """

    DEFAULT_CSS = """
    RequestList#request-list {
        height: 1fr;
        overflow-x: hidden;
        background: $surface;

        & > .request-list--titles {
            background: $panel;
            color: $foreground;
            text-style: bold;
        }

        & > .request-list--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
        }

        &:focus > .request-list--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }

        & > .request-list--dim {
            color: $text-muted;
        }

        & > .request-list--allowed {
            color: $text-success;
        }

        & > .request-list--blocked {
            color: $text-error;
            text-style: bold;
        }

        & > .request-list--unknown {
            color: $text-warning;
        }

        & > .request-list--not-applicable {
            color: $text-muted;
        }

        & > .request-list--if-credentials {
            color: $text-warning;
        }
    }
    """

    @dataclass
    class Clicked(Message):
        """A request line was clicked: on its ▸ (`fold`), or elsewhere."""

        index: int  # in the store's lines
        fold: bool

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter",
            "screen.open_detail",
            "Detail",
            tooltip="Why this request was allowed or blocked",
        ),
        Binding(
            "space", "screen.fold", "Fold", tooltip="Show or hide the preflight of this request"
        ),
        Binding("up,k", "screen.move(-1)", "Up", show=False),
        Binding("down,j", "screen.move(1)", "Down", show=False),
        Binding("pageup", "screen.page(-1)", "Page up", show=False),
        Binding("pagedown", "screen.page(1)", "Page down", show=False),
        Binding("home", "screen.first", "First", show=False),
        Binding(
            "end", "screen.follow", "Follow", show=False, tooltip="Go to the newest request, stay"
        ),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "request-list--titles",
        "request-list--cursor",
        "request-list--dim",
        "request-list--allowed",
        "request-list--blocked",
        "request-list--unknown",
        "request-list--not-applicable",
        f"request-list--{IF_CREDENTIALS}",
    }

    follow: reactive[bool] = reactive(True)  # keep the cursor on the newest request
    unseen: reactive[int] = reactive(0)  # requests that arrived while not following
    reveal: reactive[bool] = reactive(False)  # show URL userinfo unmasked

    def __init__(self, store: Store, *, follow: bool, id: str | None = None) -> None:
        super().__init__(id=id)
        self.store = store
        self.set_reactive(RequestList.follow, follow)

    # -- told by the screen -------------------------------------------------------------------

    def lines_added(self, change: Change) -> None:
        """Lines were appended (the cursor already on the newest when following)."""
        self._resize()
        if self.follow:
            self.show_cursor()
        else:
            if change.dropped:  # the oldest lines went: keep the same requests in view
                self._scroll_y_to(self.scroll_y - change.dropped)
            self.unseen += change.appended
        self.refresh()

    def lines_replaced(self) -> None:
        """The store's lines were rebuilt (filter) or changed in place (fold)."""
        self._resize()
        self.show_cursor()

    def show_cursor(self) -> None:
        """Scroll the store's cursor into view."""
        cursor = self.store.cursor
        height = self.scrollable_content_region.height - 1  # under the titles
        if self.follow:
            self._scroll_y_to(self.max_scroll_y)
        elif cursor < self.scroll_y:
            self._scroll_y_to(cursor)
        elif height and cursor >= self.scroll_y + height:
            self._scroll_y_to(cursor - height + 1)
        self.refresh()

    @property
    def page_height(self) -> int:
        """How many lines page up and page down move."""
        return max(1, self.size.height - 2)

    def _resize(self) -> None:
        # One more line than the requests: the titles.
        self.virtual_size = Size(self.scrollable_content_region.width, len(self.store.lines) + 1)

    def _scroll_y_to(self, y: float) -> None:
        # Forced: the scrollbars catch up with a new virtual size only at the next refresh.
        self.scroll_to(y=y, animate=False, force=True)

    # -- what the user does -------------------------------------------------------------------

    def watch_follow(self, follow: bool) -> None:
        if follow:
            self.unseen = 0

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        # Scrolling up (wheel, scrollbar, keys) leaves the newest requests; being clamped
        # because there is less to scroll (old beyond the new maximum) does not.
        if new < old <= self.max_scroll_y:
            self.follow = False

    def watch_reveal(self) -> None:
        self.refresh()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        index = int(self.scroll_y) + offset.y - 1
        if not 0 <= index < len(self.store.lines):
            return
        fold = offset.x < len(FOLDED) and bool(self.store.lines[index][0].preflights)
        self.post_message(self.Clicked(index, fold))

    def on_focus(self) -> None:
        self.refresh()  # the cursor's colour depends on focus

    def on_blur(self) -> None:
        self.refresh()

    def on_resize(self) -> None:
        self._resize()
        if self.follow:
            self._scroll_y_to(self.max_scroll_y)

    # -- rendering ----------------------------------------------------------------------------

    @property
    def columns(self) -> Columns:
        return Columns.fit(self.scrollable_content_region.width)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            base = self.get_component_rich_style("request-list--titles")
            text = self.columns.line([Text(title) for title in TITLES], base)
            return Strip(text.render(self.app.console, end="")).crop_extend(0, width, base)
        index = int(self.scroll_y) + y - 1
        lines = self.store.lines
        if index >= len(lines):
            return Strip.blank(width, self.rich_style)
        row, child = lines[index]
        base = self.rich_style
        # Muted text is blended with the table's background: on the cursor it would fade.
        dim = text_style(self, "request-list--dim")
        if index == self.store.cursor:
            base += self.get_component_rich_style("request-list--cursor")
            dim = Style()
        columns = self.columns
        text = columns.line(self._cells(row, child, columns.widths[2], dim), base)
        return Strip(text.render(self.app.console, end="")).crop_extend(0, width, base)

    def _cells(self, row: Row, child: int, target_width: int, dim: Style) -> list[Text]:
        decision = row.decision if child < 0 else row.preflights[child]
        if child >= 0:
            marker = CHILD
        elif row.preflights:
            marker = UNFOLDED if row.expanded else FOLDED
        else:
            marker = ""
        url = decision.url if self.reveal else redact_text(decision.url)
        target = Text()
        if decision.origin:
            # The page's origin takes at most 45%; the URL gets the rest.
            origin = squeeze(decision.origin, max(len(ARROW) + 4, target_width * 9 // 20))
            target.append(origin + ARROW, dim)
        target.append(squeeze(url, target_width - len(target)), dim if child >= 0 else "")
        key = verdict_key(decision)
        symbol, _ = IF_CREDENTIALS_STYLE if key == IF_CREDENTIALS else VERDICT_STYLE[key]
        word = decision.kind if decision.verdict == "not-applicable" else decision.verdict
        verdict_style = text_style(self, f"request-list--{key}")
        reason = reason_text(decision)
        if disagrees(decision):  # never hide either answer
            reason += f" ≠ browser: {decision.browser_verdict} {decision.browser_reason or ''}"
        return [
            Text(datetime.fromtimestamp(decision.started).strftime("%H:%M:%S"), dim),
            Text(marker + decision.method, dim if child >= 0 else ""),
            target,
            Text("-" if decision.status is None else str(decision.status)),
            Text(f"{symbol} {word}", verdict_style),
            Text(reason.strip(), verdict_style),
        ]


class RequestsTable(Vertical):
    """The request lines and, while not following, how many new ones arrived."""

    DEFAULT_CSS = """
    RequestsTable#requests {
        height: 2fr;
        min-height: 6;
    }

    #new-hint {
        display: none;
        height: 1;
        background: $accent;
        color: $text;
        text-align: center;
        text-style: bold;
    }
    """

    def __init__(self, store: Store, *, follow: bool) -> None:
        super().__init__(id="requests")
        self.list = RequestList(store, follow=follow, id="request-list")

    def compose(self) -> ComposeResult:
        yield self.list
        yield Static(id="new-hint")

    def on_mount(self) -> None:
        self.watch(self.list, "unseen", self._show_hint)
        self.watch(self.list, "follow", self._show_hint)

    def _show_hint(self) -> None:
        unseen = self.list.unseen
        hint = self.query_one("#new-hint", Static)
        hint.display = unseen > 0 and not self.list.follow
        if hint.display:
            hint.update(f"↓ {counted(unseen, 'new request', grouped=True)} — press End to follow")
