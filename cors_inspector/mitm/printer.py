"""One coloured line per decision, for the terminal mitmdump (or `cors-inspector proxy`) runs in.

Whether to print is the `cors_print` option: `cors-inspector proxy` sets it `on`, the TUI's
in-process proxy `off`; `auto` (a bare `mitmdump -s addons/cors_inspector.py`) prints where
mitmdump's own flow printer is loaded, since the consoles of mitmproxy and mitmweb own their
screens. Lines are collected and written out with the log records, at most every 50 ms under load: a
write per flow costs the proxy more than judging it does.
"""

from __future__ import annotations

import sys
from typing import TextIO

from mitmproxy import ctx

from ..engine import Decision
from ..redact import redact_text

LINE_STYLE = {"allowed": "\x1b[32m✔", "blocked": "\x1b[1;31m✘", "unknown": "\x1b[33m?"}


def decision_line(decision: Decision, redact: bool = True) -> str:
    """One coloured line for a terminal."""
    symbol = LINE_STYLE.get(decision.verdict, "\x1b[2m·")
    url = redact_text(decision.url) if redact else decision.url
    line = f"{symbol} {decision.verdict:<8}\x1b[0m {decision.method:<7} {url}"
    line += f" \x1b[2mfrom {decision.origin}\x1b[0m"
    if reason := decision.headline_reason:
        line += f" \x1b[31m{reason}\x1b[0m"
    elif decision.verdict_if_credentials == "blocked":
        line += (
            f" \x1b[33m◐ but blocked if the page sends credentials: "
            f"{decision.reason_if_credentials}\x1b[0m"
        )
    if decision.supersedes:
        line += " \x1b[2m(corrected)\x1b[0m"
    return line


PRINT_CHOICES = ("auto", "on", "off")


class Printer:
    """Prints where a terminal shows the proxy's output, as the `cors_print` option says."""

    def __init__(self, outfile: TextIO | None = None) -> None:
        self.outfile = outfile  # None: sys.stdout as it is when lines are written
        self.enabled = False
        self._redact = True
        self._lines: list[str] = []

    def load(self, loader) -> None:
        loader.add_option(
            "cors_print",
            str,
            "auto",
            "Print one coloured line per decision: on, off, or auto (where mitmdump prints "
            "its flows).",
            choices=PRINT_CHOICES,
        )

    def configure(self, updated: set[str]) -> None:
        choice = ctx.options.cors_print
        # mitmdump's Dumper addon prints flows to its terminal: where it runs, lines belong.
        self.enabled = choice == "on" or (
            choice == "auto" and ctx.master.addons.get("dumper") is not None
        )
        self._redact = ctx.options.cors_redact

    def write(self, decision: Decision) -> None:
        if self.enabled:
            self._lines.append(decision_line(decision, self._redact))

    def flush(self) -> None:
        if self._lines:
            lines, self._lines = self._lines, []
            out = self.outfile or sys.stdout
            out.write("\n".join(lines) + "\n")
            out.flush()
