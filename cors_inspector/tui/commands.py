"""Command palette entries (Ctrl+P) for the main actions and every backend seen."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from .app import CorsInspectorApp

Command = tuple[str, str, Callable[[], object]]


class CorsCommands(Provider):
    def _commands(self) -> Iterator[Command]:
        app = cast("CorsInspectorApp", self.app)
        yield (
            "Show blocked requests",
            "only what the browser refused",
            partial(app.action_scope, "blocked"),
        )
        yield (
            "Show CORS requests",
            "cross-origin requests and preflights",
            partial(app.action_scope, "cors"),
        )
        yield (
            "Show all requests",
            "navigations and same-origin ones too",
            partial(app.action_scope, "all"),
        )
        yield (
            "Show every backend",
            "drop the backend filter",
            partial(app.apply_filter, backend=None),
        )
        for backend in sorted(app.store.backends):
            yield (
                f"Show requests to {backend}",
                "filter by backend",
                partial(app.apply_filter, backend=backend),
            )
        yield "Search requests", "free text: URL, method, status, reason", app.action_search
        yield "Follow new requests", "jump to the newest and stay there", app.action_follow
        yield "Summary per backend", "counts by reason and the verified fix", app.action_summary
        yield (
            "Copy the fix",
            "the CORSMiddleware configuration, to the clipboard",
            (app.action_copy_fix),
        )
        yield "Save the fix to a file", "the CORSMiddleware configuration", app.action_save_fix
        secrets = "Mask secrets" if app.reveal else "Reveal secrets"
        yield (
            secrets,
            "Cookie, Authorization and URL userinfo in the headers",
            (app.action_toggle_secrets),
        )
        yield "Help", "keys and symbols", app.action_help

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
