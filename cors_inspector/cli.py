"""The `cors-inspector` command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path

from . import __version__
from .engine import Analyzer, Decision
from .readers import CaptureError, read_capture

EXIT_OK, EXIT_BLOCKED, EXIT_UNREADABLE = 0, 1, 2
ONLY = {
    "all": lambda decision: True,
    "cors": lambda decision: decision.is_cors,
    "blocked": lambda decision: decision.verdict == "blocked",
}

DESCRIPTION = """\
See why the browser blocked a cross-origin request.

cors-inspector rebuilds Chromium's CORS decision for every request in a capture, step by
step as the WHATWG Fetch standard runs it, and says in plain words what failed and why.
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


def bundled_sample() -> Path:
    return Path(str(resources.files("cors_inspector") / "samples" / "demo.mitm"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cors-inspector",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
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
        default="all",
        help="which requests to report: all (default), cors (preflights and CORS requests), "
        "blocked",
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
    add_proxy_arguments(proxy)
    browser = commands.add_parser(
        "browser",
        help="start Chromium/Chrome with a throwaway profile pointed at the proxy",
        description="Start Chromium or Chrome with a throwaway profile that sends everything "
        "(localhost included) through the proxy and trusts mitmproxy's certificate for that "
        "profile only. Start the proxy first (cors-inspector, or cors-inspector proxy).",
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
    return parser


def add_proxy_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--listen-host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, loopback only)",
    )
    parser.add_argument("--listen-port", type=int, default=8080, help="default: 8080")
    parser.add_argument(
        "--log",
        metavar="FILE",
        default="",
        help="append one JSON line per decision (the jsonl schema), rotated",
    )
    parser.add_argument(
        "--save",
        metavar="FILE",
        default="",
        help="save the flows to a mitmproxy file for replay and analyze",
    )
    parser.add_argument(
        "--no-redact",
        action="store_true",
        help="keep Cookie, Set-Cookie, Authorization, Proxy-Authorization and "
        "URL userinfo in what is written (redacted by default)",
    )
    parser.add_argument(
        "--all", action="store_true", help="log and print every request, not only CORS ones"
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


def _decisions(paths: Sequence[Path], problems: list[CaptureError]) -> Iterator[Decision]:
    """Decisions for each file in turn; a file that fails to read is noted and skipped."""
    for path in paths:
        analyzer = Analyzer()
        try:
            for exchange in read_capture(path):
                yield from analyzer.feed(exchange)
        except CaptureError as error:
            problems.append(error)
        yield from analyzer.finish()


def run_analyze(args: argparse.Namespace) -> int:
    paths = _capture_paths(args)
    keep = ONLY[args.only]
    problems: list[CaptureError] = []
    blocked = False
    if args.format == "jsonl":
        from .records import to_json_line

        out = sys.stdout
        for decision in _decisions(paths, problems):
            blocked = blocked or decision.verdict == "blocked"
            if keep(decision):
                out.write(to_json_line(decision) + "\n")
    else:
        everything = list(_decisions(paths, problems))
        blocked = any(decision.verdict == "blocked" for decision in everything)
        decisions = [decision for decision in everything if keep(decision)]
        if args.format == "json":
            from .records import to_record

            json.dump([to_record(d) for d in decisions], sys.stdout, ensure_ascii=False, indent=1)
            sys.stdout.write("\n")
        else:
            from rich.console import Console

            from .engine.origins import origin_of
            from .fix_report import fix_for_decision, suggestions_for
            from .text_report import print_report

            suggestions = suggestions_for(everything) if blocked else {}
            print_report(
                Console(),
                decisions,
                lambda d: fix_for_decision(d, suggestions.get(origin_of(d.url) or "")),
            )
    _report_problems(problems)
    if problems:
        return EXIT_UNREADABLE
    return EXIT_BLOCKED if blocked else EXIT_OK


def run_fix(args: argparse.Namespace) -> int:
    from .fix_report import fix_panel, suggestion_record, suggestions_for

    problems: list[CaptureError] = []
    suggestions = suggestions_for(_decisions(_capture_paths(args), problems))
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


def run_proxy_command(args: argparse.Namespace) -> int:
    from .proxy import ProxySettings, run_proxy

    return run_proxy(
        ProxySettings(
            listen_host=args.listen_host,
            listen_port=args.listen_port,
            log=args.log,
            save=args.save,
            redact=not args.no_redact,
            cors_only=not args.all,
        )
    )


def run_browser_command(args: argparse.Namespace) -> int:
    from .browser import run_browser

    return run_browser(args.url, args.proxy_host, args.proxy_port, args.headless)


COMMANDS = {
    "analyze": run_analyze,
    "fix": run_fix,
    "proxy": run_proxy_command,
    "browser": run_browser_command,
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
    parser.print_help()
    return EXIT_OK
