"""Copy and save the fix of the backend in context, on any screen that says which one it is."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual.screen import Screen

from ...redact import write_private
from ..fixes import default_fix_path, fix_file_text
from .save_dialog import SaveDialog

if TYPE_CHECKING:
    from ...fix import Suggestion
    from ..app import CorsInspectorApp


class FixActionsScreen(Screen[None]):
    """A screen whose y and w act on the fix of `backend_in_context` (each screen says which
    backend that is: the selected request's, the one in focus...)."""

    app: CorsInspectorApp  # type: ignore[assignment]

    def backend_in_context(self) -> str | None:
        """The backend whose fix copy and save act on; None: there is none here now."""
        raise NotImplementedError

    def _ready_suggestion(self) -> Suggestion | None:
        """The fix that copy and save act on, or None after saying why there is none."""
        backend = self.backend_in_context()
        if backend is None:
            self.notify("Select a CORS request (or a backend in the summary) first.")
            return None
        fix, verifying = self.app.fixes.state(backend)
        if verifying:
            self.notify(f"Still verifying the fix for {backend} with Starlette: a moment.")
            return None
        if fix is None or fix.suggestion is None:
            self.notify(f"Nothing blocked for {backend}: no fix to copy or save.")
            return None
        return fix.suggestion

    def action_copy_fix(self) -> None:
        suggestion = self._ready_suggestion()
        if suggestion is not None:
            self.app.copy_to_clipboard(suggestion.to_python())
            self.notify(f"Copied the CORSMiddleware configuration for {suggestion.backend}.")

    def action_save_fix(self) -> None:
        suggestion = self._ready_suggestion()
        if suggestion is None:
            return

        def save(path: Path | None) -> None:
            if path is None:
                return
            try:
                write_private(path, fix_file_text(suggestion))
            except OSError as error:
                self.notify(f"{path}: {error.strerror or error}", severity="error")
                return
            self.notify(f"Saved the fix for {suggestion.backend} to {path}.")

        title = f"Save the fix for {suggestion.backend}"
        self.app.push_screen(SaveDialog(title, default_fix_path(suggestion.backend)), save)
