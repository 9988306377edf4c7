"""Timing side by side: the two things compared run alternately in one process's lifetime,
so that machine noise (this is a shared 2-core box) hits both alike. Ratios, not seconds,
are the result."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def alternate(
    first: Callable[[], object], second: Callable[[], object], rounds: int = 3
) -> tuple[float, float]:
    """Best wall time of each, measured in turns (A B A B ...)."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        for index, work in enumerate((first, second)):
            start = time.perf_counter()
            work()
            times[index].append(time.perf_counter() - start)
    return min(times[0]), min(times[1])


@contextmanager
def work_directory(kept: Path | None) -> Iterator[Path]:
    """`kept` (created, left in place: generated inputs are reused), or a temporary directory
    removed afterwards (they can be gigabytes)."""
    if kept is not None:
        kept.mkdir(parents=True, exist_ok=True)
        yield kept
        return
    with tempfile.TemporaryDirectory(prefix="cors-bench-") as temporary:
        yield Path(temporary)


def run_quietly(argv: Sequence[str]) -> None:
    subprocess.run(list(argv), stdout=subprocess.DEVNULL, check=False, cwd=ROOT)


_PEAK_PROBE = (
    "import resource, subprocess, sys\n"
    "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def peak_rss_mb(argv: Sequence[str]) -> float:
    """Peak resident memory of `argv`, measured by a fresh probe process that runs only it
    (Linux ru_maxrss is in KiB)."""
    probe = subprocess.run(
        [PYTHON, "-c", _PEAK_PROBE, *argv], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return int(probe.stdout.split()[-1]) / 1024


def report(name: str, value: float, target: str, ok: bool, detail: str = "") -> None:
    verdict = "meets" if ok else "MISSES"
    print(f"{name:<46} {value:>10.3f}   target {target:<10} {verdict}  {detail}", flush=True)


def percentile(values: list[float], fraction: float) -> float:
    return statistics.quantiles(values, n=1000)[round(fraction * 1000) - 1]
