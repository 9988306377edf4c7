"""Shared fixtures: real captures from sample_flows/, decisions made from them, a fixed clock."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from textual.pilot import Pilot

from cors_inspector.engine import Analyzer, Decision, Exchange
from cors_inspector.readers import read_capture
from cors_inspector.tui.app import CorsInspectorApp
from cors_inspector.tui.store import Store

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "sample_flows"
SIZE = (140, 40)  # every pilot and snapshot test runs at this terminal size


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The table shows local times: make them the same on every machine."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def sample(name: str) -> Path:
    return SAMPLES / f"{name}.mitm"


def exchanges(*names: str) -> list[Exchange]:
    return [exchange for name in names for exchange in read_capture(sample(name))]


def decisions(*names: str) -> list[Decision]:
    return list(Analyzer().run(exchanges(*names)))


def multiplied(source: list[Exchange], count: int) -> list[Exchange]:
    """`count` exchanges: copies of `source` with their own ids, each round a minute later
    (so that a preflight pairs with its own round's request, as it did when captured)."""
    start = min(exchange.started for exchange in source)
    rounds = -(-count // len(source))
    copies = [
        replace(
            exchange,
            id=f"{exchange.id}-{round_}",
            started=exchange.started - start + 60.0 * round_,
            ended=None if exchange.ended is None else exchange.ended - start + 60.0 * round_,
        )
        for round_ in range(rounds)
        for exchange in source
    ]
    return copies[:count]


def offline_app(*names: str, keep: int = 50_000) -> CorsInspectorApp:
    return CorsInspectorApp(Store(keep=keep), files=[sample(name) for name in names])


async def settle(pilot: Pilot) -> None:
    """Wait until the files are read and the fixes computed, and the screen caught up."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()  # a fix asked for while rendering
    await pilot.pause()
