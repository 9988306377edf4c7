"""The verified fix for one backend, computed off the UI thread and cached for every screen."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from textual.signal import Signal

from ..engine.decision import Decision

if TYPE_CHECKING:
    from textual.app import App

    from ..fix import Suggestion
    from .store import Store


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


class FixCache:
    """The latest fix of every backend. A fix is computed only when someone asks for one,
    in a worker of `app`; `ready` is published when it is there."""

    def __init__(self, app: App[object], store: Store) -> None:
        self._app = app
        self._store = store
        self.ready: Signal[FixResult] = Signal(app, "fix-ready")
        self._fixes: dict[str, FixResult] = {}  # backend -> its latest fix
        self._verifying: set[str] = set()  # backends whose fix is being computed

    def state(self, backend: str) -> tuple[FixResult | None, bool]:
        """The current fix for `backend`, or (None, True) while it is computed (started here:
        fixes are computed only when someone looks at one)."""
        stats = self._store.backends.get(backend)
        if stats is None or not stats.blocked:
            return None, False
        cached = self._fixes.get(backend)
        if cached is not None and cached.version == stats.version:
            return cached, False
        if backend not in self._verifying:
            self._verifying.add(backend)
            decisions = self._store.decisions_for(backend)
            self._app.run_worker(
                self._verify(backend, stats.version, decisions), group="fix", exit_on_error=False
            )
        return None, True

    async def _verify(self, backend: str, version: int, decisions: list[Decision]) -> None:
        result = await asyncio.to_thread(verify_fix, backend, version, decisions)
        self._verifying.discard(result.backend)
        self._fixes[result.backend] = result
        # Shown even if traffic made it stale meanwhile: recomputing at once could go on
        # forever under live traffic; moving the cursor asks again.
        self.ready.publish(result)


def fix_file_text(suggestion: Suggestion) -> str:
    """The configuration as a file: what it is for and whether it was verified, then the code."""
    from ..output.fix import verification_line  # loaded already: it made the suggestion

    return (
        f"# CORSMiddleware for {suggestion.backend}, suggested by cors-inspector\n"
        f"# {verification_line(suggestion).plain.splitlines()[0]}\n"
        f"{suggestion.to_python()}\n"
    )


def default_fix_path(backend: str) -> Path:
    """e.g. cors_fix_localhost_8000.py, in the current directory."""
    name = re.sub(r"[^A-Za-z0-9]+", "_", backend.partition("://")[2]).strip("_") or "backend"
    return Path(f"cors_fix_{name}.py")
