"""Request or response headers, the decisive ones highlighted and secrets masked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.console import Group
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from ...engine.decision import Decision
from ...engine.exchange import Headers
from ...redact import mask_value
from .styles import text_style

DECISIVE, CORS = "✘", "•"  # markers, so the highlight reads without colour too


def decisive_headers(decision: Decision) -> set[str]:
    """Lower-case names of the headers the failing checks are about."""
    names: set[str] = set()
    for step in decision.trace:
        if step.outcome != "fail":
            continue
        # Checks are named after their header, sometimes with a detail after a colon.
        name = step.check.partition(":")[0].strip().lower()
        names.add("location" if "redirect" in name else name)
    if decision.failed_parameter and " " not in decision.failed_parameter:
        names.add(decision.failed_parameter.lower())  # e.g. the request header not allowed
    return names


def is_cors_header(name: str) -> bool:
    return name.startswith("access-control-") or name == "origin"


def absent_response_headers(decisive: set[str], headers: Headers | None) -> list[str]:
    """The response headers a failing check wanted and the response did not have."""
    return sorted(
        name
        for name in decisive
        if name.startswith("access-control-allow-") and (headers is None or name not in headers)
    )


class HeaderView(Static):
    DEFAULT_CSS = """
    HeaderView {
        & > .header-view--title {
            text-style: bold;
            color: $accent;
        }

        & > .header-view--name {
            text-style: bold;
        }

        & > .header-view--decisive {
            color: $text-error;
            text-style: bold;
        }

        & > .header-view--cors {
            color: $text-secondary;
        }

        & > .header-view--masked {
            color: $text-muted;
            text-style: italic;
        }
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "header-view--title",
        "header-view--name",
        "header-view--decisive",
        "header-view--cors",
        "header-view--masked",
    }

    def show(
        self,
        title: Text,
        headers: Headers | None,
        decisive: set[str],
        reveal: bool,
        absent: Sequence[str] = (),
    ) -> None:
        """`absent`: decisive headers missing from `headers`, listed as such."""

        def style(component: str) -> Style:
            return text_style(self, f"header-view--{component}")

        title.stylize(style("title"))
        if (headers is None or not headers.pairs) and not absent:
            self.update(Group(title, Text("  (none)", style("masked"))))
            return
        table = Table(
            box=None, show_header=False, expand=True, pad_edge=False, padding=(0, 1, 0, 0)
        )
        table.add_column(no_wrap=True, width=1)
        table.add_column(no_wrap=True, style=style("name"))
        table.add_column(overflow="fold", ratio=1)
        for name in absent:
            table.add_row(
                DECISIVE, name.title(), Text("(absent)", style("masked")), style=style("decisive")
            )
        for name, value in headers.pairs if headers else ():
            lower = name.lower()
            shown = value if reveal else mask_value(lower, value)
            value_text = Text(shown)
            if shown != value:
                value_text.stylize(style("masked"))
            if lower in decisive:
                marker, row_style = DECISIVE, style("decisive")
            elif is_cors_header(lower):
                marker, row_style = CORS, style("cors")
            else:
                marker, row_style = "", None
            table.add_row(marker, name, value_text, style=row_style)
        self.update(Group(title, table))
