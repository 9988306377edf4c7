"""Messages the widgets send up to the app, which owns the state and decides what changes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from textual.message import Message

from ..engine.decision import Decision

DetailTab = Literal["trace", "headers", "fix"]


@dataclass
class SelectionChanged(Message):
    """The cursor of the requests table is on another request (None: the table is empty)."""

    decision: Decision | None


@dataclass
class DetailRequested(Message):
    """The user wants to see a request in detail (Enter, a click), on the tab shown last."""

    decision: Decision


@dataclass
class SearchChanged(Message):
    """The text in the filter bar's search field changed (the scope buttons run actions)."""

    text: str
