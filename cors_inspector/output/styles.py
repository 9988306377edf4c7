"""One palette for every view: the symbol and default style of each verdict and outcome.

Symbols keep the meaning readable without colour; the TUI swaps the styles for its theme's.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.style import StyleType
from rich.text import Text

from ..engine.decision import Decision

VERDICT_STYLE = {
    "allowed": ("✔", "green"),
    "blocked": ("✘", "bold red"),
    "not-applicable": ("·", "dim"),
    "unknown": ("?", "yellow"),
}
# The outcome of one check in a trace.
STEP_STYLE = {"pass": ("✔", "green"), "fail": ("✘", "bold red"), "info": ("·", "cyan")}
# The outcome of a replayed request, before -> after.
REPLAY_STYLE = {
    "fixed": ("✔", "green"),
    "still allowed": ("✔", "dim green"),
    "still blocked": ("✘", "bold red"),
    "newly broken": ("✘", "bold red"),
    "failed": ("?", "yellow"),
}
# A palette: the style of each verdict and trace outcome by name, e.g. from a TUI theme.
Palette = Mapping[str, StyleType]


def verdict_text(decision: Decision, palette: Palette | None = None) -> Text:
    """The verdict; for requests no CORS check applies to, what kind they are instead."""
    symbol, style = VERDICT_STYLE[decision.verdict]
    word = decision.kind if decision.verdict == "not-applicable" else decision.verdict
    return Text(f"{symbol} {word}", style=palette[decision.verdict] if palette else style)
