"""Saved captures in, decisions out: the readers and the engine, one file after another.

Used by `analyze`, `fix` and the TUI's `open`. Judging a capture makes no reference cycles,
so the cycle collector would only rescan every freshly parsed object (a third of the run
time): it is paused while a capture streams, and run by hand now and then.
"""

from __future__ import annotations

import gc
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from itertools import accumulate
from pathlib import Path

from .engine import Analyzer, Decision
from .readers import Capture, CaptureError, CaptureNote, open_input
from .redact import open_private, redact_decision

COLLECT_EVERY = 100_000  # exchanges between two cycle collections
YOUNG_EVERY = 5_000  # ... and two of the youngest generation only (cheap; bounds the peak)
REPORT_EVERY = 1_000  # exchanges between two progress reports

ProgressReport = Callable[[Capture, int], None]  # the capture being read, exchanges read from it


class BytesDone:
    """How far through a list of captures reading has got, in bytes on disk."""

    def __init__(self, paths: Sequence[Path]) -> None:
        sizes = [_size(path) for path in paths]
        # 0 when a size is unknown (stdin, a pipe): then no percentage can be told.
        self.total = 0 if None in sizes else sum(size or 0 for size in sizes)
        self._starts = dict(zip(paths, accumulate([0, *(s or 0 for s in sizes)]), strict=False))

    def __call__(self, capture: Capture) -> int:
        return self._starts[capture.path] + capture.bytes_read


def _size(path: Path) -> int | None:
    """Its size on disk; None for what has none (stdin, a pipe, a FIFO, a character device)."""
    if str(path) == "-":
        return None
    try:
        status = path.stat()
    except OSError:
        return 0  # it will be reported as unreadable when its turn comes
    return status.st_size if stat.S_ISREG(status.st_mode) else None


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
                        elif count % YOUNG_EVERY == 0:
                            gc.collect(0)
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


COPY_CHUNK = 1 << 20  # a stream copied to be read twice, a megabyte at a time


@contextmanager
def readable_twice(paths: list[Path]) -> Iterator[list[Path]]:
    """The captures, each one a file that can be read twice: stdin (`-`), a pipe or a FIFO is
    first copied to a file only the user can read, removed afterwards."""
    if all(_is_regular(path) for path in paths):
        yield paths
        return
    with tempfile.TemporaryDirectory(prefix="cors-inspector-") as directory:
        readable = []
        for number, path in enumerate(paths):
            if _is_regular(path):
                readable.append(path)
                continue
            copy = Path(directory) / f"{number}-{path.name or 'stdin'}"
            try:
                with open_input(path) as source, open_private(copy, "wb") as target:
                    shutil.copyfileobj(source, target, COPY_CHUNK)
            except OSError:
                copy = path  # unreadable: its reader will say why
            readable.append(copy)
        yield readable


def _is_regular(path: Path) -> bool:
    """A file that can be read again (a missing one too: its reader says it is missing)."""
    if str(path) == "-":
        return False
    try:
        return not stat.S_ISFIFO(path.stat().st_mode) and not path.is_char_device()
    except OSError:
        return True
