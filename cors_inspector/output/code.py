"""Code to paste: printed whole at any width and in a pipe, never wrapped, cut or boxed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rich.console import Console, RenderableType
from rich.syntax import Syntax


@dataclass(frozen=True, slots=True)
class Code:
    """Python source among the renderables of a report."""

    text: str

    def syntax(self) -> Syntax:
        return Syntax(self.text, "python", theme="ansi_dark", background_color="default")

    def __rich__(self) -> Syntax:  # inside a widget or panel (the TUI): highlighted
        return self.syntax()


Block = RenderableType | Code


def print_blocks(console: Console, blocks: Iterable[Block]) -> None:
    """Prose as Rich lays it out; code soft-wrapped, so every line reaches the output whole
    (a terminal folds a long line on screen, yet copies and pipes it as one)."""
    for block in blocks:
        if isinstance(block, Code):
            code = block.syntax().highlight(block.text)
            code.rstrip()
            console.print(code, soft_wrap=True)
        else:
            console.print(block)
