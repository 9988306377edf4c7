"""Component styles for text drawn over other backgrounds (a cursor line, a highlighted row)."""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from textual.widget import Widget
from textual.widgets import Static

from ...output.styles import IF_CREDENTIALS, STEP_STYLE, VERDICT_STYLE


def text_style(widget: Widget, component: str) -> Style:
    """The component's colour and text style, without its background.

    Not `partial=True`: that drops the alpha of colours such as $text-muted, which Textual
    blends with the background only in the full style.
    """
    full = widget.get_component_rich_style(component)
    return Style(color=full.color, bold=full.bold, italic=full.italic, underline=full.underline)


_PALETTE_NAMES = (*VERDICT_STYLE, *STEP_STYLE, IF_CREDENTIALS)


class ThemedStatic(Static):
    """A Static that draws verdicts and trace outcomes in the theme's colours
    (`ThemedStatic > .palette--blocked` ... below)."""

    DEFAULT_CSS = """
    ThemedStatic {
        & > .palette--allowed, & > .palette--pass {
            color: $text-success;
        }

        & > .palette--blocked, & > .palette--fail {
            color: $text-error;
            text-style: bold;
        }

        & > .palette--unknown, & > .palette--if-credentials {
            color: $text-warning;
        }

        & > .palette--not-applicable {
            color: $text-muted;
        }

        & > .palette--info {
            color: $text-accent;
        }
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {f"palette--{name}" for name in _PALETTE_NAMES}

    def palette(self) -> dict[str, Style]:
        return {name: text_style(self, f"palette--{name}") for name in _PALETTE_NAMES}
