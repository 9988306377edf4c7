"""Where the app's decisions come from: capture files, or mitmproxy live; handed over in batches.

Both run in a thread of their own and call back into the app (`call_from_thread`) with a
batch of decisions every BATCH_SECONDS, so that the UI adds rows a batch at a time however
fast they come. They also say, in `app.source`, what they are doing for the status bar.

In live mode, the addon calls back from mitmproxy's event loop for every decision; they are
collected there and handed over every BATCH_SECONDS. The same tick notices a stop request:
mitmproxy's `shutdown` must not be lost to a master that is still starting.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from time import monotonic
from typing import TYPE_CHECKING

from textual.worker import get_current_worker

from ..engine.decision import Decision

if TYPE_CHECKING:
    from ..mitm.addon import Companion
    from ..mitm.proxy import ProxySettings
    from ..readers import Capture
    from .app import CorsInspectorApp

BATCH_SECONDS = 0.1  # how often decisions are handed to the UI (and loading progress shown)
BROWSER_ATTACHED = " · ◉ browser attached"  # in the status while the bridge's browser lives


class FileFeed:
    """The decisions of capture files, read and judged in a worker thread of the app."""

    def __init__(self, app: CorsInspectorApp, paths: Sequence[Path]) -> None:
        self.app = app
        self.paths = list(paths)

    def start(self) -> None:
        names = ", ".join(path.name for path in self.paths)
        self.app.sub_title = names
        self.app.source = f"▤ loading {names}…" if names else ""
        self.app.loading = True
        # After the first refresh: the app is mounted before its screen, which shows progress.
        self.app.call_after_refresh(
            self.app.run_worker, self._read, thread=True, exit_on_error=False, group="load"
        )

    def _read(self) -> None:
        from ..judge import BytesDone, judge_captures
        from ..readers import CaptureError, CaptureNote

        app = self.app
        worker = get_current_worker()
        problems: list[CaptureError] = []  # a file that could not be read is noted here
        notes: list[CaptureNote] = []  # e.g. a NetLog that was never closed
        reported = 0
        batch: list[Decision] = []
        handed_at = shown_at = monotonic()
        done = BytesDone(self.paths)

        def progress(capture: Capture, count: int) -> None:
            nonlocal shown_at
            if done.total and monotonic() - shown_at >= BATCH_SECONDS:
                percent = 100 * done(capture) // done.total
                app.call_from_thread(self.show_progress, f"{capture.path.name} {percent}%")
                shown_at = monotonic()

        failure: list[str] = []
        try:
            for decision in judge_captures(self.paths, problems, progress, notes, redact=False):
                batch.append(decision)
                if len(problems) > reported:
                    for problem in problems[reported:]:
                        app.call_from_thread(app.capture_problem, str(problem))
                    reported = len(problems)
                if monotonic() - handed_at >= BATCH_SECONDS:
                    if worker.is_cancelled:
                        return
                    app.call_from_thread(app.add_decisions, batch)
                    batch, handed_at = [], monotonic()
        except Exception as error:  # a bug of ours: said in one line, what was read stays shown
            failure.append(f"reading stopped: {type(error).__name__}: {error}".splitlines()[0])
        for note in notes:
            app.call_from_thread(app.notify, str(note), title="Note", timeout=15)
        unsaid = [str(p) for p in problems[reported:]] + failure
        app.call_from_thread(self._loaded, batch, unsaid)

    def show_progress(self, where: str) -> None:
        self.app.source = f"▤ loading {where}…"

    def _loaded(self, batch: list[Decision], problems: list[str]) -> None:
        app = self.app
        app.add_decisions(batch)
        for problem in problems:
            app.capture_problem(problem)
        app.loading = False
        app.source = f"▤ {app.sub_title}" if self.paths else ""


class ProxyFeed:
    """The decisions of live traffic: a LiveProxy, hosted in a worker thread of the app."""

    def __init__(
        self, app: CorsInspectorApp, settings: ProxySettings, companion: Companion | None
    ) -> None:
        self.app = app
        self.settings = settings
        self.companion = companion
        self._live: LiveProxy | None = None

    def start(self) -> None:
        from ..engine.origins import is_loopback
        from ..mitm.proxy import require_auth

        app, settings = self.app, self.settings
        address = f"{settings.listen_host}:{settings.listen_port}"
        app.sub_title = f"live: proxy on http://{address}"
        # A companion waiting for `cors-inspector browser` has no browser yet.
        attached = self.companion and not getattr(self.companion, "waits_for_browser", False)
        app.source = f"● proxy {address}" + (BROWSER_ATTACHED if attached else "")
        if not is_loopback(settings.listen_host):
            app.warnings.append(f"listening on {settings.listen_host or 'all interfaces'}")
        if told := require_auth(settings):
            app.notify(told.removeprefix("cors-inspector: "), title="Proxy", timeout=60)
        self._live = LiveProxy(
            settings,
            deliver=partial(app.call_from_thread, app.add_decisions),
            report=partial(app.call_from_thread, app.proxy_problem),
            companion=self.companion,
        )
        # After the first refresh: the app is mounted before its screen, which shows traffic.
        app.call_after_refresh(
            app.run_worker, partial(self._serve, self._live), group="proxy", exit_on_error=False
        )

    async def _serve(self, live: LiveProxy) -> None:
        stopped = True
        try:
            await asyncio.to_thread(live.run)
        except asyncio.CancelledError:
            stopped = False  # the app is going: there is nothing left to tell
            raise
        finally:
            if live.start_failure is not None:
                self.app.proxy_failed = True
                self.app.source = "○ proxy did not start"
            elif stopped:
                self.app.source = "○ proxy stopped"

    def stop(self) -> None:
        """Ask the proxy to stop, from any thread (however the app ends, its thread must)."""
        if self._live is not None:
            self._live.stop()

    async def stopped(self) -> None:
        """Stop the proxy and wait until its thread has ended."""
        self.stop()
        for worker in self.app.workers:
            if worker.group == "proxy":
                await worker.wait()


class _ErrorRelay(logging.Handler):
    """Errors mitmproxy logs from its thread (a port in use...), for the UI to show."""

    def __init__(self, report: Callable[[str], None]) -> None:
        super().__init__(logging.ERROR)
        self.report = report
        self.thread = threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.report(record.getMessage().splitlines()[0])


class LiveProxy:
    """mitmproxy with the addon, its decisions collected and handed over in batches."""

    def __init__(
        self,
        settings: ProxySettings,
        deliver: Callable[[list[Decision]], None],
        report: Callable[[str], None],
        companion: Companion | None = None,
    ) -> None:
        """`deliver` and `report` are called from the proxy's thread."""
        self.settings = settings
        self.companion = companion
        self.deliver = deliver
        self.report = report
        self._batch: list[Decision] = []
        self._stopping = False
        self.start_failure: str | None = None  # why the proxy could not start (reported)
        from ..mitm.addon import CorsInspector  # mitmproxy: loaded only for live mode

        self._addon = CorsInspector(on_decision=self._collect, companion=self.companion)

    def run(self) -> None:
        """Serve until `stop`; blocks, so run it in a thread."""
        relay = _ErrorRelay(self.report)
        logging.getLogger().addHandler(relay)
        try:
            asyncio.run(self._serve())
        except SystemExit:
            pass  # mitmproxy exits when it cannot start; the relay has said why
        finally:
            self._addon.close()  # last: connections ending after `done` deliver their flows
            logging.getLogger().removeHandler(relay)

    def stop(self) -> None:
        """Ask the proxy to shut down (from any thread); nothing is delivered after this."""
        self._stopping = True

    async def _serve(self) -> None:
        from ..mitm.proxy import ProxyStartError, listen, make_master

        addon = self._addon
        try:
            master = make_master(self.settings, addon)
            await listen(master)
        except ProxyStartError as error:
            self.start_failure = str(error)
            self.report(f"The proxy did not start: {error}")
            return
        ticker = asyncio.create_task(self._tick(master.shutdown))
        try:
            await master.run()
        finally:
            ticker.cancel()
            self._hand_over()  # the last decisions, when mitmproxy stopped on its own
            # mitmproxy leaves its listening sockets to the end of the process; this
            # process goes on (tests, or whatever embeds the app): close them now.
            proxyserver = master.addons.get("proxyserver")
            if proxyserver is not None:
                await proxyserver.servers.update([])

    async def _tick(self, shutdown: Callable[[], None]) -> None:
        while True:
            await asyncio.sleep(BATCH_SECONDS)
            if self._stopping:
                shutdown()
            self._hand_over()

    def _collect(self, decision: Decision) -> None:
        self._batch.append(decision)  # in the proxy's thread, like _hand_over

    def _hand_over(self) -> None:
        if self._batch and not self._stopping:
            batch, self._batch = self._batch, []
            self.deliver(batch)
