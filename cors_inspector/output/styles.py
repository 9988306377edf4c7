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
# Allowed as captured, but blocked had the page sent credentials (the wire cannot tell).
IF_CREDENTIALS = "if-credentials"
IF_CREDENTIALS_STYLE = ("◐", "yellow")
IF_CREDENTIALS_WORDS = "allowed — but blocked if the page sends credentials"
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


def verdict_key(decision: Decision) -> str:
    """The verdict's name in a palette: IF_CREDENTIALS has a style of its own."""
    return IF_CREDENTIALS if decision.verdict_if_credentials == "blocked" else decision.verdict


def verdict_text(decision: Decision, palette: Palette | None = None) -> Text:
    """The verdict; for requests no CORS check applies to, what kind they are instead."""
    key = verdict_key(decision)
    symbol, style = IF_CREDENTIALS_STYLE if key == IF_CREDENTIALS else VERDICT_STYLE[key]
    word = decision.kind if decision.verdict == "not-applicable" else decision.verdict
    return Text(f"{symbol} {word}", style=palette[key] if palette else style)


def reason_text(decision: Decision) -> str:
    """The reason column: Chromium's name, or what credentials would change."""
    if decision.reason_if_credentials and decision.verdict_if_credentials == "blocked":
        return f"with credentials: {decision.reason_if_credentials}"
    return decision.headline_reason or ""


def console_lines(decision: Decision) -> list[str]:
    """What each browser says of a blocked request, the one that sent it first: Firefox's
    console line and Chromium's name for Firefox's traffic, else Chromium's line and
    Firefox's name."""
    if decision.browser == "firefox":
        lines = [
            f"Firefox: {decision.firefox_console_message}" * bool(decision.firefox_console_message),
            f"Chromium: {decision.reason}" * bool(decision.reason),
        ]
    else:
        lines = [
            f"Chromium: {decision.console_message}" * bool(decision.console_message),
            f"Firefox: {decision.firefox_reason}" * bool(decision.firefox_reason),
        ]
    return [line for line in lines if line]
