"""The TUI's state in one place: the decisions kept, the filter, the visible lines, the cursor.

Plain Python (no Textual), so that it can be tested and benchmarked on its own. Adding
decisions appends lines; only a filter change rebuilds them. Memory is bounded by `keep`.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Literal

from ..engine.decision import Decision
from ..engine.origins import origin_of

# "credentials": allowed, but blocked if the page sends credentials (the wire could not
# tell); "disagree": the browser's own verdict differs from the rebuilt one.
Scope = Literal["all", "cors", "blocked", "credentials", "disagree"]
DEFAULT_KEEP = 50_000
NO_ORIGIN = "(not http)"  # the backend of a request whose URL has no origin


@dataclass(eq=False, slots=True)
class Row:
    """One request as the table shows it, with the preflights that served it folded under it."""

    seq: int  # increases with every row, so that kept rows stay sorted by it
    decision: Decision
    preflights: list[Decision]
    backend: str
    expanded: bool = False
    _haystack: str = ""
    cors: bool = field(init=False)  # decided once: filters test these on every row
    blocked: bool = field(init=False)
    if_credentials: bool = field(init=False)
    disagrees: bool = field(init=False)

    def __post_init__(self) -> None:
        self.judged()

    def judged(self) -> None:
        """Note what the filters test (again, after a correction)."""
        # A row with preflights is an actual CORS request, so its own kind says enough.
        decisions = self.decisions
        self.cors = self.decision.is_cors
        self.blocked = any(decision.verdict == "blocked" for decision in decisions)
        self.if_credentials = any(d.verdict_if_credentials == "blocked" for d in decisions)
        self.disagrees = any(disagrees(decision) for decision in decisions)
        self._haystack = ""

    @property
    def decisions(self) -> list[Decision]:
        """Capture order: the preflights first, then the request they served."""
        return [*self.preflights, self.decision]

    def haystack(self) -> str:
        """What free-text search looks through; built on the first search only."""
        if not self._haystack:
            fields = (
                (d.method, d.url, d.origin, d.status, d.kind, d.verdict, d.headline_reason)
                for d in self.decisions
            )
            ids = " ".join(d.flow_id for d in self.decisions)
            self._haystack = (
                ids
                + " "
                + " ".join(
                    str(field) for values in fields for field in values if field is not None
                ).lower()
            )
        return self._haystack


def disagrees(decision: Decision) -> bool:
    """The browser's own verdict (where known) differs from the rebuilt one (its reason named
    as Chromium's, decision.reason, or as Firefox's, decision.firefox_reason)."""
    theirs = decision.browser_verdict
    same_reason = decision.browser_reason in (None, decision.reason, decision.firefox_reason)
    return theirs is not None and (
        theirs != decision.verdict or (theirs == "blocked" and not same_reason)
    )


Line = tuple[Row, int]  # (row, -1): the row itself; (row, i): its i-th preflight, unfolded


@dataclass(frozen=True, slots=True)
class Filter:
    scope: Scope = "all"
    backend: str | None = None  # None: every backend
    search: str = ""  # lower-case

    def matches(self, row: Row) -> bool:
        if self.backend is not None and row.backend != self.backend:
            return False
        if self.scope == "cors" and not row.cors:
            return False
        if self.scope == "blocked" and not row.blocked:
            return False
        if self.scope == "credentials" and not row.if_credentials:
            return False
        if self.scope == "disagree" and not row.disagrees:
            return False
        return not self.search or self.search in row.haystack()

    def select(self, rows: list[Row]) -> list[Row]:
        """The rows that match, in order (the common filters without a per-row call)."""
        if self.backend is None and not self.search:
            if self.scope == "all":
                return rows
            if self.scope == "cors":
                return [row for row in rows if row.cors]
            if self.scope == "blocked":
                return [row for row in rows if row.blocked]
        return [row for row in rows if self.matches(row)]


@dataclass(slots=True)
class BackendStats:
    """What was seen of one backend (the origin requests went to)."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (verdict, why) -> n
    cors: int = 0  # CORS requests and preflights
    blocked: int = 0
    disagreements: int = 0  # rows where the browser's own verdict differs (Row.disagrees)
    version: int = 0  # changes whenever its decisions do: a cached fix is stale after

    def count(self, decision: Decision, delta: int) -> None:
        applicable = decision.verdict != "not-applicable"
        why = decision.headline_reason or ("" if applicable else decision.kind)
        key = (decision.verdict, why)
        self.counts[key] += delta
        if not self.counts[key]:
            del self.counts[key]
        self.cors += delta * decision.is_cors
        self.blocked += delta * (decision.verdict == "blocked")
        self.version += 1


@dataclass(frozen=True, slots=True)
class Change:
    """What `Store.add` did to the visible lines."""

    appended: int  # lines added at the end
    dropped: int  # lines dropped from the start (the oldest, past `keep`)
    new_backend: bool
    corrected: int = 0  # rows whose decision a correction (`supersedes`) replaced


def backend_of(decision: Decision) -> str:
    return origin_of(decision.url) or NO_ORIGIN


class Store:
    """Decisions in capture order, the filter over them, and the cursor in the filtered lines."""

    def __init__(self, keep: int = DEFAULT_KEEP, scope: Scope = "all") -> None:
        self.keep = keep
        self.filter = Filter(scope)
        self.rows: list[Row] = []
        self.lines: list[Line] = []  # the rows the filter lets through, unfolded ones expanded
        self.cursor = 0  # index in `lines`
        self.backends: dict[str, BackendStats] = {}
        self.verdicts: Counter[str] = Counter()
        self.total = 0  # decisions kept, preflights included
        self.dropped = 0  # decisions dropped past `keep`
        self._folding: dict[str, list[Decision]] = {}  # actual's flow_id -> its preflights
        self._rows_by_flow: dict[str, Row] = {}  # every kept decision's flow_id -> its row
        self.if_credentials = 0  # rows allowed as captured, blocked if credentials are sent
        self.disagreements = 0  # rows where the browser's own verdict differs
        self._next_seq = 0

    # -- adding -------------------------------------------------------------------------------

    def add(self, decisions: Iterable[Decision]) -> Change:
        appended = corrected = 0
        new_backend = False
        matches = self.filter.matches
        for decision in decisions:
            if decision.supersedes is not None:
                corrected += self._correct(decision)
                continue
            backend = backend_of(decision)
            stats = self.backends.get(backend)
            if stats is None:
                stats = self.backends[backend] = BackendStats()
                new_backend = True
            stats.count(decision, 1)
            self.verdicts[decision.verdict] += 1
            self.total += 1
            if decision.kind == "preflight" and decision.preflight_for is not None:
                # The analyzer emits a preflight just before the request it served.
                self._folding.setdefault(decision.preflight_for, []).append(decision)
                continue
            row = Row(self._next_seq, decision, self._folding.pop(decision.flow_id, []), backend)
            self._next_seq += 1
            self.rows.append(row)
            for kept in row.decisions:
                self._rows_by_flow[kept.flow_id] = row
            self._tally(row, 1)
            if matches(row):
                self.lines.append((row, -1))
                appended += 1
        return Change(appended, self._trim(), new_backend, corrected)

    def _correct(self, decision: Decision) -> int:
        """Put a correction in the place of the decision it supersedes (1 if it was kept)."""
        row = self._rows_by_flow.get(decision.supersedes or "")
        if row is None:
            return 0  # dropped already, or never kept
        kept = row.decisions
        old = next(d for d in kept if d.flow_id == decision.supersedes)
        if old is row.decision:
            row.decision = decision
        else:
            row.preflights[row.preflights.index(old)] = decision
        stats = self.backends[row.backend]
        stats.count(old, -1)
        stats.count(decision, 1)
        self.verdicts[old.verdict] -= 1
        self.verdicts[decision.verdict] += 1
        self._tally(row, -1)
        row.judged()
        self._tally(row, 1)
        return 1

    def _tally(self, row: Row, delta: int) -> None:
        self.if_credentials += delta * row.if_credentials
        self.disagreements += delta * row.disagrees
        self.backends[row.backend].disagreements += delta * row.disagrees

    def _trim(self) -> int:
        """Drop the oldest rows past `keep` decisions; return how many lines went with them."""
        excess = self.total - self.keep
        if excess <= 0:
            return 0
        count = removed = 0
        for row in self.rows:
            if removed >= excess:
                break
            removed += 1 + len(row.preflights)
            count += 1
        for row in self.rows[:count]:
            self._tally(row, -1)
            for decision in row.decisions:
                self.backends[row.backend].count(decision, -1)
                self.verdicts[decision.verdict] -= 1
                self._rows_by_flow.pop(decision.flow_id, None)
        del self.rows[:count]
        self.total -= removed
        self.dropped += removed
        first = self.rows[0].seq if self.rows else self._next_seq
        cut = bisect_left(self.lines, first, key=lambda line: line[0].seq)
        del self.lines[:cut]
        self.cursor = max(0, self.cursor - cut)
        return cut

    # -- filtering and folding ----------------------------------------------------------------

    def set_filter(
        self,
        *,
        scope: Scope | None = None,
        backend: str | Literal[False] | None = False,  # False: unchanged; None: every backend
        search: str | None = None,
    ) -> None:
        changes: dict[str, object] = {}
        if scope is not None:
            changes["scope"] = scope
        if backend is not False:
            changes["backend"] = backend
        if search is not None:
            changes["search"] = search.strip().lower()
        wanted = replace(self.filter, **changes)  # type: ignore[arg-type]
        if wanted == self.filter:
            return
        selected = self.selected
        self.filter = wanted
        lines: list[Line] = []
        for row in wanted.select(self.rows):
            lines.append((row, -1))
            if row.expanded:
                lines.extend((row, i) for i in range(len(row.preflights)))
        self.lines = lines
        self.cursor = self.index_of(selected)

    def index_of(self, line: Line | None) -> int:
        """Where `line` is now; 0 when it is filtered out (or gone)."""
        if line is None:
            return 0
        try:
            return self.lines.index(line)
        except ValueError:
            return 0

    def toggle_fold(self) -> bool:
        """Unfold (or fold) the preflights of the row at the cursor; False if it has none."""
        line = self.selected
        if line is None or not line[0].preflights:
            return False
        row, child = line
        at = self.cursor - child - 1 if child >= 0 else self.cursor  # the row's own line
        row.expanded = not row.expanded
        if row.expanded:
            self.lines[at + 1 : at + 1] = [(row, i) for i in range(len(row.preflights))]
        else:
            del self.lines[at + 1 : at + 1 + len(row.preflights)]
            self.cursor = at
        return True

    # -- reading ------------------------------------------------------------------------------

    @property
    def selected(self) -> Line | None:
        return self.lines[self.cursor] if self.lines else None

    @property
    def selected_decision(self) -> Decision | None:
        line = self.selected
        if line is None:
            return None
        row, child = line
        return row.decision if child < 0 else row.preflights[child]

    def decisions_for(self, backend: str) -> list[Decision]:
        """Every kept decision of `backend`, in capture order (what a fix is computed from)."""
        return [d for row in self.rows if row.backend == backend for d in row.decisions]

    def cors_backends(self) -> list[str]:
        """Backends that saw CORS requests: the ones with the most blocked first."""
        seen = [name for name, stats in self.backends.items() if stats.cors]
        return sorted(seen, key=lambda name: (-self.backends[name].blocked, name))
