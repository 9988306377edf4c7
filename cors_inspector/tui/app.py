"""The cors-inspector TUI: requests as the browser judged them, live or from captures.

The app owns the state (a `Store`), feeds it (from the proxy's thread or a file-reading
worker, in batches), and tells the widgets what to show; the widgets only render and report
what the user did.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.reactive import var
from textual.signal import Signal
from textual.widgets import Footer, Header, Input

from ..engine.decision import Decision
from .commands import CorsCommands
from .feed import FileFeed, ProxyFeed
from .fixes import FixCache, FixResult, default_fix_path, fix_file_text
from .messages import DetailRequested, DetailTab, SearchChanged, SelectionChanged
from .screens.backend_picker import BackendPicker
from .screens.help import HelpScreen
from .screens.save_dialog import SaveDialog
from .screens.summary import SummaryScreen
from .store import Change, Scope, Store, backend_of
from .widgets.detail_pane import DetailPane
from .widgets.filter_bar import FilterBar
from .widgets.requests_table import RequestList, RequestsTable
from .widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from ..fix import Suggestion
    from ..mitm.proxy import ProxySettings

FREEZE_EVERY = 10_000  # decisions added between two gc.freeze() calls (see add_decisions)
# Actions on the requests table and its detail, which other screens cover.
MAIN_SCREEN_ACTIONS = frozenset(
    {"scope", "pick_backend", "search", "detail", "close", "toggle_secrets", "summary"}
)


class CorsInspectorApp(App[None]):
    TITLE = "cors-inspector"
    CSS_PATH: ClassVar[list[str | Path]] = [  # type: ignore[assignment, misc]
        "app.tcss",
        "widgets/filter_bar.tcss",
        "widgets/requests_table.tcss",
        "widgets/detail_pane.tcss",
        "widgets/status_bar.tcss",
        "widgets/verdicts.tcss",
    ]
    COMMANDS = App.COMMANDS | {CorsCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        # The filter bar shows the filter keys; the footer shows the rest.
        Binding("b", "scope('blocked')", "Blocked", show=False, tooltip="Only blocked requests"),
        Binding("c", "scope('cors')", "CORS", show=False, tooltip="CORS requests and preflights"),
        Binding("a", "scope('all')", "All", show=False, tooltip="Every request"),
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
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    source = var("", init=False, always_update=True)  # what the feed is doing, for the status
    loading = var(False, init=False)  # capture files are being read
    reveal = var(False, init=False)  # secrets shown unmasked
    detail_open = var(False, init=False)

    def __init__(
        self,
        store: Store,
        *,
        files: Sequence[Path] = (),
        proxy: ProxySettings | None = None,
    ) -> None:
        """Live when `proxy` is given, else the decisions of `files`."""
        super().__init__()
        self.store = store
        self.files = list(files)
        self.proxy_settings = proxy
        self.problems: list[str] = []  # inputs that could not be read, proxy errors
        self.warnings: list[str] = []  # shown until the app ends
        self.fixes = FixCache(self, store)
        self.store_changed: Signal[Change] = Signal(self, "store-changed")
        self._proxy = ProxyFeed(self, proxy) if proxy is not None else None
        self._feed = self._proxy or FileFeed(self, files)
        self._unfrozen = 0  # decisions added since the last gc.freeze()
        self.table = RequestsTable(store, follow=proxy is not None)
        self.detail = DetailPane()

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
        self.table.list.focus()
        self.fixes.ready.subscribe(self, self._fix_done, immediate=True)
        self._feed.start()
        self._show_status()

    # -- feeding ------------------------------------------------------------------------------

    def add_decisions(self, decisions: list[Decision]) -> None:
        """Add a batch of decisions (from the proxy's thread via call_from_thread, or a file)."""
        change = self.store.add(decisions)
        self.table.list.lines_added(change)
        self._show_status()
        self.store_changed.publish(change)
        self._unfrozen += len(decisions)
        if self._unfrozen >= FREEZE_EVERY:
            # Kept decisions are long-lived and hold no reference cycles (dropped ones are
            # freed by reference counting), but the cyclic GC would rescan them all in each
            # full collection: 0.4 s at 100,000, a visible freeze. Take them out of its way,
            # after collecting the young garbage so that none of it is frozen.
            gc.collect(1)
            gc.freeze()
            self._unfrozen = 0

    def capture_problem(self, problem: str) -> None:
        """One line, in a notification and the status bar; what could be read stays shown."""
        self.problems.append(problem)
        self.notify(problem, title="Could not read", severity="error", timeout=15)
        self._show_status()

    def proxy_problem(self, problem: str) -> None:
        self.problems.append(problem)
        self.notify(problem, title="Proxy", severity="error", timeout=15)
        self._show_status()

    def watch_source(self) -> None:
        self._show_status()

    def watch_loading(self, loading: bool) -> None:
        if not loading:
            self.table.list.unseen = 0  # all of it is new: nothing to announce

    # -- filtering and following --------------------------------------------------------------

    def apply_filter(self, **changes: object) -> None:
        self.store.set_filter(**changes)  # type: ignore[arg-type]
        self.table.list.lines_replaced()
        self.query_one(FilterBar).show(self.store.filter)
        self._show_status()

    def action_scope(self, scope: Scope) -> None:
        self.apply_filter(scope=scope)

    @on(SearchChanged)
    def _search_changed(self, message: SearchChanged) -> None:
        self.apply_filter(search=message.text)

    def action_pick_backend(self) -> None:
        def chosen(backend: str | None) -> None:
            if backend is not None:
                self.apply_filter(backend=backend or None)

        self.push_screen(BackendPicker(self.store.backends, self.store.filter.backend), chosen)

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    @on(Input.Submitted, "#search")
    def _search_done(self) -> None:
        self.table.list.focus()

    def action_follow(self) -> None:
        self.table.list.action_follow()

    def action_close(self) -> None:
        """Escape: leave the search field, else close the detail."""
        if isinstance(self.focused, Input):
            self.table.list.focus()
        elif self.detail_open:
            self.detail_open = False

    # -- detail -------------------------------------------------------------------------------

    @on(SelectionChanged)
    def _selection_changed(self) -> None:
        if self.detail_open:
            self._show_detail()

    @on(DetailRequested)
    def _detail_requested(self) -> None:
        self._open_detail(None)

    def action_detail(self, tab: DetailTab) -> None:
        if self.store.selected_decision is not None:
            self.table.list.follow = False  # the detail stays on this request
            self._open_detail(tab)

    def _open_detail(self, tab: DetailTab | None) -> None:
        if tab is not None:
            self.detail.show_tab(tab)
        self.detail_open = True
        self._show_detail()

    def watch_detail_open(self, detail_open: bool) -> None:
        self.detail.display = detail_open
        if not detail_open:
            self.table.list.focus()
        self.refresh_bindings()

    def _show_detail(self) -> None:
        decision = self.store.selected_decision
        self.detail.show(decision, self.reveal)
        if decision is None or not decision.is_cors:
            self.detail.show_fix(None, False)
        else:
            self.detail.show_fix(*self.fixes.state(backend_of(decision)))

    # -- fixes --------------------------------------------------------------------------------

    def _fix_done(self, result: FixResult) -> None:
        decision = self.detail.decision
        if self.detail_open and decision is not None and backend_of(decision) == result.backend:
            self.detail.show_fix(result, False)

    def _context_backend(self) -> str | None:
        if isinstance(self.screen, SummaryScreen):
            return self.screen.backend_in_focus
        decision = self.store.selected_decision
        return backend_of(decision) if decision is not None and decision.is_cors else None

    def _ready_suggestion(self) -> Suggestion | None:
        """The fix that copy and save act on, or None after saying why there is none."""
        backend = self._context_backend()
        if backend is None:
            self.notify("Select a CORS request (or a backend in the summary) first.")
            return None
        fix, verifying = self.fixes.state(backend)
        if verifying:
            self.notify(f"Still verifying the fix for {backend} with Starlette: a moment.")
            return None
        if fix is None or fix.suggestion is None:
            self.notify(f"Nothing blocked for {backend}: no fix to copy or save.")
            return None
        return fix.suggestion

    def action_copy_fix(self) -> None:
        suggestion = self._ready_suggestion()
        if suggestion is not None:
            self.copy_to_clipboard(suggestion.config.to_python())
            self.notify(f"Copied the CORSMiddleware configuration for {suggestion.backend}.")

    def action_save_fix(self) -> None:
        suggestion = self._ready_suggestion()
        if suggestion is None:
            return

        def save(path: Path | None) -> None:
            if path is None:
                return
            try:
                path.write_text(fix_file_text(suggestion), encoding="utf-8")
            except OSError as error:
                self.notify(f"{path}: {error.strerror or error}", severity="error")
                return
            self.notify(f"Saved the fix for {suggestion.backend} to {path}.")

        title = f"Save the fix for {suggestion.backend}"
        self.push_screen(SaveDialog(title, default_fix_path(suggestion.backend)), save)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        on_summary = isinstance(self.screen, SummaryScreen)
        if action in ("copy_fix", "save_fix"):
            return self.detail_open or on_summary
        if action in MAIN_SCREEN_ACTIONS:
            return self.screen is self.screen_stack[0]  # not under another screen
        return True

    # -- the rest -----------------------------------------------------------------------------

    def action_toggle_secrets(self) -> None:
        self.reveal = not self.reveal

    def watch_reveal(self, reveal: bool) -> None:
        self.table.list.reveal = reveal
        if self.detail_open:
            self._show_detail()
        self._show_status()

    def action_summary(self) -> None:
        if not isinstance(self.screen, SummaryScreen):
            self.push_screen(SummaryScreen())

    def action_help(self) -> None:
        keys = [
            (
                " ".join(map(self.get_key_display, Binding.make_bindings([binding]))),
                binding.tooltip or binding.description,
            )
            for binding in [*RequestList.BINDINGS, *self.BINDINGS]
            if isinstance(binding, Binding)
        ]
        self.push_screen(HelpScreen(keys))

    async def action_quit(self) -> None:
        self.workers.cancel_group(self, "load")
        if self._proxy is not None:
            await self._proxy.stopped()
        self.exit()

    def on_unmount(self) -> None:
        if self._proxy is not None:
            self._proxy.stop()  # however the app ends, the proxy's thread must end too
        gc.unfreeze()  # what add_decisions froze can be collected again (the app is garbage)

    def _show_status(self) -> None:
        warnings = list(self.warnings)
        if self.problems:
            count = len(self.problems)
            warnings.append(f"{count} problem{'s' if count > 1 else ''}: see notifications")
        self.query_one(StatusBar).show(self.store, self.source, self.reveal, warnings)
