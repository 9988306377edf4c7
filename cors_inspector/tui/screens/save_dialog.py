"""Ask where to save the fix; returns the path, or None when cancelled."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label


class SaveDialog(ModalScreen[Path | None]):
    CSS_PATH = "save_dialog.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, default: Path) -> None:
        super().__init__()
        self.title_text = title
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(id="save-box") as box:
            box.border_title = self.title_text
            yield Label("Save to:")
            yield Input(str(self.default), id="save-path")
            yield Label("", id="save-note")
            with Horizontal(id="save-buttons"):
                yield Button("Save", id="save", variant="primary")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self._note(str(self.default))

    @on(Input.Changed, "#save-path")
    def _changed(self, event: Input.Changed) -> None:
        self._note(event.value)

    def _note(self, value: str) -> None:
        exists = bool(value.strip()) and Path(value.strip()).expanduser().exists()
        self.query_one("#save-note", Label).update("exists: it will be replaced" if exists else "")

    @on(Input.Submitted, "#save-path")
    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        value = self.query_one("#save-path", Input).value.strip()
        if value:
            self.dismiss(Path(value).expanduser())

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
