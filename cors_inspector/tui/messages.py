"""Messages the widgets send up to the app, which owns the state and decides what changes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from textual.message import Message

from ..engine.decision import Decision
from .store import Scope

DetailTab = Literal["trace", "headers", "fix"]


@dataclass
class SelectionChanged(Message):
    """The cursor of the requests table is on another request (None: the table is empty)."""

    decision: Decision | None


@dataclass
class DetailRequested(Message):
    """The user wants to see a request in detail (Enter, a click), on this tab."""

    decision: Decision
    tab: DetailTab | None = None  # None: the tab shown last


@dataclass
class FilterRequested(Message):
    """The filter bar asks for another scope or search text (None: unchanged)."""

    scope: Scope | None = None
    search: str | None = None
