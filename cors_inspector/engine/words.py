"""Counts in words: "1 request", "2 requests" (every count a user reads goes through here)."""


def counted(count: int, singular: str, plural: str = "") -> str:
    """`count` and its noun, singular for exactly one; `plural` for nouns not ending in -s."""
    return f"{count:,} {singular if count == 1 else plural or singular + 's'}"
