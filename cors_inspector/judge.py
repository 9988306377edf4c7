"""Saved captures in, decisions out: the readers and the engine, one file after another.

Used by `analyze`, `fix` and the TUI's `open`. Judging a capture makes no reference cycles,
so the cycle collector would only rescan every freshly parsed object (a third of the run
time): it is paused while a capture streams, and run by hand now and then.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from itertools import accumulate
from pathlib import Path

from .engine import Analyzer, Decision
from .readers import Capture, CaptureError, CaptureNote
from .redact import redact_decision

COLLECT_EVERY = 100_000  # exchanges between two cycle collections
REPORT_EVERY = 1_000  # exchanges between two progress reports

ProgressReport = Callable[[Capture, int], None]  # the capture being read, exchanges read from it


class BytesDone:
    """How far through a list of captures reading has got, in bytes on disk."""

    def __init__(self, paths: Sequence[Path]) -> None:
        sizes = [_size(path) for path in paths]
        self.total = sum(sizes)
        self._starts = dict(zip(paths, accumulate([0, *sizes]), strict=False))

    def __call__(self, capture: Capture) -> int:
        return self._starts[capture.path] + capture.bytes_read


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # it will be reported as unreadable when its turn comes


def judge_captures(
    paths: Sequence[Path],
    problems: list[CaptureError],
    progress: ProgressReport | None = None,
    notes: list[CaptureNote] | None = None,
    redact: bool = True,
) -> Iterator[Decision]:
    """Decisions for each file in turn; a file that fails to read is noted in `problems` and
    the next one is read; what a reader had to say about a file read whole goes in `notes`.
    With `redact`, what each decision shows has its secrets masked (`redact_decision`); the
    exchange it judged stays whole (a fix is verified, a replay sent, with it)."""
    decisions = _judged(paths, problems, progress, notes)
    return map(redact_decision, decisions) if redact else decisions


def _judged(
    paths: Sequence[Path],
    problems: list[CaptureError],
    progress: ProgressReport | None,
    notes: list[CaptureNote] | None,
) -> Iterator[Decision]:
    collecting = gc.isenabled()
    gc.disable()
    try:
        for path in paths:
            capture = Capture(path)
            analyzer = Analyzer()
            count = 0
            try:
                for count, exchange in enumerate(capture.exchanges(), 1):
                    if count % REPORT_EVERY == 0:
                        if count % COLLECT_EVERY == 0:
                            gc.collect()
                        if progress:
                            progress(capture, count)
                    yield from analyzer.feed(exchange)
            except CaptureError as error:
                problems.append(error)
            yield from analyzer.finish()
            if notes is not None:
                notes += (CaptureNote(path, note) for note in capture.notes)
            if progress:
                progress(capture, count)
    finally:
        if collecting:
            gc.enable()
