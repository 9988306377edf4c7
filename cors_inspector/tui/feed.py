"""mitmproxy in a thread of its own, its decisions handed to the app in batches.

The addon calls back from mitmproxy's event loop for every decision; they are collected there
and handed over every BATCH_SECONDS, so that the UI adds rows a batch at a time however fast
traffic flows. The same tick notices a stop request: mitmproxy's `shutdown` must not be lost
to a master that is still starting.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

from ..engine.decision import Decision
from ..mitm.addon import CorsInspector
from ..mitm.proxy import ProxySettings, make_master

BATCH_SECONDS = 0.1


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
    def __init__(
        self,
        settings: ProxySettings,
        deliver: Callable[[list[Decision]], None],
        report: Callable[[str], None],
    ) -> None:
        """`deliver` and `report` are called from the proxy's thread."""
        self.settings = settings
        self.deliver = deliver
        self.report = report
        self._batch: list[Decision] = []
        self._stopping = False

    def run(self) -> None:
        """Serve until `stop`; blocks, so run it in a thread."""
        relay = _ErrorRelay(self.report)
        logging.getLogger().addHandler(relay)
        try:
            asyncio.run(self._serve())
        except SystemExit:
            pass  # mitmproxy exits when it cannot start; the relay has said why
        finally:
            logging.getLogger().removeHandler(relay)

    def stop(self) -> None:
        """Ask the proxy to shut down (from any thread); nothing is delivered after this."""
        self._stopping = True

    async def _serve(self) -> None:
        addon = CorsInspector(on_decision=self._collect)
        master = make_master(self.settings, addon)
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
