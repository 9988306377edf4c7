"""The commands: each reads its arguments, runs the job through the adapters, and returns
an ExitStatus."""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ..engine import Decision
from ..judge import judge_captures
from ..readers import CaptureError, CaptureNote, open_input
from ..redact import open_private
from .parser import bundled_sample
from .progress import reading_progress
from .status import CliError, ExitStatus

if TYPE_CHECKING:
    from rich.console import RenderableType

    from ..mitm.proxy import ProxySettings

COLLECT_EVERY = 1_000  # JSON records between two collections of their encoders' cycles
COPY_CHUNK = 1 << 20  # stdin copied for the text report's second pass, a megabyte at a time

KEEP = {
    "all": lambda decision: True,
    "cors": lambda decision: decision.is_cors,
    "blocked": lambda decision: decision.verdict == "blocked",
}
ONLY_WORDS = {"all": "all", "cors": "CORS only", "blocked": "blocked only"}


def _capture_paths(args: argparse.Namespace) -> list[Path]:
    if args.files:
        return list(args.files)
    sample = bundled_sample()
    print(f"No capture given: analysing the bundled sample {sample.name}.", file=sys.stderr)
    return [sample]


def _report_problems(problems: list[CaptureError], notes: list[CaptureNote]) -> None:
    for note in notes:
        print(f"cors-inspector: note: {note}", file=sys.stderr)
    for problem in problems:
        print(f"cors-inspector: error: {problem}", file=sys.stderr)


def run_analyze(args: argparse.Namespace) -> ExitStatus:
    paths = _capture_paths(args)
    # In a terminal, page loads and same-origin requests are noise; machine formats are whole.
    only = args.only or ("cors" if args.format == "text" else "all")
    keep = KEEP[only]
    problems: list[CaptureError] = []
    notes: list[CaptureNote] = []
    if args.format == "text":
        blocked = _analyze_text(paths, keep, ONLY_WORDS[only], problems, notes)
    else:
        blocked = False
        sys.stdout.flush()
        out = sys.stdout.buffer  # UTF-8 straight from the encoder
        # Lines streaming to the terminal itself would tear a progress bar drawn between them.
        shown = nullcontext(None) if sys.stdout.isatty() else reading_progress(paths)
        with shown as progress, JsonWriter(out, args.format) as write:
            for decision in judge_captures(paths, problems, progress, notes):
                blocked = blocked or decision.verdict == "blocked"
                if keep(decision):
                    write(decision)
        out.flush()
    _report_problems(problems, notes)
    if problems:
        return ExitStatus.UNREADABLE
    return ExitStatus.BLOCKED if blocked else ExitStatus.OK


class JsonWriter:
    """Records written as they come: one a line (`jsonl`), or the items of one array
    (`json`, laid out as json.dump(..., indent=1) lays it out)."""

    def __init__(self, out: BinaryIO, layout: str) -> None:
        from ..output.records import to_json_bytes, to_record

        self.out = out
        self.lines = layout == "jsonl"
        self._to_bytes, self._to_record = to_json_bytes, to_record
        self._written = 0

    def __enter__(self) -> Callable[[Decision], None]:
        return self.write

    def write(self, decision: Decision) -> None:
        if self.lines:
            self.out.write(self._to_bytes(decision) + b"\n")
            return
        record = self._to_record(decision)
        try:
            text = json.dumps(record, ensure_ascii=False, indent=1).encode()
        except UnicodeEncodeError:  # a lone surrogate (a HAR's \ud800 escape): escape it
            text = json.dumps(record, indent=1).encode()
        self.out.write(b",\n " if self._written else b"[\n ")
        self.out.write(text.replace(b"\n", b"\n "))
        self._written += 1
        if self._written % COLLECT_EVERY == 0:
            gc.collect(0)  # json's indenting encoder makes a reference cycle per call

    def __exit__(self, *exc_info: object) -> None:
        if not self.lines:
            self.out.write(b"\n]\n" if self._written else b"[]\n")


def _analyze_text(
    paths: list[Path],
    keep: Callable[[Decision], bool],
    kept: str,
    problems: list[CaptureError],
    notes: list[CaptureNote],
) -> bool:
    """The text report, in two passes over the captures: the table as the decisions come,
    then each blocked request explained with its fix, which needs every request of its
    backend (folded, not kept, on the first pass). True when something was blocked."""
    from rich.console import Console

    from ..engine.origins import origin_of
    from ..fix import Folder, suggestions_of
    from ..output.fix import FixesByRequest
    from ..output.text import print_report

    folder = Folder()
    fixes: dict[str, FixesByRequest] = {}
    blocked = False

    def first_pass() -> Iterator[Decision]:
        nonlocal blocked
        with reading_progress(readable) as progress:
            for decision in judge_captures(readable, found, progress, notes):
                blocked = blocked or decision.verdict == "blocked"
                folder.add(decision)
                yield decision

    def second_pass() -> Iterable[Decision]:
        if blocked:
            fixes.update((s.backend, FixesByRequest(s)) for s in suggestions_of(folder))
        return judge_captures(readable, [])  # what was wrong was said on the first pass

    def fix_for(decision: Decision) -> RenderableType | None:
        found_fix = fixes.get(origin_of(decision.url) or "")
        return found_fix(decision) if found_fix else None

    found: list[CaptureError] = []
    with readable_twice(paths) as readable:
        print_report(Console(), first_pass(), keep, kept, second_pass, fix_for)
    given = dict(zip(readable, paths, strict=True))
    problems += (CaptureError(given[p.path], p.problem) for p in found)
    notes[:] = [CaptureNote(given.get(n.path, n.path), n.note) for n in notes]
    return blocked


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


def run_fix(args: argparse.Namespace) -> ExitStatus:
    from ..fix import fold, suggestions_of
    from ..output.fix import fix_panel, suggestion_record

    problems: list[CaptureError] = []
    notes: list[CaptureNote] = []
    paths = _capture_paths(args)
    with reading_progress(paths) as progress:
        folder = fold(judge_captures(paths, problems, progress, notes))
    wanted = args.backend and args.backend.rstrip("/")
    suggestions = (s for s in suggestions_of(folder) if not wanted or s.backend == wanted)
    unresolved = shown = 0
    if args.format == "json":
        sys.stdout.write("[")
    else:
        from rich.console import Console

        console = Console()
    # Made, printed and let go one backend at a time: a suggestion holds its checks.
    for suggestion in suggestions:
        unresolved += bool(
            (suggestion.verification and not suggestion.verification.ok)
            or any(o.blocked for o in suggestion.uncovered)
        )
        if args.format == "json":
            record = json.dumps(suggestion_record(suggestion), ensure_ascii=False, indent=1)
            sys.stdout.write((",\n " if shown else "\n ") + record.replace("\n", "\n "))
        else:
            console.print(fix_panel(suggestion))
        shown += 1
    if args.format == "json":
        sys.stdout.write("\n]\n" if shown else "]\n")
    elif not shown:
        console.print("Nothing blocked: no fix needed.")
    if wanted and not shown:
        print(f"cors-inspector: nothing blocked for backend {wanted}", file=sys.stderr)
    _report_problems(problems, notes)
    if problems:
        return ExitStatus.UNREADABLE
    return ExitStatus.BLOCKED if unresolved else ExitStatus.OK


def proxy_settings(args: argparse.Namespace) -> ProxySettings:
    """The options of add_proxy_arguments, for the proxy command and the live TUI."""
    from ..mitm.proxy import ProxySettings

    return ProxySettings(
        listen_host=args.listen_host,
        listen_port=args.listen_port,
        log=args.log,
        save=args.save,
        redact=not args.no_redact,
        cors_only=not args.all,
    )


def run_proxy_command(args: argparse.Namespace) -> int:
    from ..mitm.proxy import ProxyStartError, run_proxy

    try:
        return run_proxy(proxy_settings(args))
    except ProxyStartError as error:
        raise CliError(str(error)) from None


def _no_terminal(alternative: str) -> bool:
    """True, after saying so, when there is no terminal for the TUI (a pipe, a script)."""
    if sys.stdin.isatty() and sys.stdout.isatty():
        return False
    print(f"cors-inspector: error: the TUI needs a terminal; {alternative}", file=sys.stderr)
    return True


def run_open(args: argparse.Namespace) -> ExitStatus:
    from ..tui.app import CorsInspectorApp
    from ..tui.store import Store

    if _no_terminal("without one, use cors-inspector analyze FILE..."):
        return ExitStatus.UNREADABLE
    app = CorsInspectorApp(Store(keep=args.keep), files=args.files)
    app.run()
    return ExitStatus.UNREADABLE if app.problems else ExitStatus.OK


def run_live_tui(args: argparse.Namespace) -> ExitStatus:
    from ..mitm.proxy import warn_if_exposed
    from ..tui.app import CorsInspectorApp
    from ..tui.store import Store

    if _no_terminal("without one, use cors-inspector proxy"):
        return ExitStatus.UNREADABLE
    warn_if_exposed(args.listen_host)
    store = Store(keep=args.keep, scope="all" if args.all else "cors")
    app = CorsInspectorApp(store, proxy=proxy_settings(args))
    app.run()
    return ExitStatus.UNREADABLE if app.proxy_failed else ExitStatus.OK


def run_browser_command(args: argparse.Namespace) -> int:
    from ..browsers.chromium import run_browser

    return run_browser(args.url, args.proxy_host, args.proxy_port, args.headless)


def run_replay(args: argparse.Namespace) -> ExitStatus:
    from ..output.replay import print_replay, replay_records
    from ..replay import ReplayError, choose_observations, replay

    supplied = {}
    for header in args.header:
        name, sep, value = header.partition(":")
        if not sep or not name.strip():
            raise CliError(f"--header wants 'Name: value', got {header!r}")
        supplied[name.strip()] = value.strip()
    problems: list[CaptureError] = []
    notes: list[CaptureNote] = []
    decisions = list(judge_captures([args.file], problems, notes=notes))
    _report_problems(problems, notes)
    if problems:
        return ExitStatus.UNREADABLE
    try:
        observations = choose_observations(
            decisions, args.to, args.backend and args.backend.rstrip("/"), args.only == "blocked"
        )
    except ReplayError as error:
        raise CliError(str(error)) from None
    results = replay(observations, args.to, supplied)
    if args.format == "json":
        json.dump(replay_records(results), sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    else:
        from rich.console import Console

        print_replay(Console(), results, args.to)
    unresolved = any(r.outcome in ("still blocked", "newly broken", "failed") for r in results)
    return ExitStatus.BLOCKED if unresolved else ExitStatus.OK


COMMANDS = {
    "analyze": run_analyze,
    "fix": run_fix,
    "proxy": run_proxy_command,
    "browser": run_browser_command,
    "open": run_open,
    "replay": run_replay,
}
