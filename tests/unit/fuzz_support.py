"""A mutation fuzzer for the capture readers: hostile variants of sample_flows/, each read (and
judged) in a forked child under a memory cap, with a watchdog on every input.

Used by the short run in `test_hostile_input.py` and the long one, `scripts/fuzz_captures.py`.
An input's bytes follow from (seed, index) alone, so a failure can be made again and saved.
A new capture format joins with one line in FORMATS: its glob, and its structural mutators.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import math
import os
import random
import re
import resource
import select
import signal
import tempfile
import time
import traceback
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mitmproxy.io import tnetstring

from cors_inspector.engine import Analyzer
from cors_inspector.engine.exchange import Exchange, Headers
from cors_inspector.readers import CaptureError, read_capture
from cors_inspector.readers.limits import is_status, is_time
from cors_inspector.readers.tnetstring import records

SAMPLES = Path(__file__).resolve().parents[2] / "sample_flows"
RSS_BUDGET_MB = 200  # the readers' promise: no single input takes more
ADDRESS_CAP = 1 << 30  # RLIMIT_AS of a child, above what it has: a runaway allocation fails
# What a fresh `cors-inspector analyze` holds before it reads a byte (the interpreter,
# mitmproxy, the package): a child forked from a larger process (the whole test suite) is
# measured by what each input adds to that, not by the pages it shares with its parent.
FRESH_BASE_MB = 80

Rng = random.Random
Mutator = Callable[[Rng, bytes, "Corpus"], bytes]


# --- byte-level mutations: every format -------------------------------------------------------


def flip(rng: Rng, data: bytes, corpus: Corpus) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if out:
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def insert(rng: Rng, data: bytes, corpus: Corpus) -> bytes:
    at = rng.randint(0, len(data))
    junk = rng.choice([b":", b",", b"]", b"}", b"{", b"[", b'"', b"\\", b"\x00", b"\xff", b"9"])
    return data[:at] + junk * rng.randint(1, 4) + data[at:]


def delete(rng: Rng, data: bytes, corpus: Corpus) -> bytes:
    at = rng.randint(0, len(data))
    return data[:at] + data[at + rng.randint(1, 64) :]


def truncate(rng: Rng, data: bytes, corpus: Corpus) -> bytes:
    return data[: rng.randint(0, len(data))]


def splice(rng: Rng, data: bytes, corpus: Corpus) -> bytes:
    other = rng.choice(corpus.all_seeds)
    return data[: rng.randint(0, len(data))] + other[rng.randint(0, len(other)) :]


# --- mitmproxy flow files ---------------------------------------------------------------------

_PREFIX = re.compile(rb"\d+:")
_ODD_LENGTHS = [b"-4", b"-1", b"5000000000", b"99999999999", b"1e3", b"+3", b" 3", b"4_0", b"x"]


def tnet_prefix(rng: Rng, data: bytes, corpus: Corpus) -> bytes:
    """A length prefix made huge, negative or not a number."""
    prefixes = list(_PREFIX.finditer(data[:4096] if rng.random() < 0.5 else data))
    if not prefixes:
        return data
    found = rng.choice(prefixes)
    return data[: found.start()] + rng.choice(_ODD_LENGTHS) + b":" + data[found.end() :]


def _odd_value(rng: Rng) -> Any:
    return rng.choice(
        [
            None, True, 0, -1, 1 << 70, 1e308, math.nan, math.inf, -math.inf, b"", b"\xff" * 9,
            "", "x", [], {}, [b"a"], {b"k": b"v"}, {"msg": 1}, [[b"a", b"b", b"c"]], 70000,
            "é", 1.5,
        ]
    )  # fmt: skip


def _replace_somewhere(rng: Rng, value: Any, make: Callable[[Rng], Any]) -> Any:
    """`value` with one element, chosen at random along a path of containers, replaced."""
    if isinstance(value, (dict, list)) and value and rng.random() < 0.8:
        keys = list(value) if isinstance(value, dict) else list(range(len(value)))
        key = rng.choice(keys)
        value[key] = _replace_somewhere(rng, value[key], make)
        return value
    return make(rng)


def tnet_types(rng: Rng, data: bytes, corpus: Corpus) -> bytes:
    """One field of one flow given a wrong type (a list for a port, bytes for a key...)."""
    states = corpus.records(data)
    if not states:
        return data
    index = rng.randrange(len(states))
    states[index] = _replace_somewhere(rng, states[index], _odd_value)
    if rng.random() < 0.2 and isinstance(states[index], dict):  # a bytes key
        states[index][rng.choice([b"request", b"version", b"id"])] = _odd_value(rng)
    return b"".join(tnetstring.dumps(state) for state in states)


def tnet_nesting(rng: Rng, data: bytes, corpus: Corpus) -> bytes:
    depth = rng.choice([50, 99, 100, 101, 500, 5000, 100_000])
    lengths = [3]  # of `0:~`, then of each list around it
    for _ in range(depth):
        lengths.append(len(b"%d:" % lengths[-1]) + lengths[-1] + 1)
    nest = b"".join(b"%d:" % length for length in reversed(lengths[1:]))
    return data[: rng.randint(0, len(data))] + nest + b"0:~" + b"]" * depth


def tnet_balloon(rng: Rng, data: bytes, corpus: Corpus) -> bytes:
    """A record of tiny values: few bytes each, many bytes of objects once parsed."""
    body = rng.choice([b"0:]", b"0:}", b"2:ab,", b"1:0^", b"2:ab;0:~"]) * rng.choice(
        [10_000, 300_000, 1_200_000]
    )
    return b"%d:%s]" % (len(body), body)


# --- HAR --------------------------------------------------------------------------------------

_ODD_JSON = [
    "[]", "{}", "0", "-1", "1e400", "-1e400", "NaN", "Infinity", '"x"', '""', "null", "true",
    "1.5", "99999999999999999999", '"9999-12-31T23:59:59"', '"\\ud800"', '"0001-01-01T00:00"',
    "[[[[[[[[[[]]]]]]]]]]", '{"name": 1, "value": []}',
]  # fmt: skip
_MARK = "\x00odd\x00"


def json_types(rng: Rng, data: bytes, corpus: Corpus) -> bytes:
    """One JSON value replaced by another type: a list, a number, null, 1e400, NaN..."""
    document = corpus.json(data)
    if document is None:
        return data
    swapped = _replace_somewhere(rng, document, lambda rng: _MARK)
    text = json.dumps(swapped).replace(json.dumps(_MARK), rng.choice(_ODD_JSON))
    return text.encode()


def json_nesting(rng: Rng, data: bytes, corpus: Corpus) -> bytes:
    depth = rng.choice([50, 100, 101, 999, 1000, 100_000])
    nest = rng.choice(["[", '{"a":'])
    closing = "]" if nest == "[" else "}"
    entry = nest * depth + "1" + closing * depth * rng.randint(0, 1)
    return ('{"log": {"entries": [' + entry + "]}}").encode()


def json_balloon(rng: Rng, data: bytes, corpus: Corpus) -> bytes:
    """An entry of tiny values, or one string so long it must be refused."""
    part = rng.choice(["[],", "{},", "1.5,", '"ab",', "[1,[2,[3]]],"])
    count = rng.choice([1000, 300_000, 1_200_000])
    if rng.random() < 0.3:
        return b'{"log": {"entries": ["' + b"x" * 20_000_000 + "😀".encode()
    return b'{"log": {"entries": [[' + part.encode() * count + b"0]]}}"


# --- gzip -------------------------------------------------------------------------------------


def gzip_bomb(rng: Rng, data: bytes, corpus: Corpus) -> bytes:
    """A small file that inflates to up to `corpus.bomb_mb` MB behind a plausible start."""
    starts = [b'{"log": {"entries": [', b'{"log": {"entries": ["', b"999999:", data[:200]]
    start = rng.choice(starts)
    filler = rng.choice([b" ", b"0", b"[", b"\x00", b"0:~"]) * (1 << 20)
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)  # 31: a gzip wrapper
    parts = [packer.compress(start)]
    parts += [packer.compress(filler) for _ in range(rng.randint(1, corpus.bomb_mb))]
    return b"".join([*parts, packer.flush()])


def gzipped(mutate: Mutator) -> Mutator:
    def mutate_then_gzip(rng: Rng, data: bytes, corpus: Corpus) -> bytes:
        return gzip.compress(mutate(rng, data, corpus), compresslevel=1)

    return mutate_then_gzip


BYTES: list[Mutator] = [flip, insert, delete, truncate, splice, gzipped(flip)]
HEAVY_SHARE = 0.01  # of the mutations that are heavy: each input costs up to a second


@dataclass
class Format:
    glob: str
    mutators: list[Mutator]
    heavy: list[Mutator] = field(default_factory=list)  # balloons, bombs: rare but slow


JSON = ([json_types, json_nesting, gzipped(json_types)], [json_balloon, gzip_bomb])
FORMATS: dict[str, Format] = {
    "mitm": Format("*.mitm", [tnet_prefix, tnet_types, tnet_nesting], [tnet_balloon, gzip_bomb]),
    "har": Format("*.har", *JSON),
    "netlog": Format("*.netlog.json", *JSON),
}


@dataclass
class Corpus:
    """The seed files, and their decoded forms cached for the structural mutators."""

    formats: dict[str, Format] = field(default_factory=lambda: FORMATS)
    bomb_mb: int = 64
    seeds: dict[str, list[bytes]] = field(init=False)
    _parsed: dict[bytes, Any] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.seeds = {
            kind: [path.read_bytes() for path in sorted(SAMPLES.glob(spec.glob))]
            for kind, spec in self.formats.items()
        }
        self.all_seeds = [seed for seeds in self.seeds.values() for seed in seeds]

    def records(self, data: bytes) -> list[Any]:
        """The tnetstring records of a seed (fresh copies: the mutators change them)."""
        parsed = self._parsed.get(data)
        if parsed is None:
            try:
                parsed = list(records(io.BytesIO(data)))
            except ValueError:
                parsed = []
            if data in self.all_seeds:  # a mutant is seen once: only seeds are worth keeping
                self._parsed[data] = parsed
        return [_copy(state) for state in parsed]

    def json(self, data: bytes) -> Any:
        try:
            return json.loads(data)
        except (ValueError, RecursionError):  # a mutant of a mutant, e.g. deeply nested
            return None

    def make(self, seed: int, index: int) -> tuple[str, str, bytes]:
        """Input `index` of run `seed`: its format, how it was made, and its bytes."""
        rng = random.Random(f"{seed}:{index}")
        kind = rng.choice(sorted(self.seeds))
        data = rng.choice(self.seeds[kind])
        spec = self.formats[kind]
        names = []
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            heavy = spec.heavy and rng.random() < HEAVY_SHARE
            mutate = rng.choice(spec.heavy if heavy else spec.mutators + BYTES)
            try:
                data = mutate(rng, data, self)
                names.append(mutate.__name__)
            except (ValueError, TypeError, RecursionError):  # e.g. a mutant it cannot re-encode
                names.append(f"({mutate.__name__} failed)")
        return kind, "+".join(names), data


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


# --- running ----------------------------------------------------------------------------------


def check_exchange(exchange: Exchange) -> None:
    """What a reader promises the engine: every field of the type it is declared to be."""
    assert type(exchange.id) is str
    assert is_time(exchange.started) and (exchange.ended is None or is_time(exchange.ended))
    request, response = exchange.request, exchange.response
    assert type(request.method) is str and type(request.url) is str
    assert type(request.body) is bytes
    _check_headers(request.headers)
    if response is not None:
        assert is_status(response.status)
        assert type(response.reason) is str and type(response.body_head) is str
        _check_headers(response.headers)
    for text in (exchange.error, exchange.browser_error):
        assert text is None or type(text) is str


def _check_headers(headers: Headers) -> None:
    assert type(headers.pairs) is tuple
    for name, value in headers.pairs:
        assert type(name) is str and type(value) is str


def run_one(path: Path) -> str:
    """'ok', or 'traceback' with the traceback printed after a newline."""
    try:
        exchanges = read_capture(path)
        for _ in Analyzer().run(_checked(exchanges)):
            pass
    except CaptureError:
        pass
    except MemoryError:
        return "memory"
    except Exception:  # the finding: anything else is a bug
        return "traceback\n" + traceback.format_exc()
    return "ok"


def _checked(exchanges: Iterator[Exchange]) -> Iterator[Exchange]:
    for exchange in exchanges:
        check_exchange(exchange)
        yield exchange


@dataclass
class Finding:
    index: int
    kind: str
    how: str
    outcome: str  # traceback, hang, memory, crash
    detail: str = ""


@dataclass
class Summary:
    inputs: int = 0
    tracebacks: int = 0
    hangs: int = 0
    memory: int = 0  # RLIMIT_AS reached, or a child's RSS above RSS_BUDGET_MB
    crashes: int = 0  # a child that died otherwise
    peak_rss_mb: float = 0.0
    findings: list[Finding] = field(default_factory=list)
    by_format: Counter[str] = field(default_factory=Counter)  # inputs run of each format
    peak_by_format: dict[str, float] = field(default_factory=dict)

    def add(self, finding: Finding) -> None:
        attribute = {"traceback": "tracebacks", "hang": "hangs", "memory": "memory"}
        name = attribute.get(finding.outcome, "crashes")
        setattr(self, name, getattr(self, name) + 1)
        self.findings.append(finding)

    def __str__(self) -> str:
        return (
            f"{self.inputs} inputs: {self.tracebacks} tracebacks, {self.hangs} hangs, "
            f"{self.memory} memory-cap hits, {self.crashes} crashes; "
            f"peak RSS {self.peak_rss_mb:.0f} MB"
        ) + "".join(
            f"; {kind} {count} (peak {self.peak_by_format[kind]:.0f} MB)"
            for kind, count in sorted(self.by_format.items())
        )


def _child(corpus: Corpus, seed: int, indexes: range, path: Path, out: int) -> None:
    """Run inputs in a forked child, each written to `path`; one line per input to `out`:
    index, outcome, RSS."""
    cap = _vm_size() + ADDRESS_CAP
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    base = _current_rss_mb()
    counted_base = min(base, FRESH_BASE_MB)
    for index in indexes:
        kind, _, data = corpus.make(seed, index)
        path.write_bytes(data)
        del data
        os.write(out, f"start {index}\n".encode())
        _reset_peak_rss()  # the input's making is not the reader's memory
        outcome = run_one(path)
        rss = _peak_rss_mb() - base + counted_base
        line = json.dumps({"index": index, "kind": kind, "outcome": outcome, "rss": rss})
        os.write(out, line.encode() + b"\n")


def _reset_peak_rss() -> None:
    # Linux: VmHWM := the current RSS. Elsewhere the peak is the child's since it started.
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _status_kb(field: str) -> int | None:
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    found = re.search(rf"{field}:\s+(\d+)", status)
    return int(found.group(1)) if found else None


def _current_rss_mb() -> float:
    kb = _status_kb("VmRSS")
    return kb / 1024 if kb is not None else _peak_rss_mb()


def _vm_size() -> int:
    """The address space the child already has, in bytes (a fork shares its parent's)."""
    kb = _status_kb("VmSize")
    return kb * 1024 if kb is not None else 0


def _peak_rss_mb() -> float:
    try:
        status = Path("/proc/self/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]
    except (OSError, AttributeError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _lines(read_end: int, timeout: float) -> Iterator[str | None]:
    """The child's lines; None when `timeout` passes with no line."""
    pending = b""
    while True:
        if b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            yield line.decode()
            continue
        ready, _, _ = select.select([read_end], [], [], timeout)
        if not ready:
            yield None
            continue
        more = os.read(read_end, 1 << 16)
        if not more:
            return
        pending += more


def fuzz(
    count: int,
    seconds: float,
    seed: int = 0,
    timeout: float = 10.0,
    batch: int = 500,
    corpus: Corpus | None = None,
    progress: Callable[[Summary], object] | None = None,
) -> Summary:
    """Run up to `count` inputs for up to `seconds`, `batch` at a time in a forked child;
    `progress` is told after each batch."""
    corpus = corpus or Corpus()
    deadline = time.monotonic() + seconds
    summary = Summary()
    index = 0
    # The parent's: a child killed by the watchdog cannot clean up after itself.
    with tempfile.TemporaryDirectory(prefix="fuzz-") as directory:
        path = Path(directory) / "input"
        while index < count and time.monotonic() < deadline:
            indexes = range(index, min(index + batch, count))
            index = _batch(corpus, seed, indexes, path, timeout, summary)
            if progress:
                progress(summary)
    return summary


def _batch(
    corpus: Corpus, seed: int, indexes: range, path: Path, timeout: float, summary: Summary
) -> int:
    """Run a batch in a child; the index to go on from (past a hang or a crash)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read_end)
        code = 0
        try:
            _child(corpus, seed, indexes, path, write_end)
        except BaseException:
            code = 1
        os._exit(code)
    os.close(write_end)
    running = None
    next_index = indexes.start
    try:
        for line in _lines(read_end, timeout):
            if line is None:  # the watchdog: an input that runs too long is a hang
                if running is not None:
                    os.kill(pid, signal.SIGKILL)
                    _record(summary, corpus, seed, running, "hang", f"over {timeout} s")
                    return running + 1
                continue
            if line.startswith("start "):
                running = int(line.split()[1])
                continue
            result = json.loads(line)
            running = None
            next_index = result["index"] + 1
            summary.inputs += 1
            summary.peak_rss_mb = max(summary.peak_rss_mb, result["rss"])
            kind = result["kind"]
            summary.by_format[kind] += 1
            summary.peak_by_format[kind] = max(summary.peak_by_format.get(kind, 0), result["rss"])
            outcome, _, detail = result["outcome"].partition("\n")
            if result["rss"] > RSS_BUDGET_MB:
                outcome, detail = "memory", f"RSS {result['rss']:.0f} MB"
            if outcome != "ok":
                _record(summary, corpus, seed, result["index"], outcome, detail)
    finally:
        os.close(read_end)
        _, status = os.waitpid(pid, 0)
    if running is not None:  # the child died inside an input
        _record(summary, corpus, seed, running, "crash", f"wait status {status}")
        return running + 1
    if next_index < indexes.stop:  # the child died making an input: a harness bug, skip it
        _record(summary, corpus, seed, next_index, "crash", f"making it: status {status}")
        return next_index + 1
    return next_index


def _record(
    summary: Summary, corpus: Corpus, seed: int, index: int, outcome: str, detail: str
) -> None:
    kind, how, _ = corpus.make(seed, index)
    summary.add(Finding(index, kind, how, outcome, detail))
    if outcome in ("hang", "crash"):
        summary.inputs += 1
        summary.by_format[kind] += 1


def save_findings(summary: Summary, corpus: Corpus, seed: int, directory: Path, most: int) -> None:
    """The first `most` failing inputs, and what happened, for reproduction."""
    directory.mkdir(parents=True, exist_ok=True)
    for finding in summary.findings[:most]:
        kind, how, data = corpus.make(seed, finding.index)
        stem = directory / f"{finding.outcome}-{seed}-{finding.index}"
        stem.with_suffix(f".{kind}").write_bytes(data)
        stem.with_suffix(".txt").write_text(f"{how}\n{finding.detail}\n")
