"""Choose the backend whose requests the table shows; returns "" for all, None if cancelled."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from ...engine.words import counted
from ..store import BackendStats

ALL = ""


class BackendPicker(ModalScreen[str | None]):
    CSS_PATH = "backend_picker.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, backends: dict[str, BackendStats], current: str | None) -> None:
        super().__init__()
        self.backends = backends
        self.current = current

    def compose(self) -> ComposeResult:
        options = [Option("All backends", id=ALL)]
        for name in sorted(self.backends):
            stats = self.backends[name]
            label = Text(name)
            label.append(f"  {counted(sum(stats.counts.values()), 'request', grouped=True)}", "dim")
            if stats.blocked:
                label.append(f"  ✘ {stats.blocked:,} blocked", "bold red")
            options.append(Option(label, id=name))
        picker = OptionList(*options, id="backend-options")
        picker.border_title = "Show requests to"
        yield picker

    def on_mount(self) -> None:
        picker = self.query_one(OptionList)
        picker.highlighted = picker.get_option_index(self.current or ALL)

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
