"""Why the browser decided what it did: the verdict in words, then every check it ran."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from ...engine.decision import Decision
from ...output.styles import Palette, console_lines, verdict_text
from ...output.text import trace_table
from ...redact import redact_text
from .styles import ThemedStatic


def explanation(decision: Decision, reveal: bool, palette: Palette) -> list[RenderableType]:
    url = decision.url if reveal else redact_text(decision.url)
    heading = Text.assemble(
        verdict_text(decision, palette),
        (f" {decision.headline_reason}" if decision.headline_reason else "", "bold"),
        f"  {decision.method} {url}",
        (f"  from {decision.origin}" if decision.origin else "", "dim"),
    )
    parts: list[RenderableType] = [heading, Text(""), Text(decision.explanation)]
    for number, line in enumerate(console_lines(decision)):
        parts.append(Text("\n" * (number == 0) + (line if reveal else redact_text(line)), "dim"))
    if decision.is_cors:
        parts.append(
            Text(f"Credentials: {decision.credentials} ({decision.credentials_basis})", "dim")
        )
    if decision.readable_headers is not None:
        readable = ", ".join(decision.readable_headers) or "none"
        parts.append(Text(f"Script may read: {readable}", "dim"))
    if decision.hidden_headers:
        parts.append(Text(f"Hidden from script: {', '.join(decision.hidden_headers)}", "dim"))
    if decision.preflight_for:
        parts.append(Text(f"Preflight of flow {decision.preflight_for}.", "dim"))
    return parts


class TraceView(ThemedStatic):
    def show(self, decision: Decision | None, reveal: bool) -> None:
        if decision is None:
            self.update("")
            return
        palette = self.palette()
        explained = explanation(decision, reveal, palette)
        self.update(Group(*explained, Text(""), trace_table(decision, palette)))
