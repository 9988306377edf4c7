"""The requests table, the filter over it, the selected request in detail, the status line.

The screen changes the store (the filter, the cursor, folds) and tells its widgets what to
show; the widgets render and report what the user did. New decisions come through the
app's `store_changed` signal.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.reactive import var
from textual.widgets import Footer, Header, Input

from ...engine.decision import Decision
from ..fixes import FixResult
from ..store import Change, Scope, Store, backend_of
from ..widgets.detail_pane import DetailPane, DetailTab
from ..widgets.filter_bar import FilterBar
from ..widgets.requests_table import RequestList, RequestsTable
from ..widgets.status_bar import StatusBar
from .backend_picker import BackendPicker
from .fix_actions import FixActionsScreen
from .summary import SummaryScreen

# Its own actions, whose keys the footer stops showing while a screen is over it (a dialog,
# the help): they apply to the requests table, not to what is in front.
OWN_ACTIONS = frozenset(
    {"scope", "pick_backend", "search", "detail", "close", "toggle_secrets", "summary"}
)


class MainScreen(FixActionsScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        # The filter bar shows the filter keys; the footer shows the rest.
        Binding("b", "scope('blocked')", "Blocked", show=False, tooltip="Only blocked requests"),
        Binding("c", "scope('cors')", "CORS", show=False, tooltip="CORS requests and preflights"),
        Binding("a", "scope('all')", "All", show=False, tooltip="Every request"),
        Binding(
            "i",
            "scope('credentials')",
            "If credentials",
            show=False,
            tooltip="Allowed, but blocked if the page sends credentials",
        ),
        Binding(
            "d",
            "scope('disagree')",
            "Disagree",
            show=False,
            tooltip="Where the browser's own verdict differs from the rebuilt one",
        ),
        Binding("o", "pick_backend", "Backend", show=False, tooltip="Only one backend's requests"),
        Binding("slash", "search", "Search", show=False, tooltip="Search URL, method, reason..."),
        Binding("f", "detail('fix')", "Fix", tooltip="The verified fix for this backend"),
        Binding("t", "detail('trace')", "Trace", show=False, tooltip="The checks, step by step"),
        Binding("h", "detail('headers')", "Headers", show=False, tooltip="Request and response"),
        Binding("y", "copy_fix", "Copy fix", tooltip="Copy the fix to the clipboard"),
        Binding("w", "save_fix", "Save fix", tooltip="Save the fix to a file"),
        Binding("escape", "close", "Close", show=False, tooltip="Close the detail or the search"),
        Binding("s", "summary", "Summary", tooltip="Counts and the fix per backend"),
        Binding("r", "toggle_secrets", "Reveal", tooltip="Reveal or mask cookies and tokens"),
    ]
    HELP_BINDINGS: ClassVar[list[BindingType]] = [*RequestList.BINDINGS, *BINDINGS]

    reveal = var(False, init=False)  # secrets shown unmasked
    detail_open = var(False, init=False)

    def __init__(self, store: Store, *, follow: bool) -> None:
        """`follow`: keep the cursor on the newest request from the start (live mode)."""
        super().__init__()
        self.store = store
        self.table = RequestsTable(store, follow=follow)
        self.detail = DetailPane()
        self._shown: Decision | None = None  # the selected request, as last shown

    @property
    def requests(self) -> RequestList:
        return self.table.list

    def compose(self) -> ComposeResult:
        yield Header()
        yield FilterBar()
        yield self.table
        yield self.detail
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.detail.display = False
        self.query_one(FilterBar).show(self.store.filter)
        self.requests.focus()
        app = self.app
        app.store_changed.subscribe(self, self._lines_added, immediate=True)
        app.fixes.ready.subscribe(self, self._fix_ready, immediate=True)
        self.watch(app, "source", self._show_status, init=False)
        self.watch(app, "problems", self._show_status, init=False)
        self.watch(app, "loading", self._loading_changed, init=False)
        self._show_status()

    # -- the cursor ---------------------------------------------------------------------------

    def _go(self, index: int) -> None:
        """Put the cursor on line `index`, scrolled into view."""
        self.store.cursor = max(0, min(index, len(self.store.lines) - 1))
        self.requests.show_cursor()
        self._selection_moved()

    def _user_moved(self, index: int) -> None:
        self.requests.follow = bool(self.store.lines) and index >= len(self.store.lines) - 1
        self._go(index)

    def action_move(self, delta: int) -> None:
        self._user_moved(self.store.cursor + delta)

    def action_page(self, direction: int) -> None:
        self._user_moved(self.store.cursor + direction * self.requests.page_height)

    def action_first(self) -> None:
        self._user_moved(0)

    def action_follow(self) -> None:
        self.requests.follow = True
        self._go(len(self.store.lines) - 1)

    def action_fold(self) -> None:
        if self.store.toggle_fold():
            self._lines_replaced()

    @on(RequestList.Clicked)
    def _clicked(self, message: RequestList.Clicked) -> None:
        self._user_moved(message.index)
        if message.fold:
            self.action_fold()
        else:
            self.action_open_detail()

    def _lines_added(self, change: Change) -> None:
        if self.requests.follow:
            self.store.cursor = max(0, len(self.store.lines) - 1)
        self.requests.lines_added(change)
        self._selection_moved()
        self._show_status()

    def _lines_replaced(self) -> None:
        if self.requests.follow:
            self.store.cursor = max(0, len(self.store.lines) - 1)
        self.requests.lines_replaced()
        self._selection_moved()

    def _selection_moved(self) -> None:
        decision = self.store.selected_decision
        if decision is not self._shown:
            self._shown = decision
            if self.detail_open:
                self._show_detail()

    def _loading_changed(self, loading: bool) -> None:
        if not loading:
            self.requests.unseen = 0  # all of it is new: nothing to announce

    # -- filtering ----------------------------------------------------------------------------

    def apply_filter(self, **changes: object) -> None:
        self.store.set_filter(**changes)  # type: ignore[arg-type]
        self._lines_replaced()
        self.query_one(FilterBar).show(self.store.filter)
        self._show_status()

    def action_scope(self, scope: Scope) -> None:
        self.apply_filter(scope=scope)

    @on(FilterBar.SearchChanged)
    def _search_changed(self, message: FilterBar.SearchChanged) -> None:
        self.apply_filter(search=message.text)

    def action_pick_backend(self) -> None:
        def chosen(backend: str | None) -> None:
            if backend is not None:
                self.apply_filter(backend=backend or None)

        self.app.push_screen(BackendPicker(self.store.backends, self.store.filter.backend), chosen)

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    @on(Input.Submitted, "#search")
    def _search_done(self) -> None:
        self.requests.focus()

    def action_close(self) -> None:
        """Escape: leave the search field, else close the detail."""
        if isinstance(self.focused, Input):
            self.requests.focus()
        elif self.detail_open:
            self.detail_open = False

    # -- the detail ---------------------------------------------------------------------------

    def action_open_detail(self) -> None:
        """Enter, a click: the selected request in detail, on the tab shown last."""
        if self.store.selected_decision is not None:
            self.requests.follow = False  # the detail stays on this request
            self._open_detail(None)

    def action_detail(self, tab: DetailTab) -> None:
        if self.store.selected_decision is not None:
            self.requests.follow = False  # the detail stays on this request
            self._open_detail(tab)

    def _open_detail(self, tab: DetailTab | None) -> None:
        if tab is not None:
            self.detail.show_tab(tab)
        self.detail_open = True
        self._show_detail()

    def watch_detail_open(self, detail_open: bool) -> None:
        self.detail.display = detail_open
        if not detail_open:
            self.requests.focus()
        self.refresh_bindings()

    def _show_detail(self) -> None:
        decision = self.store.selected_decision
        self.detail.show(decision, self.reveal)
        if decision is None or not decision.is_cors:
            self.detail.show_fix(None, False)
        else:
            self.detail.show_fix(*self.app.fixes.state(backend_of(decision)))

    def _fix_ready(self, result: FixResult) -> None:
        decision = self.detail.decision
        if self.detail_open and decision is not None and backend_of(decision) == result.backend:
            self.detail.show_fix(result, False)

    def backend_in_context(self) -> str | None:
        """The selected request's, when it is a CORS one."""
        decision = self.store.selected_decision
        return backend_of(decision) if decision is not None and decision.is_cors else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("copy_fix", "save_fix"):
            return self.detail_open  # the fix is on screen
        if action in OWN_ACTIONS:
            return self.app.screen is self
        return True

    # -- the rest -----------------------------------------------------------------------------

    def action_toggle_secrets(self) -> None:
        self.reveal = not self.reveal

    def watch_reveal(self, reveal: bool) -> None:
        self.requests.reveal = reveal
        if self.detail_open:
            self._show_detail()
        self._show_status()

    def action_summary(self) -> None:
        if self.app.screen is self:  # not again from the command palette over the summary
            self.app.push_screen(SummaryScreen())

    def _show_status(self) -> None:
        app = self.app
        warnings = list(app.warnings)
        if app.problems:
            count = len(app.problems)
            warnings.append(f"{count} problem{'s' if count > 1 else ''}: see notifications")
        self.query_one(StatusBar).show(self.store, app.source, self.reveal, warnings)
