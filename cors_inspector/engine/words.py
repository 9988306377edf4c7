"""Counts in words: "1 request", "2 requests" (every count a user reads goes through here)."""


def counted(count: int, singular: str, plural: str = "", *, grouped: bool = False) -> str:
    """`count` and its noun, singular for exactly one; `plural` for nouns not ending in -s;
    `grouped`: thousands separated (12,345), as the TUI shows them."""
    number = f"{count:,}" if grouped else str(count)
    return f"{number} {singular if count == 1 else plural or singular + 's'}"
