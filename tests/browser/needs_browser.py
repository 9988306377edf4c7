"""Imported first by each browser test module: skips the module, saying why, when Playwright
or Chromium is missing (before anything imports Playwright)."""

import pytest

from .requirements import MISSING

if MISSING:
    pytest.skip(MISSING, allow_module_level=True)
