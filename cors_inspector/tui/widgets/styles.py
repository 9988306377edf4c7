"""Component styles for text drawn over other backgrounds (a cursor line, a highlighted row)."""

from __future__ import annotations

from rich.style import Style
from textual.widget import Widget


def text_style(widget: Widget, component: str) -> Style:
    """The component's colour and text style, without its background.

    Not `partial=True`: that drops the alpha of colours such as $text-muted, which Textual
    blends with the background only in the full style.
    """
    full = widget.get_component_rich_style(component)
    return Style(color=full.color, bold=full.bold, italic=full.italic, underline=full.underline)
