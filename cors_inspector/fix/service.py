"""What the views ask of the fix suggester: one verified suggestion per backend that needs one.

The CLI, the addon's `cors.fix` command and the TUI all call this, so that they agree on which
backends get a fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..engine import Decision
from .observe import Folder
from .suggest import Suggestion, suggest


def suggestions_of(folder: Folder, hidden: bool = False, only: str = "") -> Iterator[Suggestion]:
    """One verified suggestion per backend that had at least one blocked request, or one
    that would be blocked if the page sent credentials; with `hidden`, also per backend whose
    responses carry headers script cannot read; `only`: for that backend alone. Made one at
    a time, as asked for."""
    for backend, needs_fix in folder.backends(hidden, only):
        suggestion = suggest(backend)
        if needs_fix or suggestion.hidden_headers:
            yield suggestion


def fold(decisions: Iterable[Decision]) -> Folder:
    folder = Folder()
    for decision in decisions:
        folder.add(decision)
    return folder


def suggestions_for(decisions: Iterable[Decision], hidden: bool = False) -> dict[str, Suggestion]:
    """suggestions_of every backend of `decisions`, by backend."""
    return {s.backend: s for s in suggestions_of(fold(decisions), hidden)}
