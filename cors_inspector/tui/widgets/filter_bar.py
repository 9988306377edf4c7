"""Which requests the table shows: scope buttons, the backend, free-text search."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button, Input

from ..store import Filter

SCOPES = {"all": "All (a)", "cors": "CORS (c)", "blocked": "Blocked (b)"}


class FilterBar(Horizontal):
    """Shows the filter; the buttons run the screen's actions, the search field says
    `SearchChanged`."""

    DEFAULT_CSS = """
    FilterBar#filter-bar {
        height: 1;
        background: $panel;
        padding: 0 1;

        Button {
            min-width: 0;
            margin-right: 1;
            background: $panel;
            color: $text-muted;

            &.-active {
                background: $accent;
                color: $text;
                text-style: bold;
            }
        }

        #backend {
            margin-right: 2;
        }

        #search {
            width: 1fr;
            height: 1;
            border: none;
            padding: 0 1;
            background: $surface;

            &:focus {
                background: $boost;
            }
        }
    }
    """

    @dataclass
    class SearchChanged(Message):
        """The text in the search field changed."""

        text: str

    def __init__(self) -> None:
        super().__init__(id="filter-bar")

    def compose(self) -> ComposeResult:
        for scope, label in SCOPES.items():
            action = f"screen.scope('{scope}')"
            yield Button(label, id=f"scope-{scope}", compact=True, action=action)
        yield Button("Backend (o): all ▾", id="backend", compact=True, action="screen.pick_backend")
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
        self.post_message(self.SearchChanged(event.value))
