"""A hundred thousand requests: batches in, filters over them, memory bounded by --keep.

No timing assertions here (speed is measured in bench/); this proves it works at that size.
"""

from __future__ import annotations

import pytest

from cors_inspector.engine import Analyzer, Decision
from cors_inspector.tui.app import CorsInspectorApp
from cors_inspector.tui.store import Store

from .conftest import SAMPLES, SIZE, exchanges, multiplied, settle

COUNT = 100_000
BATCH = 5_000


@pytest.fixture(scope="module")
def traffic() -> list[Decision]:
    """Every story of sample_flows/, over and over: 100,000 exchanges, judged."""
    stories = sorted(path.stem for path in SAMPLES.glob("*.mitm"))
    return list(Analyzer().run(multiplied(exchanges(*stories), COUNT)))


async def test_a_hundred_thousand_requests_in_batches(traffic: list[Decision]):
    app = CorsInspectorApp(Store(keep=COUNT))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("end")  # following, as in live mode
        for start in range(0, len(traffic), BATCH):
            app.add_decisions(traffic[start : start + BATCH])
            await pilot.pause()
        store = app.store
        assert store.total == len(traffic) == COUNT
        assert store.cursor == len(store.lines) - 1  # still following the newest

        await pilot.press("b")
        blocked = sum(
            1
            for d in traffic
            if d.verdict == "blocked" and not (d.kind == "preflight" and d.preflight_for)
        )
        assert len(store.lines) == blocked > 0
        assert all(row.blocked for row, _ in store.lines)

        await pilot.press("c")
        cors = sum(1 for d in traffic if d.is_cors and not d.preflight_for)
        assert len(store.lines) == cors

        backend = store.cors_backends()[0]
        app.main_screen.apply_filter(backend=backend)
        assert {row.backend for row, _ in store.lines} == {backend}

        await pilot.press("a", "o", "home", "enter", "slash", *"who-am-i", "enter")
        assert store.lines
        assert all("who-am-i" in row.decision.url for row, _ in store.lines)

        await pilot.press("home", "enter", "f")  # a detail, and its fix, at this size
        await settle(pilot)
        assert app.main_screen.detail.decision is store.selected_decision


def test_keep_bounds_memory(traffic: list[Decision]):
    store = Store(keep=10_000)
    for start in range(0, len(traffic), BATCH):
        store.add(traffic[start : start + BATCH])
    assert 10_000 - 2 <= store.total <= 10_000  # whole rows go: a preflight with its request
    assert store.dropped == COUNT - store.total
    assert store.rows[-1].decision is traffic[-1]
    store.set_filter(scope="blocked")
    assert all(row.blocked for row, _ in store.lines)
