"""The mitmproxy addon: judge each flow once its response (or error) has gone on.

Passive: it never alters the traffic, and an error inside it is logged and counted, never
raised into mitmproxy. Blocked flows are marked (`flow.marked`, `flow.comment`) so that
mitmproxy console and mitmweb users see the verdict in their own UI. What is written lives in
its own small addons, which this one owns and feeds: the decision log (`log.LogWriter`), the
saved flows (`saver.Saver`) and the terminal lines (`printer.Printer`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Protocol, TextIO

from mitmproxy import command, ctx, exceptions, flow, hooks, http, types

from ..engine import Analyzer, Decision
from ..engine.origins import is_loopback, origin_of
from ..engine.words import counted
from ..output.records import to_json_line
from ..readers.mitm import exchange_from_flow
from ..redact import open_private, redact_decision
from .log import LogWriter
from .printer import Printer
from .saver import Saver
from .snapshot import Snapshot, restore, snapshot

logger = logging.getLogger(__name__)

BLOCKED_MARK = ":no_entry:"
TICK_SECONDS = 0.1  # how often preflights left waiting by idle traffic are settled
JUDGE_DELAY = 0.005  # a finished flow is judged this soon after mitmproxy has sent it on
WRITE_INTERVAL = 0.05  # lines and records are written out at most this often (and each tick)
KEEP_RECENT = 10_000  # recent exchanges kept for the commands (bounded memory)


class Companion(Protocol):
    """What else knows about the requests (the browser bridge): it sees each decision before
    it is written, and may hold it back a moment to add what it knows."""

    def offer(self, decision: Decision) -> list[Decision]: ...

    def due(self) -> list[Decision]: ...

    def finish(self) -> list[Decision]: ...


class CorsInspector:
    """Rebuilds the browser's CORS decision for every flow through the proxy."""

    def __init__(
        self,
        on_decision: Callable[[Decision], None] | None = None,
        outfile: TextIO | None = None,
        companion: Companion | None = None,
    ) -> None:
        # Unordered: each decision goes out as soon as it is final (a preflight waiting for its
        # actual request holds nothing else back), corrections after it.
        self.analyzer = Analyzer(ordered=False)
        self.internal_errors = 0
        self.on_decision = on_decision  # e.g. the TUI's feed
        self.companion = companion
        self.log = LogWriter()
        self.saver = Saver()
        self.printer = Printer(outfile)
        self.addons = [self.log, self.saver, self.printer]  # mitmproxy loads them with us
        self._recent: deque[Snapshot] = deque(maxlen=KEEP_RECENT)
        self._judged: dict[str, None] = {}  # ids of flows decided (an ordered set, bounded)
        self._arrived: list[http.HTTPFlow] = []  # finished, judged within JUDGE_DELAY
        self._waiting: dict[str, http.HTTPFlow] = {}  # fed, not yet decided
        self._cors_only = True
        self._redact = True
        self._ticker: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._written_at = 0.0  # monotonic time of the last write-out
        self._ended = False  # `done` was called: a flow still delivered is written at once

    # -- mitmproxy lifecycle ------------------------------------------------------------------

    def load(self, loader) -> None:
        loader.add_option(
            "cors_only",
            bool,
            True,
            "Log and print only CORS requests (preflights and cross-origin requests).",
        )
        loader.add_option(
            "cors_redact",
            bool,
            True,
            "Redact Cookie, Set-Cookie, Authorization, Proxy-Authorization, URL userinfo "
            "and secret query parameters (access_token, api_key, ...) in everything written.",
        )

    def configure(self, updated: set[str]) -> None:
        self._cors_only = ctx.options.cors_only
        self._redact = ctx.options.cors_redact
        if updated & {"listen_host", "proxyauth"}:
            self._warn_if_open_relay()

    def _warn_if_open_relay(self) -> None:
        """Under mitmdump -s the user owns mitmproxy's options: say it, change nothing."""
        host = getattr(ctx.options, "listen_host", "127.0.0.1")
        if not is_loopback(host) and not getattr(ctx.options, "proxyauth", None):
            logger.warning(
                f"cors-inspector: listening on {host or 'all interfaces'} without proxyauth: "
                "anyone who can reach it can relay through it (to this machine's loopback "
                "services too) and see the traffic; add --set proxyauth=USER:PASS"
            )

    def running(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._ticker = self._loop.create_task(self._tick_forever())
        # A companion that waits for a browser to attach opens its door once the proxy listens.
        if (start := getattr(self.companion, "running", None)) is not None:
            try:
                start()
            except OSError as error:
                logger.warning(f"cors-inspector: no browser can attach: {error}")

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            self._guarded(lambda: self._publish_all(self.analyzer.tick(time.time())))
            if self.companion is not None:
                self._guarded(lambda: self._emit_all(self.companion.due()))
            self._guarded(self._write_out)

    def _write_out(self) -> None:
        """Write out the lines and records judged since the last time at once: under load, a
        write per flow, or per batch, costs the proxy more than judging does."""
        self._written_at = time.monotonic()
        for writer in (self.printer, self.log, self.saver):
            writer.flush()

    def done(self) -> None:
        """Judge what is left and write it out; the writers flush in their own `done`, which
        mitmproxy calls after this one, and stay open for flows still delivered (`close`)."""
        if self._ticker:
            self._ticker.cancel()
        self._loop = None  # its loop is ending: a straggling flow is judged in its hook
        self._ended = True
        self._judge_now()

    def close(self) -> None:
        """Close the log and the saved flows, after `done` (what runs mitmproxy calls it)."""
        self._judge_now()
        self.log.close()
        self.saver.close()

    def _judge_now(self) -> None:
        """Judge the queued flows, settle every decision still waiting, write it all out."""
        self.judge_arrived()
        self._guarded(lambda: self._publish_all(self.analyzer.finish()))
        if self.companion is not None:
            self._guarded(lambda: self._emit_all(self.companion.finish()))
        self._guarded(self._write_out)

    # -- per flow -----------------------------------------------------------------------------

    # The hooks only queue the flow: mitmproxy waits for a hook before it sends the response
    # on, so judging here would delay the traffic. Judged a few milliseconds later, in small
    # batches, it is not, and the flow is still let go young, as it would be without us.

    def response(self, f: http.HTTPFlow) -> None:
        self._queue(f)

    def error(self, f: http.HTTPFlow) -> None:
        self._queue(f)

    def _queue(self, f: http.HTTPFlow) -> None:
        self._arrived.append(f)
        if self._ended:  # mitmproxy is shutting down: nothing more to pair it with
            self._judge_now()
        elif self._loop is None:  # a host that never said `running`: now
            self.judge_arrived()
        elif len(self._arrived) == 1:
            self._loop.call_later(JUDGE_DELAY, self.judge_arrived)

    def judge_arrived(self) -> None:
        """Judge the queued flows, oldest first (also before anything reads the decisions),
        and write out what they decided."""
        arrived, self._arrived = self._arrived, []
        for f in arrived:
            self._guarded(partial(self._judge, f))
        if time.monotonic() - self._written_at >= WRITE_INTERVAL:
            self._guarded(self._write_out)

    def _guarded(self, work: Callable[[], None]) -> None:
        """Run `work`; an error is the addon's, never the traffic's: log it, count it."""
        try:
            work()
        except Exception:
            self.internal_errors += 1
            logger.exception("cors-inspector: internal error (traffic is unaffected)")

    def _judge(self, f: http.HTTPFlow) -> None:
        if f.id in self._waiting or f.id in self._judged:
            return  # a flow gets one decision (e.g. an error after the response)
        self.saver.add(f)
        self._waiting[f.id] = f
        exchange = exchange_from_flow(f)
        self._recent.append(snapshot(exchange))
        self._publish_all(self.analyzer.feed(exchange))

    def _publish_all(self, decisions: list[Decision]) -> None:
        changed = []
        for decision in decisions:
            if decision.supersedes is not None:
                self._report(decision)  # a correction: its flow has gone on, unmarked
                continue
            f = self._waiting.pop(decision.flow_id, None)
            if f is not None and self._publish(decision, f):
                changed.append(f)
        if changed:
            ctx.master.addons.trigger(hooks.UpdateHook(changed))

    def _report(self, decision: Decision) -> None:
        if self.companion is None:
            self._emit(decision)
        else:
            self._emit_all(self.companion.offer(decision))

    def _emit_all(self, decisions: list[Decision]) -> None:
        for decision in decisions:
            self._emit(decision)

    def _emit(self, decision: Decision) -> None:
        if self.on_decision:
            self.on_decision(decision)
        if decision.is_cors or not self._cors_only:
            self.log.write(decision)
            self.printer.write(decision)

    def _publish(self, decision: Decision, f: http.HTTPFlow) -> bool:
        """Record, show and hand on one decision; True when the flow's marking changed."""
        self._judged[decision.flow_id] = None
        if len(self._judged) > KEEP_RECENT:
            del self._judged[next(iter(self._judged))]
        self._report(decision)
        if decision.verdict != "blocked":
            return False
        f.marked = BLOCKED_MARK
        note = f"CORS blocked: {decision.reason or 'see cors-inspector'}"
        f.comment = f"{f.comment}\n{note}" if f.comment else note
        return True

    # -- commands -----------------------------------------------------------------------------

    def recent_decisions(self) -> dict[str, Decision]:
        """The recent flows judged again (commands are rare; the hot path keeps only data)."""
        self.judge_arrived()
        judged = Analyzer().run(restore(kept) for kept in self._recent)
        return {decision.flow_id: decision for decision in judged}

    @command.command("cors.explain")
    def explain(self, flows: Sequence[flow.Flow]) -> str:
        """Why the browser allowed or blocked each flow."""
        recent = self.recent_decisions()
        lines = []
        for f in flows:
            decision = recent.get(f.id)
            if decision is None:
                lines.append(f"{f.id}: not judged (yet, or no longer among the recent flows)")
            else:
                shown = redact_decision(decision) if self._redact else decision
                lines.append(f"{shown.verdict} {shown.reason or ''}: {shown.explanation}")
        return "\n".join(lines)

    @command.command("cors.fix")
    def fix(self, flows: Sequence[flow.Flow]) -> str:
        """The CORSMiddleware configuration for the backends of these flows, verified."""
        from ..fix import suggestions_for  # Starlette: loaded only when a fix is asked for

        backends = {origin_of(f.request.url) for f in flows if isinstance(f, http.HTTPFlow)}
        suggestions = suggestions_for(self.recent_decisions().values())
        texts = []
        for backend in sorted(b for b in backends if b):
            suggestion = suggestions.get(backend)
            if suggestion is None:
                texts.append(f"# {backend}: nothing blocked")
                continue
            verification = suggestion.verification
            verified = (
                f"verified with Starlette {verification.starlette_version}"
                if verification and verification.ok
                else "NOT verified: some requests still fail"
            )
            texts.append(f"# {backend} ({verified})\n{suggestion.to_python()}")
        return "\n\n".join(texts)

    @command.command("cors.export")
    def export(self, path: types.Path) -> None:
        """Write the recent decisions to a JSON Lines file."""
        recent = self.recent_decisions()
        target = Path(path).expanduser()
        try:
            with open_private(target, "a") as out:
                for decision in recent.values():
                    shown = redact_decision(decision) if self._redact else decision
                    out.write(to_json_line(shown) + "\n")
        except OSError as error:
            raise exceptions.CommandError(
                f"cannot write {target}: {error.strerror or error}"
            ) from None
        logger.info(f"cors-inspector: {counted(len(recent), 'decision')} written to {path}")
