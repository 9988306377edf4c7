"""What the views ask of the fix suggester: one verified suggestion per backend that needs one.

The CLI, the addon's `cors.fix` command and the TUI all call this, so that they agree on which
backends get a fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..engine import Decision
from .observe import Backend, group_by_backend
from .suggest import Suggestion, suggest


def suggestions_for(decisions: Iterable[Decision], hidden: bool = False) -> dict[str, Suggestion]:
    """One verified suggestion per backend that had at least one blocked request, or one
    that would be blocked if the page sent credentials; with `hidden`, also per backend whose
    responses carry headers script cannot read."""
    return suggest_backends(group_by_backend(decisions), hidden)


def suggest_backends(
    backends: Mapping[str, Backend], hidden: bool = False
) -> dict[str, Suggestion]:
    """suggestions_for, over backends already grouped (in their order)."""
    found: dict[str, Suggestion] = {}
    for origin, backend in backends.items():
        if any(o.blocked or o.undecided for o in backend.observations):
            found[origin] = suggest(backend)
        elif (
            hidden
            and any(o.wanted_exposed for o in backend.observations)
            and (suggestion := suggest(backend)).hidden_headers
        ):
            found[origin] = suggestion
    return found
