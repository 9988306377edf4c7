"""The `cors-inspector` command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from .. import __version__
from ..judge import BytesDone, ProgressReport, judge_captures
from ..readers import Capture, CaptureError

if TYPE_CHECKING:
    from rich.console import Console

    from ..mitm.proxy import ProxySettings

EXIT_OK, EXIT_BLOCKED, EXIT_UNREADABLE = 0, 1, 2
ONLY = {
    "all": lambda decision: True,
    "cors": lambda decision: decision.is_cors,
    "blocked": lambda decision: decision.verdict == "blocked",
}
ONLY_WORDS = {"all": "all", "cors": "CORS only", "blocked": "blocked only"}

DESCRIPTION = """\
See why the browser blocked a cross-origin request.

cors-inspector rebuilds Chromium's CORS decision for every request in a capture, step by
step as the WHATWG Fetch standard runs it, and says in plain words what failed and why.
"""

MAIN_EPILOG = """\
examples:
  cors-inspector                               the TUI over a live proxy on 127.0.0.1:8080
  cors-inspector --listen-port 9090 --save flows.mitm
  cors-inspector browser http://localhost:3000 in another terminal: a browser through it
  cors-inspector open flows.mitm session.har   the TUI over saved captures
  cors-inspector analyze flows.mitm            a report in the terminal, no TUI
  cors-inspector fix flows.mitm                the verified CORSMiddleware change

Without a command, cors-inspector runs the proxy with the TUI: every request through it
appears as the browser judged it (Enter: why; f: the fix; ?: all keys). The options above
(--listen-host ... --all) are the proxy command's. `cors-inspector COMMAND --help` for more.
"""

OPEN_EPILOG = """\
examples:
  cors-inspector open flows.mitm               a mitmproxy capture
  cors-inspector open session.har --keep 10000 a HAR; keep only the newest 10000 requests

Enter shows why a request was allowed or blocked, f the verified fix; ? lists every key.
"""

ANALYZE_EPILOG = """\
examples:
  cors-inspector analyze                       analyse the bundled sample capture
  cors-inspector analyze flows.mitm            a mitmproxy capture (mitmdump -w flows.mitm)
  cors-inspector analyze session.har           a HAR exported from Chrome or Firefox DevTools
  cors-inspector analyze a.mitm b.har --only blocked
  cors-inspector analyze flows.mitm --format jsonl > decisions.jsonl

Files are recognised by their content, not their name. Requests are judged in capture
order: a preflight is paired with the actual request it served.

exit status: 0 nothing blocked, 1 something blocked, 2 an input could not be read
(what could be read is still reported).
"""


FIX_EPILOG = """\
examples:
  cors-inspector fix flows.mitm                       every backend that blocked something
  cors-inspector fix flows.mitm --backend http://localhost:8000
  cors-inspector fix a.mitm b.har --format json

For each backend origin, the smallest app.add_middleware(CORSMiddleware, ...) that makes
every blocked request pass, merged across everything seen for that backend. Before it is
shown, the real Starlette CORSMiddleware runs with it on every captured request to that
backend, and the engine judges its answers. Errors no CORS setting can fix (a 500 without
CORS headers, a redirect on a preflight, Origin null, ...) are named for what they are.

exit status: 0 every suggested fix is verified, 1 a fix still leaves requests blocked or a
blocked request needs a non-CORS fix, 2 an input could not be read.
"""


PROXY_EPILOG = """\
examples:
  cors-inspector proxy                                 listen on 127.0.0.1:8080
  cors-inspector proxy --log decisions.jsonl --save flows.mitm
  cors-inspector browser http://localhost:3000         in another terminal

The same addon runs under mitmproxy's own tools:
  mitmdump -s addons/cors_inspector.py --set cors_log=decisions.jsonl
"""


BROWSER_EPILOG = """\
examples:
  cors-inspector                                   terminal 1: the proxy and the TUI
  cors-inspector browser http://localhost:3000     terminal 2: your page, through the proxy
  cors-inspector browser --proxy-port 9090 http://localhost:5173

Chromium or Chrome is looked up on the PATH (and in /Applications on macOS). The profile is
deleted when the browser exits. Without either, it says how to set up Firefox instead.
"""


def bundled_sample() -> Path:
    return Path(str(resources.files("cors_inspector") / "samples" / "demo.mitm"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cors-inspector",
        description=DESCRIPTION,
        epilog=MAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_proxy_arguments(parser)  # for the live TUI, which runs without a command
    add_keep_argument(parser, DEFAULT_KEEP)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    analyze = commands.add_parser(
        "analyze",
        help="judge every request of saved captures (.mitm or HAR)",
        description="Judge every request of saved captures as Chromium would.",
        epilog=ANALYZE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    analyze.add_argument(
        "files",
        nargs="*",
        type=Path,
        metavar="FILE",
        help="mitmproxy flow files or HAR files (default: the bundled sample)",
    )
    analyze.add_argument(
        "--format",
        choices=("text", "json", "jsonl"),
        default="text",
        help="text: a table, then why each blocked request failed (default); json: one "
        "array; jsonl: one JSON object per request, in capture order (schema in README)",
    )
    analyze.add_argument(
        "--only",
        choices=tuple(ONLY),
        help="which requests to report: all, cors (preflights and CORS requests) or blocked "
        "(default: cors for text, all for json and jsonl)",
    )
    fix = commands.add_parser(
        "fix",
        help="the CORSMiddleware configuration that makes blocked requests pass, verified",
        description="Suggest, and verify with the real Starlette, the CORSMiddleware change "
        "per backend.",
        epilog=FIX_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fix.add_argument(
        "files",
        nargs="*",
        type=Path,
        metavar="FILE",
        help="mitmproxy flow files or HAR files (default: the bundled sample)",
    )
    fix.add_argument(
        "--backend", metavar="ORIGIN", help="only this backend, e.g. http://localhost:8000"
    )
    fix.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text (default) or json: one object per backend",
    )
    proxy = commands.add_parser(
        "proxy",
        help="run the proxy headless, one coloured line per CORS request",
        description="Run mitmproxy with cors-inspector in this process, without the TUI.",
        epilog=PROXY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_proxy_arguments(proxy, inherit=True)
    browser = commands.add_parser(
        "browser",
        help="start Chromium/Chrome with a throwaway profile pointed at the proxy",
        description="Start Chromium or Chrome with a throwaway profile that sends everything "
        "(localhost included) through the proxy and trusts mitmproxy's certificate for that "
        "profile only. Start the proxy first (cors-inspector, or cors-inspector proxy).",
        epilog=BROWSER_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    browser.add_argument(
        "url",
        nargs="?",
        default="about:blank",
        metavar="URL",
        help="the page to open (default: about:blank)",
    )
    browser.add_argument("--proxy-host", default="127.0.0.1", help="default: 127.0.0.1")
    browser.add_argument("--proxy-port", type=int, default=8080, help="default: 8080")
    browser.add_argument("--headless", action="store_true", help="no window (for scripts)")
    tui = commands.add_parser(
        "open",
        help="browse saved captures (.mitm or HAR) in the TUI",
        description="Browse saved captures in the TUI: every request as the browser judged it.",
        epilog=OPEN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tui.add_argument(
        "files", nargs="+", type=Path, metavar="FILE", help="mitmproxy flow files or HAR files"
    )
    add_keep_argument(tui, argparse.SUPPRESS)  # unset here: the top-level value stands
    add_replay_parser(commands)
    return parser


REPLAY_EPILOG = """\
examples:
  cors-inspector replay flows.mitm --to http://localhost:8000
  cors-inspector replay flows.mitm --to http://localhost:8000 --only blocked
  cors-inspector replay flows.mitm --to http://localhost:8000 --header "Authorization: Bearer x"

Each captured cross-origin request is re-sent as the browser would send it: the preflight
first when one is needed, then (if it passes) the actual request with the captured Origin,
method, headers and body, to the same path and query on --to. Values redacted in the capture
are left out unless you supply them with --header. The answers are judged as Chromium would.

exit status: 0 nothing is blocked now, 1 something is blocked (or got no answer), 2 the
capture could not be read or the request selection is ambiguous.
"""


def add_replay_parser(commands: argparse._SubParsersAction) -> None:
    replay = commands.add_parser(
        "replay",
        help="re-send captured requests to the fixed backend and judge them again",
        description="Re-send captured cross-origin requests as the browser would, to a "
        "(fixed) backend, and report before -> after for each.",
        epilog=REPLAY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    replay.add_argument("file", type=Path, metavar="FILE", help="a mitmproxy flow file or HAR")
    replay.add_argument(
        "--to",
        required=True,
        metavar="URL",
        help="the backend to send to, e.g. http://localhost:8000",
    )
    replay.add_argument(
        "--only",
        choices=("blocked", "all"),
        default="all",
        help="replay only what was blocked, or every request (default)",
    )
    replay.add_argument(
        "--backend",
        metavar="ORIGIN",
        help="which captured backend's requests, when there are several",
    )
    replay.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="send this header (e.g. a token the capture redacted); repeatable",
    )
    replay.add_argument("--format", choices=("text", "json"), default="text")


def add_proxy_arguments(parser: argparse.ArgumentParser, inherit: bool = False) -> None:
    """The proxy's options; with `inherit`, unset ones keep the top-level parser's values, so
    `cors-inspector --listen-port 9090 proxy` and `cors-inspector proxy --listen-port 9090`
    both work."""

    def default(value: object) -> object:
        return argparse.SUPPRESS if inherit else value

    parser.add_argument(
        "--listen-host",
        default=default("127.0.0.1"),
        help="address to listen on (default: 127.0.0.1, loopback only)",
    )
    parser.add_argument("--listen-port", type=int, default=default(8080), help="default: 8080")
    parser.add_argument(
        "--log",
        metavar="FILE",
        default=default(""),
        help="append one JSON line per decision (the jsonl schema), rotated",
    )
    parser.add_argument(
        "--save",
        metavar="FILE",
        default=default(""),
        help="save the flows to a mitmproxy file for replay and analyze",
    )
    parser.add_argument(
        "--no-redact",
        action="store_true",
        default=default(False),
        help="keep Cookie, Set-Cookie, Authorization, Proxy-Authorization and "
        "URL userinfo in what is written (redacted by default)",
    )
    parser.add_argument(
        "--all",
        action="store_true",
        default=default(False),
        help="log and print every request, not only CORS ones",
    )


DEFAULT_KEEP = 50_000


def add_keep_argument(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "--keep",
        type=int,
        metavar="N",
        default=default,
        help=f"the TUI keeps the newest N requests, dropping the oldest (default {DEFAULT_KEEP})",
    )


def _capture_paths(args: argparse.Namespace) -> list[Path]:
    if args.files:
        return list(args.files)
    sample = bundled_sample()
    print(f"No capture given: analysing the bundled sample {sample.name}.", file=sys.stderr)
    return [sample]


def _report_problems(problems: list[CaptureError]) -> None:
    for problem in problems:
        print(f"cors-inspector: error: {problem}", file=sys.stderr)


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


def run_analyze(args: argparse.Namespace) -> int:
    paths = _capture_paths(args)
    # In a terminal, page loads and same-origin requests are noise; machine formats are whole.
    only = args.only or ("cors" if args.format == "text" else "all")
    keep = ONLY[only]
    problems: list[CaptureError] = []
    blocked = False
    if args.format == "jsonl":
        from ..output.records import to_json_bytes

        sys.stdout.flush()
        out = sys.stdout.buffer  # UTF-8 lines straight from the encoder
        # Lines streaming to the terminal itself would tear a progress bar drawn between them.
        shown = nullcontext(None) if sys.stdout.isatty() else reading_progress(paths)
        with shown as progress:
            for decision in judge_captures(paths, problems, progress):
                blocked = blocked or decision.verdict == "blocked"
                if keep(decision):
                    out.write(to_json_bytes(decision) + b"\n")
        out.flush()
    else:
        with reading_progress(paths) as progress:
            everything = list(judge_captures(paths, problems, progress))
        blocked = any(decision.verdict == "blocked" for decision in everything)
        if args.format == "json":
            from ..output.records import to_record

            records = [to_record(d) for d in everything if keep(d)]
            json.dump(records, sys.stdout, ensure_ascii=False, indent=1)
            sys.stdout.write("\n")
        else:
            from rich.console import Console

            from ..engine.origins import origin_of
            from ..fix import suggestions_for
            from ..output.fix import fix_for_decision
            from ..output.text import print_report

            suggestions = suggestions_for(everything) if blocked else {}
            print_report(
                Console(),
                everything,
                keep,
                ONLY_WORDS[only],
                lambda d: fix_for_decision(d, suggestions.get(origin_of(d.url) or "")),
            )
    _report_problems(problems)
    if problems:
        return EXIT_UNREADABLE
    return EXIT_BLOCKED if blocked else EXIT_OK


def run_fix(args: argparse.Namespace) -> int:
    from ..fix import suggestions_for
    from ..output.fix import fix_panel, suggestion_record

    problems: list[CaptureError] = []
    paths = _capture_paths(args)
    with reading_progress(paths) as progress:
        suggestions = suggestions_for(judge_captures(paths, problems, progress))
    if args.backend:
        wanted = args.backend.rstrip("/")
        suggestions = {k: v for k, v in suggestions.items() if k == wanted}
        if not suggestions:
            print(f"cors-inspector: nothing blocked for backend {wanted}", file=sys.stderr)
    if args.format == "json":
        records = [suggestion_record(s) for s in suggestions.values()]
        json.dump(records, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    else:
        from rich.console import Console

        console = Console()
        if not suggestions:
            console.print("Nothing blocked: no fix needed.")
        for suggestion in suggestions.values():
            console.print(fix_panel(suggestion))
    _report_problems(problems)
    if problems:
        return EXIT_UNREADABLE
    unresolved = any(
        (s.verification and not s.verification.ok) or any(o.blocked for o in s.uncovered)
        for s in suggestions.values()
    )
    return EXIT_BLOCKED if unresolved else EXIT_OK


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
    from ..mitm.proxy import run_proxy

    return run_proxy(proxy_settings(args))


def _no_terminal(alternative: str) -> bool:
    """True, after saying so, when there is no terminal for the TUI (a pipe, a script)."""
    if sys.stdin.isatty() and sys.stdout.isatty():
        return False
    print(f"cors-inspector: error: the TUI needs a terminal; {alternative}", file=sys.stderr)
    return True


def run_open(args: argparse.Namespace) -> int:
    from ..tui.app import CorsInspectorApp
    from ..tui.store import Store

    if _no_terminal("without one, use cors-inspector analyze FILE..."):
        return EXIT_UNREADABLE
    app = CorsInspectorApp(Store(keep=args.keep), files=args.files)
    app.run()
    return EXIT_UNREADABLE if app.problems else EXIT_OK


def run_live_tui(args: argparse.Namespace) -> int:
    from ..mitm.proxy import warn_if_exposed
    from ..tui.app import CorsInspectorApp
    from ..tui.store import Store

    if _no_terminal("without one, use cors-inspector proxy"):
        return EXIT_UNREADABLE
    warn_if_exposed(args.listen_host)
    store = Store(keep=args.keep, scope="all" if args.all else "cors")
    CorsInspectorApp(store, proxy=proxy_settings(args)).run()
    return EXIT_OK


def run_browser_command(args: argparse.Namespace) -> int:
    from ..browsers.chromium import run_browser

    return run_browser(args.url, args.proxy_host, args.proxy_port, args.headless)


def run_replay(args: argparse.Namespace) -> int:
    from ..output.replay import print_replay, replay_records
    from ..replay import ReplayError, choose_observations, replay

    supplied = {}
    for header in args.header:
        name, sep, value = header.partition(":")
        if not sep or not name.strip():
            print(
                f"cors-inspector: error: --header wants 'Name: value', got {header!r}",
                file=sys.stderr,
            )
            return EXIT_UNREADABLE
        supplied[name.strip()] = value.strip()
    problems: list[CaptureError] = []
    decisions = list(judge_captures([args.file], problems))
    _report_problems(problems)
    if problems:
        return EXIT_UNREADABLE
    try:
        observations = choose_observations(
            decisions, args.to, args.backend and args.backend.rstrip("/"), args.only == "blocked"
        )
    except ReplayError as error:
        print(f"cors-inspector: error: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    results = replay(observations, args.to, supplied)
    if args.format == "json":
        json.dump(replay_records(results), sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    else:
        from rich.console import Console

        print_replay(Console(), results, args.to)
    unresolved = any(r.outcome in ("still blocked", "newly broken", "failed") for r in results)
    return EXIT_BLOCKED if unresolved else EXIT_OK


COMMANDS = {
    "analyze": run_analyze,
    "fix": run_fix,
    "proxy": run_proxy_command,
    "browser": run_browser_command,
    "open": run_open,
    "replay": run_replay,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in COMMANDS:
        try:
            return COMMANDS[args.command](args)
        except BrokenPipeError:
            sys.stderr.close()  # the reader went away (e.g. `| head`): nothing more to say
            return EXIT_OK
        except KeyboardInterrupt:
            return 130
    return run_live_tui(args)
