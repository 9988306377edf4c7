"""The fix for the selected request's backend: the verified CORSMiddleware configuration."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.widgets import Static

from ...engine.decision import Decision
from ..fixes import FixResult
from ..store import backend_of

HINT = "y copy the configuration · w save it to a file"


class FixView(Static):
    def show(
        self, decision: Decision | None, fix: FixResult | None, verifying: bool, reveal: bool
    ) -> None:
        """`fix` None: nothing to fix there, or (`verifying`) not computed yet; the URLs it
        quotes masked unless `reveal`."""
        if decision is None:
            self.update("")
            return
        backend = backend_of(decision)
        if not decision.is_cors:
            self.update(Text("No CORS check applies to this request: nothing to fix.", "dim"))
        elif verifying:
            self.update(Text(f"Verifying the fix for {backend} with Starlette…", "italic"))
        elif fix is not None and fix.error:
            self.update(Text(f"The fix for {backend} could not be computed: {fix.error}", "red"))
        elif fix is None or fix.suggestion is None:
            self.update(Text(f"Nothing blocked for {backend}: no fix needed.", "dim"))
        else:
            from ...output.fix import fix_for_decision  # loaded already: it made the fix

            shown = fix_for_decision(decision, fix.suggestion, reveal)
            self.update(Group(shown, Text(""), Text(HINT, "dim")) if shown else "")
