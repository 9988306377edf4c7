"""The verified fix for one backend, computed off the UI thread and cached by the app."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..engine.decision import Decision

if TYPE_CHECKING:
    from ..fix import Suggestion


@dataclass(frozen=True, slots=True)
class FixResult:
    """What `verify_fix` found for one backend."""

    backend: str
    version: int  # of the backend's decisions it was computed from (BackendStats.version)
    suggestion: Suggestion | None  # None: nothing there can be fixed by a CORS setting
    error: str | None = None


def verify_fix(backend: str, version: int, decisions: list[Decision]) -> FixResult:
    """Suggest and verify (with the real Starlette: slow) the fix for `backend`."""
    try:
        # Imported here: it needs Starlette, which only computing a fix does.
        from ..fix import suggestions_for

        suggestion = suggestions_for(decisions).get(backend)
    except Exception as error:  # Starlette missing, or a fault in the fix code: say so
        return FixResult(backend, version, None, f"{type(error).__name__}: {error}")
    return FixResult(backend, version, suggestion)


def fix_file_text(suggestion: Suggestion) -> str:
    """The configuration as a file: what it is for and whether it was verified, then the code."""
    from ..output.fix import verification_line  # loaded already: it made the suggestion

    return (
        f"# CORSMiddleware for {suggestion.backend}, suggested by cors-inspector\n"
        f"# {verification_line(suggestion).plain.splitlines()[0]}\n"
        f"{suggestion.config.to_python()}\n"
    )


def default_fix_path(backend: str) -> Path:
    """e.g. cors_fix_localhost_8000.py, in the current directory."""
    name = re.sub(r"[^A-Za-z0-9]+", "_", backend.partition("://")[2]).strip("_") or "backend"
    return Path(f"cors_fix_{name}.py")
