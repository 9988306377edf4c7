"""A progress bar on stderr while large captures are read (only in a terminal)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ..judge import BytesDone, ProgressReport
from ..readers import Capture

if TYPE_CHECKING:
    from rich.console import Console

PROGRESS_FROM_BYTES = 20_000_000  # smaller captures are read before a bar would be seen


@contextmanager
def reading_progress(
    paths: Sequence[Path], console: Console | None = None, from_bytes: int = PROGRESS_FROM_BYTES
) -> Iterator[ProgressReport | None]:
    """A progress bar on stderr while large captures are read (only in a terminal)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    console = console or Console(stderr=True)
    done = BytesDone(paths)
    if not console.is_terminal or done.total < from_bytes:
        yield None
        return
    columns = (
        TextColumn("reading {task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[requests]:,} requests"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True, redirect_stdout=False) as bar:
        task = bar.add_task(paths[0].name, total=done.total, requests=0)

        def report(capture: Capture, count: int) -> None:
            bar.update(task, completed=done(capture), description=capture.path.name, requests=count)

        yield report
