"""What the engine concludes about one exchange, and the trace of checks that led there."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from .browsers import Browser
from .exchange import Credentials, Exchange
from .reasons import CORS_ERRORS

Kind = Literal["same-origin", "not-cors", "preflight", "actual"]
Verdict = Literal["allowed", "blocked", "not-applicable", "unknown"]
Outcome = Literal["pass", "fail", "info"]


class Step(NamedTuple):
    """One check as the browser runs it (a tuple of strings: cheap, and ignored by the GC)."""

    check: str  # what is checked, e.g. "Access-Control-Allow-Origin"
    spec: str  # where the rule comes from, e.g. "Fetch: CORS check, step 4"
    observed: str
    needed: str
    outcome: Outcome


class Frame(NamedTuple):
    """One call of a script's stack (1-based line and column, as editors count)."""

    function: str
    url: str
    line: int
    column: int


class Initiator(NamedTuple):
    """Where the page asked for the request: the fetch()/XHR call, and the stack above it."""

    url: str
    line: int
    column: int
    stack: tuple[Frame, ...] = ()


@dataclass(slots=True)
class Failure:
    """The first check that failed: Chromium's CorsError and what to tell the developer.

    `reason` is None where only Firefox fails it (a redirect to `data:`, a redirect loop):
    `firefox_reason` then says why."""

    reason: str | None
    failed_parameter: str | None
    explanation: str
    firefox_reason: str | None = None  # set where it differs from reasons.CORS_ERRORS

    @property
    def firefox(self) -> str | None:
        """Firefox's name for this failure."""
        if self.firefox_reason is not None or self.reason is None:
            return self.firefox_reason
        return CORS_ERRORS[self.reason].firefox


@dataclass(slots=True)
class Decision:
    flow_id: str
    started: float
    method: str
    url: str
    origin: str | None
    status: int | None
    kind: Kind
    verdict: Verdict
    reason: str | None = None
    firefox_reason: str | None = None
    failed_parameter: str | None = None
    credentials: Credentials = "unknown"
    credentials_basis: str = ""  # how the credentials mode was inferred
    preflight_for: str | None = None  # on a preflight: the actual request it served
    preflight_id: str | None = None  # on an actual request: the preflight that served it
    explanation: str = ""
    console_message: str | None = None  # what Chromium prints, for a blocked request
    firefox_console_message: str | None = None  # what Firefox prints, for a blocked request
    browser: Browser = "unknown"  # whose rules judged it (browsers.py)
    readable_headers: list[str] | None = None  # response headers the page's script may read
    hidden_headers: list[str] | None = None  # present, but not readable by script
    trace: list[Step] = field(default_factory=list)
    # Where the credentials mode was not seen and would change the verdict: what the browser
    # decides if the page sends credentials (fetch `credentials: 'include'`, XHR
    # `withCredentials`). `verdict` stays the one without.
    verdict_if_credentials: Verdict | None = None
    reason_if_credentials: str | None = None
    firefox_reason_if_credentials: str | None = None
    sent: bool = True  # False: the browser never sent it (from its own record)
    browser_verdict: str | None = None  # the browser's own verdict, where it is known
    browser_reason: str | None = None  # the browser's own CorsError name
    supersedes: str | None = None  # a correction of an earlier record of the same flow
    initiator: Initiator | None = None  # the script call that made it (the browser bridge)
    exchange: Exchange | None = field(default=None, repr=False, compare=False)  # what was judged

    @property
    def is_cors(self) -> bool:
        return self.kind in ("preflight", "actual")

    @property
    def headline_reason(self) -> str | None:
        """The reason as the browser that sent the request names it, the other's beside it:
        Firefox's first for Firefox's traffic, Chromium's for the rest."""
        if self.browser == "firefox" and self.firefox_reason:
            return self.firefox_reason + (f" (Chromium: {self.reason})" if self.reason else "")
        return self.reason
