"""The commands: each reads its arguments, runs the job through the adapters, and returns
an ExitStatus."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from ..engine import Decision
from ..judge import judge_captures, readable_twice
from ..readers import CaptureError, CaptureNote
from .parser import bundled_sample
from .progress import reading_progress
from .status import CliError, ExitStatus

if TYPE_CHECKING:
    from ..browsers.attach import AttachPoint
    from ..browsers.bidi import FirefoxBridge
    from ..browsers.bridge import Bridge
    from ..fix import Suggestion
    from ..mitm.proxy import ProxySettings
    from ..output.code import Block


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
        redact = not args.no_redact
        blocked = _analyze_text(paths, keep, ONLY_WORDS[only], redact, problems, notes)
    else:
        from ..output.records import JsonWriter

        blocked = False
        sys.stdout.flush()
        out = sys.stdout.buffer  # UTF-8 straight from the encoder
        # Lines streaming to the terminal itself would tear a progress bar drawn between them.
        shown = nullcontext(None) if sys.stdout.isatty() else reading_progress(paths)
        with shown as progress, JsonWriter(out, args.format) as writer:
            for decision in judge_captures(
                paths, problems, progress, notes, redact=not args.no_redact
            ):
                blocked = blocked or decision.verdict == "blocked"
                if keep(decision):
                    writer.write(decision)
        out.flush()
    _report_problems(problems, notes)
    if problems:
        return ExitStatus.UNREADABLE
    return ExitStatus.BLOCKED if blocked else ExitStatus.OK


def _backend_origin(typed: str) -> str:
    """The origin a user means by `localhost:8000`, `http://localhost:8000/` or
    `HTTP://localhost:80`: scheme (http when none), host and port, default port dropped."""
    from ..engine.origins import origin_of

    text = typed.strip()
    return origin_of(text if "://" in text else f"http://{text}") or text.rstrip("/")


def _analyze_text(
    paths: list[Path],
    keep: Callable[[Decision], bool],
    kept: str,
    redact: bool,
    problems: list[CaptureError],
    notes: list[CaptureNote],
) -> bool:
    """The text report: the table as the decisions come, then each blocked request explained
    with its fix, which needs every request of its backend. When something is to be
    explained, the captures are read twice more: to fold each backend's requests into its
    fix, then to explain, so that no pass holds the table's renderables and the fold at
    once (memory: the largest pass, not their sum). True when something was blocked."""
    from rich.console import Console

    from ..engine.origins import origin_of
    from ..fix import fold, suggestions_of
    from ..output.fix import FixesByRequest
    from ..output.text import print_report

    fixes: dict[str, FixesByRequest] = {}
    blocked = False
    found: list[CaptureError] = []

    def first_pass() -> Iterator[Decision]:
        nonlocal blocked
        with reading_progress(readable) as progress:
            for decision in judge_captures(readable, found, progress, notes, redact=redact):
                blocked = blocked or decision.verdict == "blocked"
                yield decision

    def again() -> Iterable[Decision]:
        # What was wrong with a file was said on the first pass.
        with reading_progress(readable) as progress:
            folder = fold(judge_captures(readable, [], progress, redact=redact))
        fixes.update((s.backend, FixesByRequest(s)) for s in suggestions_of(folder))
        return judge_captures(readable, [], redact=redact)

    def fix_for(decision: Decision) -> Sequence[Block]:
        fixes_there = fixes.get(origin_of(decision.url) or "")
        return fixes_there(decision) if fixes_there else ()

    with readable_twice(paths) as readable:
        print_report(Console(), first_pass(), keep, kept, again, fix_for)
    # Problems and notes name the files as given, not their copies.
    given = dict(zip(readable, paths, strict=True))
    problems += (CaptureError(given.get(p.path, p.path), p.problem) for p in found)
    notes[:] = [CaptureNote(given.get(n.path, n.path), n.note) for n in notes]
    return blocked


def run_fix(args: argparse.Namespace) -> ExitStatus:
    from ..fix import fold, suggestions_of
    from ..output.fix import print_fix, print_nothing_blocked, python_source, suggestion_record
    from ..output.records import JsonWriter

    problems: list[CaptureError] = []
    notes: list[CaptureNote] = []
    paths = _capture_paths(args)
    with reading_progress(paths) as progress:
        folder = fold(judge_captures(paths, problems, progress, notes, redact=not args.no_redact))
    wanted = ""
    if args.backend:
        wanted = _backend_origin(args.backend)
        if wanted not in folder.origins():
            _report_problems(problems, notes)
            seen = ", ".join(folder.origins()) or "none"
            raise CliError(f"no backend {wanted} in the capture; backends seen: {seen}")
    unresolved = False

    def shown() -> Iterator[Suggestion]:
        """Made, shown and let go one backend at a time (a suggestion holds its checks),
        noting whether any leaves something blocked."""
        nonlocal unresolved
        for suggestion in suggestions_of(folder, hidden=True, only=wanted):
            verification = suggestion.verification
            unresolved = unresolved or bool(
                (verification and not verification.ok)
                or any(o.blocked for o in suggestion.uncovered)
            )
            yield suggestion

    if args.format == "json":
        sys.stdout.flush()
        with JsonWriter(sys.stdout.buffer, "json") as writer:
            for suggestion in shown():
                writer.write_record(suggestion_record(suggestion))
    elif args.format == "python":
        sys.stdout.write(python_source(shown()))
    else:
        from rich.console import Console

        console = Console()
        # Backends with nothing blocked: told of only when nothing is blocked anywhere.
        hidden_only: list[Suggestion] = []
        needed = False
        for suggestion in shown():
            if suggestion.needed:
                needed = True
                print_fix(console, suggestion)
            else:
                hidden_only.append(suggestion)
        if not needed and not problems:  # an unreadable file gets its error, not a verdict
            print_nothing_blocked(console, hidden_only)
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
        proxy_auth=args.proxy_auth or "",
    )


def check_browser_options(args: argparse.Namespace) -> None:
    """--with-browser and its options belong to the live proxy (with or without the TUI)."""
    live = args.command in (None, "proxy")
    if getattr(args, "with_browser", False) and not live:
        raise CliError(
            f"--with-browser starts a browser through the live proxy: use it with "
            f"cors-inspector or cors-inspector proxy, not {args.command}"
        )
    if live and args.url is not None and not args.with_browser:
        raise CliError("--url is the page --with-browser opens: add --with-browser")
    if live and args.firefox and not args.with_browser:
        raise CliError("--firefox says which browser --with-browser starts: add --with-browser")


def start_bridge(
    args: argparse.Namespace, on_lost: Callable[[str], None]
) -> Bridge | FirefoxBridge:
    """The throwaway Chromium (Firefox with --firefox) of --with-browser, attached, opening
    --url once the proxy listens."""
    import subprocess

    from ..browsers.bidi import FirefoxBridge
    from ..browsers.bridge import Bridge
    from ..browsers.chromium import find_browser
    from ..browsers.firefox import find_firefox

    executable = find_firefox() if args.firefox else find_browser()
    if executable is None and args.firefox:
        raise CliError(
            "--with-browser --firefox needs Firefox: apt-get install firefox-esr libnss3-tools"
        )
    if executable is None:
        raise CliError("--with-browser needs Chromium or Chrome: apt-get install chromium")
    kind = FirefoxBridge if args.firefox else Bridge
    try:
        bridge = kind(
            executable,
            args.listen_host if args.listen_host not in ("", "0.0.0.0", "::") else "127.0.0.1",
            args.listen_port,
            args.url or "about:blank",
            args.headless,
            on_lost,
        )
    except (OSError, subprocess.CalledProcessError) as error:
        raise CliError(f"cannot start the browser: {error}") from None
    bridge.start()
    return bridge


def bridge_line(bridge: Bridge | FirefoxBridge) -> str:
    channel = (
        "over WebDriver BiDi" if bridge.pairing.browser == "firefox" else ("over its DevTools pipe")
    )
    name = "Firefox" if bridge.pairing.browser == "firefox" else "Chromium"
    return f"{name} attached {channel} (pid {bridge.pid}), opening {bridge.url}"


def attach_point(
    proxy_port: int, on_attached: Callable[[str], None], on_lost: Callable[[str], None]
) -> AttachPoint:
    """Where `cors-inspector browser --proxy-port PORT` attaches its browser to this proxy."""
    from ..browsers.attach import AttachPoint

    return AttachPoint(proxy_port, on_attached, on_lost)


def _say(line: str) -> None:
    print(f"cors-inspector: {line}", file=sys.stderr, flush=True)


def run_proxy_command(args: argparse.Namespace) -> int:
    from ..mitm.proxy import ProxyStartError, run_proxy

    settings = proxy_settings(args)
    try:
        if not args.with_browser:
            attach = attach_point(settings.listen_port, _say, _say)
            try:
                return run_proxy(settings, companion=attach)
            finally:
                attach.close()
        bridge = start_bridge(args, _say)
        _say(bridge_line(bridge))
        try:
            return run_proxy(settings, companion=bridge.pairing)
        finally:
            bridge.close()
            _say(f"browser bridge: {bridge.pairing.counts.line()}")
    except ProxyStartError as error:
        raise CliError(str(error)) from None


def _no_terminal(alternative: str) -> bool:
    """True, after saying so, when there is no terminal for the TUI (a pipe, a script)."""
    if sys.stdin.isatty() and sys.stdout.isatty():
        return False
    print(f"cors-inspector: error: the TUI needs a terminal; {alternative}", file=sys.stderr)
    return True


def run_open(args: argparse.Namespace) -> int:
    from ..tui.app import CorsInspectorApp
    from ..tui.store import Store

    if any(str(path) == "-" for path in args.files):
        raise CliError(
            "open reads its keys from the terminal, so not a capture from standard input (-): "
            "give a file, a FIFO or <(command), or use cors-inspector analyze -"
        )
    if _no_terminal("without one, use cors-inspector analyze FILE..."):
        return ExitStatus.UNREADABLE
    app = CorsInspectorApp(Store(keep=args.keep), files=args.files)
    app.run()
    if app.return_code:  # the app failed (Textual has printed why): never exit 0
        return app.return_code
    return ExitStatus.UNREADABLE if app.problems else ExitStatus.OK


def run_live_tui(args: argparse.Namespace) -> int:
    from ..mitm.proxy import warn_if_exposed
    from ..tui.app import CorsInspectorApp
    from ..tui.store import Store

    if _no_terminal("without one, use cors-inspector proxy"):
        return ExitStatus.UNREADABLE
    warn_if_exposed(args.listen_host)
    store = Store(keep=args.keep, scope="all" if args.all else "cors")
    if not args.with_browser:
        attach = attach_point(args.listen_port, _say, _say)
        app = CorsInspectorApp(store, proxy=proxy_settings(args), companion=attach)
        attach.on_attached, attach.on_lost = app.browser_attached, app.browser_detached
        try:
            app.run()
        finally:
            attach.close()
    else:
        bridge = start_bridge(args, _say)
        app = CorsInspectorApp(store, proxy=proxy_settings(args), companion=bridge.pairing)
        bridge.on_lost = app.browser_lost  # from now on the status bar says it
        try:
            app.run()
        finally:
            bridge.close()
        _say(f"browser bridge: {bridge.pairing.counts.line()}")
    if app.proxy_failed:
        return ExitStatus.UNREADABLE
    return app.return_code or ExitStatus.OK  # non-zero: the app failed, Textual said why


def run_browser_command(args: argparse.Namespace) -> int:
    from ..browsers.launch import run_browser

    return run_browser(args.url, args.proxy_host, args.proxy_port, args.headless, args.firefox)


def run_replay(args: argparse.Namespace) -> ExitStatus:
    from ..output.replay import print_replay, replay_records
    from ..replay import ReplayError, check_reachable, choose_observations, redacted_notes, replay

    supplied = {}
    for header in args.header:
        name, sep, value = header.partition(":")
        if not sep or not name.strip():
            raise CliError(f"--header wants 'Name: value', got {header!r}")
        supplied[name.strip()] = value.strip()
    problems: list[CaptureError] = []
    notes: list[CaptureNote] = []
    decisions = list(judge_captures([args.file], problems, notes=notes, redact=not args.no_redact))
    _report_problems(problems, notes)
    if problems:
        return ExitStatus.UNREADABLE
    try:
        observations = choose_observations(
            decisions, args.to, args.backend and args.backend.rstrip("/"), args.only == "blocked"
        )
    except ReplayError as error:
        raise CliError(str(error)) from None
    try:
        check_reachable(args.to)
    except ReplayError as error:  # exit 1, as for a request that got no answer
        raise CliError(str(error), ExitStatus.BLOCKED) from None
    results = replay(observations, args.to, supplied, redact=not args.no_redact)
    for note in redacted_notes(observations, supplied):
        print(f"cors-inspector: note: {note}", file=sys.stderr)
    if missing := sum(result.body_missing for result in results):
        print(
            f"cors-inspector: note: {missing} request{'s' if missing != 1 else ''} re-sent "
            "without the body the capture did not keep (a Chrome NetLog keeps no request "
            "bodies); CORS does not depend on it, but the server's answer may",
            file=sys.stderr,
        )
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
