"""What the views ask of the fix suggester: one verified suggestion per backend that needs one.

The CLI, the addon's `cors.fix` command and the TUI all call this, so that they agree on which
backends get a fix.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..engine import Decision
from .observe import group_by_backend
from .suggest import Suggestion, suggest


def suggestions_for(decisions: Iterable[Decision]) -> dict[str, Suggestion]:
    """One verified suggestion per backend that had at least one blocked request, or one
    that would be blocked if the page sent credentials."""
    return {
        origin: suggest(backend)
        for origin, backend in group_by_backend(decisions).items()
        if any(o.blocked or o.undecided for o in backend.observations)
    }
