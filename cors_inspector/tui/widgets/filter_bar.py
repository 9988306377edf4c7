"""Which requests the table shows: scope buttons, the backend, free-text search."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Input

from ..messages import SearchChanged
from ..store import Filter

SCOPES = {"all": "All (a)", "cors": "CORS (c)", "blocked": "Blocked (b)"}


class FilterBar(Horizontal):
    def __init__(self) -> None:
        super().__init__(id="filter-bar")

    def compose(self) -> ComposeResult:
        for scope, label in SCOPES.items():
            yield Button(label, id=f"scope-{scope}", compact=True, action=f"app.scope('{scope}')")
        yield Button("Backend (o): all ▾", id="backend", compact=True, action="app.pick_backend")
        yield Input(placeholder="/ search URL, method, status, reason…", id="search")

    def on_mount(self) -> None:
        for button in self.query(Button):
            button.can_focus = False  # the keys do the same; Tab stays for table and detail

    def show(self, current: Filter) -> None:
        for scope in SCOPES:
            self.query_one(f"#scope-{scope}").set_class(scope == current.scope, "-active")
        backend = self.query_one("#backend", Button)
        backend.label = f"Backend (o): {current.backend or 'all'} ▾"
        backend.set_class(current.backend is not None, "-active")

    @on(Input.Changed, "#search")
    def _search(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(SearchChanged(event.value))
