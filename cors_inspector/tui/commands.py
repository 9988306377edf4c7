"""Command palette entries (Ctrl+P) for the main actions and every backend seen.

They act on the main screen (filters, search...), or on the screen shown (copy and save the
fix of its backend in context), or on the app (help)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from .store import Scope

if TYPE_CHECKING:
    from .app import CorsInspectorApp

Command = tuple[str, str, Callable[[], object]]


# What each scope filter shows, as the palette offers it.
SCOPE_COMMANDS: dict[Scope, tuple[str, str]] = {
    "blocked": ("Show blocked requests", "only what the browser refused"),
    "cors": ("Show CORS requests", "cross-origin requests and preflights"),
    "all": ("Show all requests", "navigations and same-origin ones too"),
    "credentials": (
        "Show requests blocked only with credentials",
        "allowed as captured; blocked if the page sends credentials",
    ),
    "disagree": (
        "Show disagreements with the browser",
        "where the browser's own verdict differs from the rebuilt one",
    ),
}


class CorsCommands(Provider):
    def _commands(self) -> Iterator[Command]:
        app = cast("CorsInspectorApp", self.app)
        main = app.main_screen
        for scope, (title, help_text) in SCOPE_COMMANDS.items():
            yield title, help_text, partial(main.action_scope, scope)
        yield (
            "Show every backend",
            "drop the backend filter",
            partial(main.apply_filter, backend=None),
        )
        for backend in sorted(main.store.backends):
            yield (
                f"Show requests to {backend}",
                "filter by backend",
                partial(main.apply_filter, backend=backend),
            )
        yield "Search requests", "free text: URL, method, status, reason", main.action_search
        yield "Follow new requests", "jump to the newest and stay there", main.action_follow
        yield "Summary per backend", "counts by reason and the verified fix", main.action_summary
        yield (
            "Copy the fix",
            "the CORSMiddleware configuration, to the clipboard",
            partial(app.run_action, "screen.copy_fix"),
        )
        yield (
            "Save the fix to a file",
            "the CORSMiddleware configuration",
            partial(app.run_action, "screen.save_fix"),
        )
        secrets = "Mask secrets" if main.reveal else "Reveal secrets"
        yield (
            secrets,
            "Cookie, Authorization and URL userinfo in the headers",
            main.action_toggle_secrets,
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
