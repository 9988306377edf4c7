"""The cors-inspector TUI: requests as the browser judged them, live or from captures.

The app holds what every screen shares: the decisions (a `Store`, fed in batches by a feed,
see feed.py), the fixes (`FixCache`), where the requests come from and what went wrong. Its
own keys are the global ones (help, quit; the command palette and themes are Textual's);
the screens own the rest (the requests table and its detail: screens/main.py).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.reactive import var
from textual.signal import Signal

from ..engine.decision import Decision
from .commands import CorsCommands
from .feed import BROWSER_ATTACHED, FileFeed, ProxyFeed
from .fixes import FixCache
from .screens.help import HelpScreen, help_keys
from .screens.main import MainScreen
from .store import Change, Store

if TYPE_CHECKING:
    from ..mitm.addon import Companion
    from ..mitm.proxy import ProxySettings

FREEZE_EVERY = 10_000  # decisions added between two gc.freeze() calls (see add_decisions)


class CorsInspectorApp(App[None]):
    TITLE = "cors-inspector"
    COMMANDS = App.COMMANDS | {CorsCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    source = var("", init=False, always_update=True)  # what the feed is doing, for the status
    loading = var(False, init=False)  # capture files are being read
    problems: var[list[str]] = var(list, init=False)  # inputs unread, proxy errors

    def __init__(
        self,
        store: Store,
        *,
        files: Sequence[Path] = (),
        proxy: ProxySettings | None = None,
        companion: Companion | None = None,
    ) -> None:
        """Live when `proxy` is given, else the decisions of `files`; `companion` (the browser
        bridge) sees the proxy's decisions first."""
        super().__init__()
        self.store = store
        self.warnings: list[str] = []  # shown until the app ends
        self.proxy_failed = False  # the live proxy could not start (the command exits 2)
        self.fixes = FixCache(self, store)
        self.store_changed: Signal[Change] = Signal(self, "store-changed")
        self._proxy = ProxyFeed(self, proxy, companion) if proxy is not None else None
        self._feed = self._proxy or FileFeed(self, files)
        self._unfrozen = 0  # decisions added since the last gc.freeze()
        self.main_screen = MainScreen(store, follow=proxy is not None)

    def get_default_screen(self) -> MainScreen:
        return self.main_screen

    def on_mount(self) -> None:
        self._feed.start()

    # -- fed by feed.py -----------------------------------------------------------------------

    def add_decisions(self, decisions: list[Decision]) -> None:
        """Add a batch of decisions (from the proxy's thread via call_from_thread, or a file)."""
        self.store_changed.publish(self.store.add(decisions))
        self._unfrozen += len(decisions)
        if self._unfrozen >= FREEZE_EVERY:
            # Kept decisions are long-lived and hold no reference cycles (dropped ones are
            # freed by reference counting), but the cyclic GC would rescan them all in each
            # full collection: 0.4 s at 100,000, a visible freeze. Take them out of its way,
            # after collecting the young garbage so that none of it is frozen.
            gc.collect(1)
            gc.freeze()
            self._unfrozen = 0

    def capture_problem(self, problem: str) -> None:
        """One line, in a notification and the status bar; what could be read stays shown."""
        self._problem(problem, "Could not read")

    def proxy_problem(self, problem: str) -> None:
        self._problem(problem, "Proxy")

    def browser_lost(self, line: str) -> None:
        """The attached browser is gone (from the bridge's thread): say so, once, and go on."""
        with contextlib.suppress(RuntimeError):  # the app is not running (yet, or any more)
            self.call_from_thread(self._browser_lost, line)

    def browser_attached(self, line: str) -> None:
        """A browser attached to the running proxy (`cors-inspector browser`; from the
        endpoint's thread)."""
        with contextlib.suppress(RuntimeError):
            self.call_from_thread(self._browser_attached, line)

    def _browser_attached(self, line: str) -> None:
        self.notify(line[0].upper() + line[1:], title="Browser", timeout=8)
        if BROWSER_ATTACHED not in self.source:
            self.source += BROWSER_ATTACHED

    def browser_detached(self, line: str) -> None:
        """The browser that attached itself has gone: the proxy goes on, waiting for another."""
        with contextlib.suppress(RuntimeError):
            self.call_from_thread(self._browser_detached, line)

    def _browser_detached(self, line: str) -> None:
        self.notify(line[0].upper() + line[1:], title="Browser", timeout=8)
        self.source = self.source.replace(BROWSER_ATTACHED, "")

    def _browser_lost(self, line: str) -> None:
        self.warnings.append("browser gone: wire only")
        self.notify(line[0].upper() + line[1:], title="Browser", severity="warning", timeout=15)
        self.source = self.source.replace(BROWSER_ATTACHED, "")  # and the status is redrawn

    def _problem(self, problem: str, title: str) -> None:
        self.problems.append(problem)
        self.notify(problem, title=title, severity="error", timeout=15)
        self.mutate_reactive(CorsInspectorApp.problems)

    # -- global keys --------------------------------------------------------------------------

    def action_help(self) -> None:
        """The keys of the screen shown (its HELP_BINDINGS, else its BINDINGS), then the app's."""
        screen_bindings = getattr(self.screen, "HELP_BINDINGS", self.screen.BINDINGS)
        self.push_screen(HelpScreen(help_keys(self, [*screen_bindings, *self.BINDINGS])))

    async def action_quit(self) -> None:
        self.workers.cancel_group(self, "load")
        if self._proxy is not None:
            await self._proxy.stopped()
        self.exit()

    def on_unmount(self) -> None:
        if self._proxy is not None:
            self._proxy.stop()  # however the app ends, the proxy's thread must end too
        gc.unfreeze()  # what add_decisions froze can be collected again (the app is garbage)
