"""What the browser suite needs: Playwright (the test extra) and Debian's Chromium. Without
them, every module of the suite skips with the reason (`./dev test` installs both)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")


def missing() -> str:
    """Why the suite cannot run here, or "" when it can."""
    if importlib.util.find_spec("playwright") is None:
        return "Playwright is not installed (the test extra: pip install -e '.[test]')"
    if not CHROMIUM.exists() and not os.environ.get("CORS_BROWSER_RUN"):
        return (
            f"{CHROMIUM} not found: the browser suite drives Debian's chromium package "
            "(apt-get install chromium; ./dev test installs it)"
        )
    return ""


MISSING = missing()
