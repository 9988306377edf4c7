"""Which browser sent a request, read from its headers: its rules apply where they differ.

Firefox's User-Agent names `Gecko/` and `Firefox/` (and never `Chrome/`); Chromium's names
`Chrome/` (also Edge, Opera, headless Chrome) and it alone sends the `Sec-CH-UA` client hints
(to https and loopback URLs). Anything else, or no User-Agent at all, is `unknown`, judged by
Chromium's rules.
"""

from __future__ import annotations

from typing import Literal

from .exchange import Headers

Browser = Literal["chromium", "firefox", "unknown"]


def browser_of(headers: Headers) -> Browser:
    agent = headers.get("user-agent") or ""
    if "Firefox/" in agent and "Chrome/" not in agent:
        return "firefox"
    if "Chrome/" in agent or "Chromium/" in agent or "sec-ch-ua" in headers:
        return "chromium"
    return "unknown"
