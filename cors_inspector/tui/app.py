"""The cors-inspector TUI: requests as the browser judged them, live or from captures.

The app owns the state (a `Store`), feeds it (from the proxy's thread or a file-reading
worker, in batches), and tells the widgets what to show; the widgets only render and report
what the user did.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from time import monotonic
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.reactive import var
from textual.signal import Signal
from textual.widgets import Footer, Header, Input
from textual.worker import Worker, get_current_worker

from ..engine.decision import Decision
from .commands import CorsCommands
from .fixes import FixResult, default_fix_path, fix_file_text, verify_fix
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
    from .feed import LiveProxy

BATCH_SECONDS = 0.1  # how often rows read from a file are handed to the UI
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
        self.fix_ready: Signal[FixResult] = Signal(self, "fix-ready")
        self.store_changed: Signal[Change] = Signal(self, "store-changed")
        self._live: LiveProxy | None = None
        self._source = ""
        self._fixes: dict[str, FixResult] = {}  # backend -> its latest fix
        self._verifying: set[str] = set()  # backends whose fix is being computed
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
        if self.proxy_settings is not None:
            self._start_proxy(self.proxy_settings)
        else:
            names = ", ".join(path.name for path in self.files)
            self.sub_title = names
            self._source = f"▤ loading {names}…" if names else ""
            self._load(self.files)
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

    @work(thread=True, exit_on_error=False, group="load")
    def _load(self, paths: list[Path]) -> None:
        from ..judge import BytesDone, judge_captures
        from ..readers import Capture, CaptureError, CaptureNote

        worker = get_current_worker()
        problems: list[CaptureError] = []  # a file that could not be read is noted here
        notes: list[CaptureNote] = []  # e.g. a NetLog that was never closed
        reported = 0
        batch: list[Decision] = []
        handed_at = shown_at = monotonic()
        done = BytesDone(paths)

        def progress(capture: Capture, count: int) -> None:
            nonlocal shown_at
            if done.total and monotonic() - shown_at >= BATCH_SECONDS:
                percent = 100 * done(capture) // done.total
                self.call_from_thread(self._show_loading, f"{capture.path.name} {percent}%")
                shown_at = monotonic()

        for decision in judge_captures(paths, problems, progress, notes):
            batch.append(decision)
            if len(problems) > reported:
                for problem in problems[reported:]:
                    self.call_from_thread(self.capture_problem, str(problem))
                reported = len(problems)
            if monotonic() - handed_at >= BATCH_SECONDS:
                if worker.is_cancelled:
                    return
                self.call_from_thread(self.add_decisions, batch)
                batch, handed_at = [], monotonic()
        for note in notes:
            self.call_from_thread(self.notify, str(note), title="Note", timeout=15)
        self.call_from_thread(self._loaded, batch, [str(p) for p in problems[reported:]])

    def _show_loading(self, where: str) -> None:
        self._source = f"▤ loading {where}…"
        self._show_status()

    def _loaded(self, batch: list[Decision], problems: list[str]) -> None:
        self.add_decisions(batch)
        for problem in problems:
            self.capture_problem(problem)
        self.table.list.unseen = 0  # all of it is new: nothing to announce
        self._source = f"▤ {self.sub_title}" if self.files else ""
        self._show_status()

    def _start_proxy(self, settings: ProxySettings) -> None:
        from ..mitm.proxy import is_loopback
        from .feed import LiveProxy

        address = f"{settings.listen_host}:{settings.listen_port}"
        self.sub_title = f"live: proxy on http://{address}"
        self._source = f"● proxy {address}"
        if not is_loopback(settings.listen_host):
            self.warnings.append(f"listening on {settings.listen_host or 'all interfaces'}")
        self._live = LiveProxy(
            settings,
            deliver=partial(self.call_from_thread, self.add_decisions),
            report=partial(self.call_from_thread, self.proxy_problem),
        )
        self.run_worker(self._live.run, thread=True, group="proxy", exit_on_error=False)

    def proxy_problem(self, problem: str) -> None:
        self.problems.append(problem)
        self.notify(problem, title="Proxy", severity="error", timeout=15)
        self._show_status()

    async def _stop_proxy(self) -> None:
        if self._live is not None:
            self._live.stop()
            for worker in self.workers:
                if worker.group == "proxy":
                    await worker.wait()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "fix" and isinstance(worker.result, FixResult):
            self._fix_done(worker.result)
        elif worker.group == "proxy" and worker.is_finished:
            self._source = "○ proxy stopped"
            self._show_status()

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
            self.detail.show_fix(*self.fix_state(backend_of(decision)))

    # -- fixes --------------------------------------------------------------------------------

    def fix_state(self, backend: str) -> tuple[FixResult | None, bool]:
        """The current fix for `backend`, or (None, True) while it is computed (started here:
        fixes are computed only when someone looks at one)."""
        stats = self.store.backends.get(backend)
        if stats is None or not stats.blocked:
            return None, False
        cached = self._fixes.get(backend)
        if cached is not None and cached.version == stats.version:
            return cached, False
        if backend not in self._verifying:
            self._verifying.add(backend)
            decisions = self.store.decisions_for(backend)
            self.run_worker(
                partial(verify_fix, backend, stats.version, decisions),
                thread=True,
                group="fix",
                exit_on_error=False,
            )
        return None, True

    def _fix_done(self, result: FixResult) -> None:
        self._verifying.discard(result.backend)
        self._fixes[result.backend] = result
        self.fix_ready.publish(result)
        # Shown even if traffic made it stale meanwhile: recomputing at once could go on
        # forever under live traffic; moving the cursor asks again.
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
        fix, verifying = self.fix_state(backend)
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
        await self._stop_proxy()
        self.exit()

    def on_unmount(self) -> None:
        if self._live is not None:
            self._live.stop()  # however the app ends, the proxy's thread must end too
        gc.unfreeze()  # what add_decisions froze can be collected again (the app is garbage)

    def _show_status(self) -> None:
        warnings = list(self.warnings)
        if self.problems:
            count = len(self.problems)
            warnings.append(f"{count} problem{'s' if count > 1 else ''}: see notifications")
        self.query_one(StatusBar).show(self.store, self._source, self.reveal, warnings)
