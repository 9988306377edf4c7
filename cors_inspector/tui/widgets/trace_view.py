"""Why the browser decided what it did: the verdict in words, then every check it ran."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.style import Style
from rich.text import Text

from ...engine.decision import Decision
from ...output.styles import Palette, console_lines, verdict_text
from ...output.text import trace_table
from ...redact import redact_decision
from ..store import disagrees
from .styles import ThemedStatic


def browser_lines(decision: Decision, palette: Palette) -> list[Text]:
    """What the attached browser said (--with-browser): the script line that made the call,
    and its own verdict, beside the rebuild's where they differ."""
    lines = []
    if (called := decision.initiator) is not None:
        name = called.url.rsplit("/", 1)[-1].split("?", 1)[0] or called.url
        where = Text("called from ", "dim")
        where.append(f"{name}:{called.line}:{called.column}", Style(link=called.url))
        lines.append(where)
    if decision.browser_verdict is not None:
        theirs = decision.browser_verdict + (
            f" {decision.browser_reason}" if decision.browser_reason else ""
        )
        if disagrees(decision):
            ours = decision.verdict + (f" {decision.reason}" if decision.reason else "")
            lines.append(Text(f"≠ the browser: {theirs}; the rebuild: {ours}", palette["unknown"]))
        else:
            lines.append(Text(f"the browser: {theirs}", "dim"))
    return lines


def explanation(decision: Decision, palette: Palette) -> list[RenderableType]:
    heading = Text.assemble(
        verdict_text(decision, palette),
        (f" {decision.headline_reason}" if decision.headline_reason else "", "bold"),
        f"  {decision.method} {decision.url}",
        (f"  from {decision.origin}" if decision.origin else "", "dim"),
    )
    parts: list[RenderableType] = [heading, *browser_lines(decision, palette)]
    parts += [Text(""), Text(decision.explanation)]
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
