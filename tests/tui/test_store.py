"""The store alone: folding, filters, the memory bound (no Textual involved)."""

from __future__ import annotations

from cors_inspector.tui.store import Store

from .conftest import decisions


def test_a_preflight_folds_under_the_request_it_served():
    store = Store()
    store.add(decisions("healthy-session"))
    folded = [row for row in store.rows if row.preflights]
    assert len(folded) == 1
    row = folded[0]
    assert row.decision.method == "PUT"
    assert row.preflights[0].kind == "preflight"
    assert row.preflights[0].preflight_for == row.decision.flow_id
    # Folded: one line for both, until unfolded.
    assert (row, 0) not in store.lines
    store.cursor = store.lines.index((row, -1))
    assert store.toggle_fold()
    assert store.lines[store.cursor + 1] == (row, 0)
    store.cursor += 1  # on the preflight: folding goes back to its request
    assert store.toggle_fold()
    assert store.selected == (row, -1)


def test_a_preflight_whose_request_was_never_sent_stands_alone():
    store = Store()
    store.add(decisions("method-not-allowed"))
    alone = [row for row in store.rows if row.decision.kind == "preflight"]
    assert alone, "the failed preflights of PUT, DELETE and patch"
    for row in alone:
        assert row.decision.preflight_for is None
        assert row.decision.verdict == "blocked"
        assert not row.preflights
        assert (row, -1) in store.lines


def test_filters_by_scope_backend_and_text():
    store = Store()
    everything = decisions("missing-middleware", "healthy-session")
    store.add(everything)
    assert len(store.lines) == len(store.rows)
    store.set_filter(scope="blocked")
    assert {row.decision.reason for row, _ in store.lines} == {
        "MissingAllowOriginHeader",
        "PreflightMissingAllowOriginHeader",
    }
    store.set_filter(scope="cors")
    assert all(row.decision.is_cors for row, _ in store.lines)
    backend = store.cors_backends()[0]  # the one with something blocked comes first
    assert store.backends[backend].blocked == 2
    store.set_filter(scope="all", backend=backend)
    assert {row.backend for row, _ in store.lines} == {backend}
    store.set_filter(backend=None, search="WHO-AM-I")
    assert [row.decision.url.rsplit(".", 1)[-1] for row, _ in store.lines] == ["who-am-i"]


def test_the_cursor_stays_on_its_request_through_filter_changes():
    store = Store()
    store.add(decisions("missing-middleware"))
    blocked = next(i for i, (row, _) in enumerate(store.lines) if row.blocked)
    store.cursor = blocked
    chosen = store.selected
    store.set_filter(scope="blocked")
    assert store.selected == chosen
    store.set_filter(scope="all")
    assert store.selected == chosen


def test_keep_drops_the_oldest_and_counts_follow():
    everything = decisions("missing-middleware", "healthy-session", "header-not-allowed")
    store = Store(keep=10)
    for decision in everything:  # one at a time, as the proxy hands them over
        store.add([decision])
    assert store.total <= 10
    assert store.dropped == len(everything) - store.total
    kept = [d for row in store.rows for d in row.decisions]
    assert kept == everything[-len(kept) :]
    assert sum(sum(stats.counts.values()) for stats in store.backends.values()) == store.total
    assert store.verdicts.total() == store.total
    assert [row for row, _ in store.lines] == store.rows


def test_a_correction_takes_the_place_of_the_decision_it_supersedes():
    from dataclasses import replace

    from cors_inspector.engine import Analyzer
    from tests.unit.builders import PAGE, cors_get

    store = Store()
    first = replace(cors_get({"Access-Control-Allow-Origin": "*"}), connection="c1")
    analyzer = Analyzer(ordered=False)
    store.add(analyzer.feed(first))
    assert store.if_credentials == 1 and store.verdicts["allowed"] == 1
    store.set_filter(scope="credentials")
    assert len(store.lines) == 1
    later = replace(
        cors_get(
            {"Access-Control-Allow-Origin": PAGE, "Access-Control-Allow-Credentials": "true"},
            cookie=True,
            url="http://localhost:8000/me",
        ),
        connection="c1",
    )
    change = store.add(analyzer.feed(later))
    assert change.corrected == 1
    row = store.rows[0]
    assert row.decision.verdict == "blocked" and row.blocked and not row.if_credentials
    assert store.if_credentials == 0 and store.verdicts["blocked"] == 1
    assert len(store.rows) == 2  # the correction is no row of its own
