"""Why the browser decided what it did: the verdict in words, then every check it ran."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from ...engine.decision import Decision
from ...output.styles import Palette, console_lines, verdict_text
from ...output.text import trace_table
from ...redact import redact_decision
from .styles import ThemedStatic


def explanation(decision: Decision, palette: Palette) -> list[RenderableType]:
    heading = Text.assemble(
        verdict_text(decision, palette),
        (f" {decision.headline_reason}" if decision.headline_reason else "", "bold"),
        f"  {decision.method} {decision.url}",
        (f"  from {decision.origin}" if decision.origin else "", "dim"),
    )
    parts: list[RenderableType] = [heading, Text(""), Text(decision.explanation)]
    for number, line in enumerate(console_lines(decision)):
        parts.append(Text("\n" * (number == 0) + line, "dim"))
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
        if not reveal:  # the URLs it quotes, in its explanation and trace too
            decision = redact_decision(decision)
        explained = explanation(decision, palette)
        self.update(Group(*explained, Text(""), trace_table(decision, palette)))
