"""The mitmproxy addon: judge each flow once its response (or error) has gone on.

Passive: it never alters the traffic, and an error inside it is logged and counted, never
raised into mitmproxy. Blocked flows are marked (`flow.marked`, `flow.comment`) so that
mitmproxy console and mitmweb users see the verdict in their own UI; under mitmdump it prints
one coloured line per CORS request.
"""

from __future__ import annotations

import asyncio
import logging
import marshal
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from mitmproxy import command, ctx, flow, hooks, http, types

from .decision_log import DecisionLog, FlowSaver, open_private
from .engine import Analyzer, Decision, Exchange, Headers, Request, Response
from .engine.origins import origin_of
from .readers.mitm import exchange_from_flow
from .records import to_json_line
from .redact import redact_text

logger = logging.getLogger(__name__)

BLOCKED_MARK = ":no_entry:"
TICK_SECONDS = 0.1  # how often preflights left waiting by idle traffic are settled
JUDGE_DELAY = 0.005  # a finished flow is judged this soon after mitmproxy has sent it on
WRITE_INTERVAL = 0.05  # lines and records are written out at most this often (and each tick)
KEEP_RECENT = 10_000  # recent exchanges kept for the commands (bounded memory)
LINE_STYLE = {"allowed": "\x1b[32m✔", "blocked": "\x1b[1;31m✘", "unknown": "\x1b[33m?"}


def decision_line(decision: Decision, redact: bool = True) -> str:
    """One coloured line for a terminal."""
    symbol = LINE_STYLE.get(decision.verdict, "\x1b[2m·")
    url = redact_text(decision.url) if redact else decision.url
    line = f"{symbol} {decision.verdict:<8}\x1b[0m {decision.method:<7} {url}"
    line += f" \x1b[2mfrom {decision.origin}\x1b[0m"
    if decision.reason:
        line += f" \x1b[31m{decision.reason}\x1b[0m"
    return line


Snapshot = bytes  # an Exchange as marshalled plain data (see snapshot/restore)


def snapshot(exchange: Exchange) -> Snapshot:
    """An Exchange as one bytes object: thousands of kept tuples would be tracked by the
    garbage collector, add to its young collections and make its full ones more frequent."""
    request, response = exchange.request, exchange.response
    kept_response = None
    if response is not None:
        kept_response = (
            response.status,
            response.headers.pairs,
            response.reason,
            response.body_head,
        )
    return marshal.dumps(
        (
            exchange.id,
            exchange.started,
            request.method,
            request.url,
            request.headers.pairs,
            kept_response,
            exchange.ended,
            exchange.error,
            exchange.answered_by_proxy,
        )
    )


def restore(kept: Snapshot) -> Exchange:
    id_, started, method, url, pairs, kept_response, ended, error, by_proxy = marshal.loads(kept)
    response = None
    if kept_response is not None:
        status, response_pairs, reason, body_head = kept_response
        response = Response(status, Headers(response_pairs), reason, body_head)
    return Exchange(
        id_,
        started,
        Request(method, url, Headers(pairs)),
        response,
        ended,
        error,
        answered_by_proxy=by_proxy,
    )


class CorsInspector:
    """Rebuilds the browser's CORS decision for every flow through the proxy."""

    def __init__(self, on_decision: Callable[[Decision], None] | None = None) -> None:
        self.analyzer = Analyzer()
        self.internal_errors = 0
        self.on_decision = on_decision  # e.g. the TUI's feed
        # Bytes, not Exchange objects: the cycle collector skips them, where thousands of kept
        # objects would make every full collection a visible pause on the proxy.
        self._recent: deque[Snapshot] = deque(maxlen=KEEP_RECENT)
        self._judged: dict[str, None] = {}  # ids of flows decided (an ordered set, bounded)
        self._arrived: list[http.HTTPFlow] = []  # finished, judged within JUDGE_DELAY
        self._waiting: dict[str, http.HTTPFlow] = {}  # fed, not yet decided
        self._log: DecisionLog | None = None
        self._saver: FlowSaver | None = None
        self._print_lines = False
        self._lines: list[str] = []  # coloured lines, written out with the log records
        self._cors_only = True
        self._redact = True
        self._ticker: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._written_at = 0.0  # monotonic time of the last write-out

    # -- mitmproxy lifecycle ------------------------------------------------------------------

    def load(self, loader) -> None:
        loader.add_option(
            "cors_log",
            str,
            "",
            "Append one JSON line per decision to this file (the `analyze --format jsonl` "
            "schema), flushed as it happens.",
        )
        loader.add_option(
            "cors_log_max_bytes",
            int,
            50_000_000,
            "Rotate the decision log past this many bytes (0: never).",
        )
        loader.add_option("cors_save", str, "", "Also save every flow to this mitmproxy flow file.")
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
            "Redact Cookie, Set-Cookie, Authorization, Proxy-Authorization and URL userinfo "
            "in everything written.",
        )

    def configure(self, updated: set[str]) -> None:
        options = ctx.options
        if updated & {"cors_log", "cors_log_max_bytes", "cors_redact"}:
            if self._log:
                self._log.close()
                self._log = None
            if options.cors_log:
                self._log = DecisionLog(
                    Path(options.cors_log).expanduser(),
                    options.cors_log_max_bytes,
                    options.cors_redact,
                )
        if updated & {"cors_save", "cors_redact"}:
            if self._saver:
                self._saver.close()
                self._saver = None
            if options.cors_save:
                self._saver = FlowSaver(Path(options.cors_save).expanduser(), options.cors_redact)
        self._print_lines = type(ctx.master).__name__ == "DumpMaster"
        self._cors_only = options.cors_only
        self._redact = options.cors_redact

    def running(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._ticker = self._loop.create_task(self._tick_forever())

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            self._guarded(lambda: self._publish_all(self.analyzer.tick(time.time())))
            self._guarded(self._print_pending)

    def _print_pending(self) -> None:
        """Write out the lines and records judged since the last time at once: under load, a
        write per flow, or per batch, costs the proxy more than judging does."""
        self._written_at = time.monotonic()
        if self._lines:
            lines, self._lines = self._lines, []
            sys.stdout.write("\n".join(lines) + "\n")
            sys.stdout.flush()
        for writer in (self._log, self._saver):
            if writer:
                writer.flush()

    def done(self) -> None:
        if self._ticker:
            self._ticker.cancel()
        self._loop = None  # its loop is ending: a straggling flow is judged in its hook
        self.judge_arrived()
        self._guarded(lambda: self._publish_all(self.analyzer.finish()))
        self._guarded(self._print_pending)
        for writer in (self._log, self._saver):
            if writer:
                writer.close()
        self._log = self._saver = None

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
        if self._loop is None:  # a host that never said `running`, or after `done`: now
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
            self._guarded(self._print_pending)

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
        if self._saver:
            self._saver.add(f)
        self._waiting[f.id] = f
        exchange = exchange_from_flow(f)
        self._recent.append(snapshot(exchange))
        self._publish_all(self.analyzer.feed(exchange))

    def _publish_all(self, decisions: list[Decision]) -> None:
        changed = []
        for decision in decisions:
            f = self._waiting.pop(decision.flow_id, None)
            if f is not None and self._publish(decision, f):
                changed.append(f)
        if changed:
            ctx.master.addons.trigger(hooks.UpdateHook(changed))

    def _publish(self, decision: Decision, f: http.HTTPFlow) -> bool:
        """Record, show and hand on one decision; True when the flow's marking changed."""
        self._judged[decision.flow_id] = None
        if len(self._judged) > KEEP_RECENT:
            del self._judged[next(iter(self._judged))]
        if self.on_decision:
            self.on_decision(decision)
        reported = decision.is_cors or not self._cors_only
        if self._log and reported:
            self._log.write(decision)
        if self._print_lines and reported:
            self._lines.append(decision_line(decision, self._redact))
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
                lines.append(f"{decision.verdict} {decision.reason or ''}: {decision.explanation}")
        return "\n".join(lines)

    @command.command("cors.fix")
    def fix(self, flows: Sequence[flow.Flow]) -> str:
        """The CORSMiddleware configuration for the backends of these flows, verified."""
        from .fix_report import suggestions_for

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
            texts.append(f"# {backend} ({verified})\n{suggestion.config.to_python()}")
        return "\n\n".join(texts)

    @command.command("cors.export")
    def export(self, path: types.Path) -> None:
        """Write the recent decisions to a JSON Lines file."""
        recent = self.recent_decisions()
        with open_private(Path(path).expanduser(), "a") as out:
            for decision in recent.values():
                line = to_json_line(decision)
                out.write((redact_text(line) if self._redact else line) + "\n")
        logger.info(f"cors-inspector: {len(recent)} decisions written to {path}")
