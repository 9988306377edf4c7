"""Every backend that saw CORS requests: counts by reason, and the merged, verified fix."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Static

from ..fixes import FixResult
from ..widgets.summary import BackendSummary
from .fix_actions import FixActionsScreen


class SummaryScreen(FixActionsScreen):
    CSS_PATH = "summary.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,s", "app.pop_screen", "Back"),
        Binding("y", "copy_fix", "Copy fix"),
        Binding("w", "save_fix", "Save fix"),
        Binding("r", "reverify", "Verify again", tooltip="Recompute stale fixes"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="summary-body"):
            yield Static("No CORS requests yet.", id="summary-empty")
        yield Footer()

    def on_mount(self) -> None:
        self.app.fixes.ready.subscribe(self, self._fix_ready)
        self.app.store_changed.subscribe(self, lambda _: self.refresh_backends())
        self.refresh_backends()
        summaries = self.query(BackendSummary)
        if summaries:
            summaries.first().focus()

    @property
    def reveal(self) -> bool:
        """Secrets as the main screen shows them (its r reveals them)."""
        return self.app.main_screen.reveal

    def backend_in_context(self) -> str | None:
        """The backend in focus."""
        focused = self.focused
        return focused.backend if isinstance(focused, BackendSummary) else None

    def refresh_backends(self) -> None:
        """Counts are always current; a fix is asked for once its backend has something
        blocked, and kept while this screen is open (said to be stale once more requests
        came: verifying again under live traffic could go on forever, so `r` asks for it)."""
        store = self.app.store
        self.sub_title = "summary per backend"
        if store.disagreements:  # the same rows as the requests table's `d` filter
            self.sub_title += f" · ≠ {store.disagreements:,} disagree with the browser"
        body = self.query_one("#summary-body", VerticalScroll)
        shown = {summary.backend: summary for summary in self.query(BackendSummary)}
        backends = store.cors_backends()
        self.query_one("#summary-empty").display = not backends
        for backend in backends:
            stats = store.backends[backend]
            summary = shown.get(backend)
            if summary is None:
                summary = BackendSummary(backend)
                body.mount(summary)
            elif summary.version == stats.version:
                continue
            if summary.fix is None and not summary.verifying:
                summary.show(stats, *self.app.fixes.state(backend), self.reveal)
            else:
                summary.show(stats, summary.fix, summary.verifying, self.reveal)

    def action_reverify(self) -> None:
        for summary in self.query(BackendSummary):
            summary.fix, summary.version = None, -1  # the app recomputes only what is stale
        self.refresh_backends()

    def _fix_ready(self, result: FixResult) -> None:
        for summary in self.query(BackendSummary):
            if summary.backend == result.backend:
                summary.show(self.app.store.backends[result.backend], result, False, self.reveal)
