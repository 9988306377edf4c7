"""The selected request in detail: why (trace), what was on the wire (headers), the fix."""

from __future__ import annotations

from typing import Literal

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import TabbedContent, TabPane

from ...engine.decision import Decision
from ...redact import redact_text
from ..fixes import FixResult
from .fix_view import FixView
from .header_view import HeaderView, absent_response_headers, decisive_headers
from .trace_view import TraceView

DetailTab = Literal["trace", "headers", "fix"]


class DetailPane(Vertical):
    DEFAULT_CSS = """
    DetailPane#detail {
        height: 3fr;
        border-top: solid $accent;

        TabPane {
            padding: 0;
        }

        VerticalScroll {
            padding: 0 1;
        }
    }
    """

    def __init__(self) -> None:
        super().__init__(id="detail")
        self.decision: Decision | None = None
        self.reveal = False  # secrets shown unmasked (the main screen's r)

    def compose(self) -> ComposeResult:
        with TabbedContent(id="detail-tabs"):
            with TabPane("Trace [dim](t)[/]", id="trace"), VerticalScroll():
                yield TraceView(id="trace-view")
            with TabPane("Headers [dim](h)[/]", id="headers"), VerticalScroll():
                yield HeaderView(id="request-headers")
                yield HeaderView(id="response-headers")
            with TabPane("Fix [dim](f)[/]", id="fix"), VerticalScroll():
                yield FixView(id="fix-view")

    @property
    def tab(self) -> DetailTab:
        return self.query_one(TabbedContent).active  # type: ignore[return-value]

    def show_tab(self, tab: DetailTab) -> None:
        self.query_one(TabbedContent).active = tab

    def show(self, decision: Decision | None, reveal: bool) -> None:
        """The trace and the headers of `decision`; the fix comes with `show_fix`."""
        self.decision, self.reveal = decision, reveal
        self.query_one(TraceView).show(decision, reveal)
        request = self.query_one("#request-headers", HeaderView)
        response = self.query_one("#response-headers", HeaderView)
        exchange = decision.exchange if decision else None
        if decision is None or exchange is None:
            request.update("")
            response.update("")
            return
        decisive = decisive_headers(decision)
        url = exchange.request.url if reveal else redact_text(exchange.request.url)
        request.show(
            Text(f"Request  {exchange.request.method} {url}"),
            exchange.request.headers,
            decisive,
            reveal,
        )
        answer = exchange.response
        if answer is None:
            title = f"Response  none ({exchange.error or exchange.browser_error or 'no answer'})"
            response.show(Text(title), None, decisive, reveal)
        else:
            by = "  (answered by the proxy)" if exchange.answered_by_proxy else ""
            title = f"\nResponse  {answer.status} {answer.reason}{by}"
            absent = absent_response_headers(decisive, answer.headers)
            response.show(Text(title), answer.headers, decisive, reveal, absent)

    def show_fix(self, fix: FixResult | None, verifying: bool) -> None:
        self.query_one(FixView).show(self.decision, fix, verifying, self.reveal)
