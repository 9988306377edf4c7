"""Where the repository, its addon script and mitmdump are."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ADDON = REPO / "addons" / "cors_inspector.py"


def mitmdump() -> str:
    sibling = Path(sys.executable).with_name("mitmdump")
    return str(sibling) if sibling.exists() else shutil.which("mitmdump") or "mitmdump"
