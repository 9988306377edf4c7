"""What the views ask of the fix suggester: one verified suggestion per backend that needs one.

The CLI, the addon's `cors.fix` command and the TUI all call this, so that they agree on which
backends get a fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..engine import Decision
from .observe import Folder
from .suggest import Suggestion, suggest


def suggestions_of(folder: Folder) -> Iterator[Suggestion]:
    """One verified suggestion per backend that had at least one blocked request, or one
    that would be blocked if the page sent credentials; made one at a time, as asked for."""
    for backend in folder.needing_fix():
        yield suggest(backend)


def fold(decisions: Iterable[Decision]) -> Folder:
    folder = Folder()
    for decision in decisions:
        folder.add(decision)
    return folder


def suggestions_for(decisions: Iterable[Decision]) -> dict[str, Suggestion]:
    """suggestions_of every backend of `decisions`, by backend."""
    return {suggestion.backend: suggestion for suggestion in suggestions_of(fold(decisions))}
