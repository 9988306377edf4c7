"""Show a replay: each request before -> after, and why."""

from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import urlsplit

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..engine.words import counted
from ..replay import Replayed
from .styles import REPLAY_STYLE


def _why(result: Replayed) -> str:
    if result.error:
        return f"no answer: {result.error}"
    blocked = result.blocked_after
    if blocked is None:
        return ""
    where = "preflight: " if blocked.kind == "preflight" else ""
    first_sentence = blocked.explanation.split(". ")[0].rstrip(".") + "."
    return f"{where}{blocked.reason or 'blocked'}: {first_sentence}"


def print_replay(console: Console, results: list[Replayed], target: str) -> None:
    table = Table(title=f"Replayed to {target}", title_justify="left", expand=True)
    table.add_column("method", no_wrap=True)
    table.add_column("path", overflow="fold", ratio=2)
    table.add_column("before", no_wrap=True)
    table.add_column("after", no_wrap=True)
    table.add_column("why", overflow="fold", ratio=3)
    for result in results:
        symbol, style = REPLAY_STYLE[result.outcome]
        parts = urlsplit(result.observation.decision.url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        table.add_row(
            result.observation.method,
            path,
            result.before,
            Text(f"{symbol} {result.outcome}", style=style),
            _why(result),
        )
    console.print(table)
    counts = Counter(result.outcome for result in results)
    line = Text(f"{counted(len(results), 'request')}: ")
    for outcome, (symbol, style) in REPLAY_STYLE.items():
        if counts[outcome]:
            line.append(f"{symbol} {counts[outcome]} {outcome}  ", style=style)
    console.print(line)


def replay_records(results: list[Replayed]) -> list[dict[str, Any]]:
    return [
        {
            "flow_id": result.observation.decision.flow_id,
            "url": result.observation.decision.url,
            "method": result.observation.method,
            "before": result.before,
            "after": "blocked"
            if result.blocked_after
            else ("failed" if result.error else "allowed"),
            "outcome": result.outcome,
            "reason": result.blocked_after.reason if result.blocked_after else None,
            "why": _why(result),
        }
        for result in results
    ]
