"""The argument parser: commands, options, and types that turn bad values into usage errors."""

from __future__ import annotations

import argparse
import textwrap
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from .. import __version__
from ..tui.store import DEFAULT_KEEP
from .epilogs import (
    ANALYZE_EPILOG,
    BROWSER_EPILOG,
    DESCRIPTION,
    FIX_EPILOG,
    MAIN_EPILOG,
    OPEN_EPILOG,
    PROXY_EPILOG,
    REPLAY_EPILOG,
)

ONLY = ("all", "cors", "blocked")
# The proxy's options, unset until given: the top-level parser and the proxy command share them.
PROXY_DEFAULTS: dict[str, object] = {
    "listen_host": "127.0.0.1",
    "listen_port": 8080,
    "log": "",
    "save": "",
    "proxy_auth": None,
    "no_redact": False,
    "all": False,
    "with_browser": False,
    "firefox": False,
    "url": None,
    "headless": False,
}
# Which commands take the top-level options (None: no command, the live TUI takes them all).
TOP_LEVEL_OPTIONS_APPLY_TO = {"proxy": set(PROXY_DEFAULTS), "open": {"keep"}}


class ParagraphFormatter(argparse.HelpFormatter):
    """Wraps each paragraph of a description or epilog to the terminal, keeping paragraphs
    apart and indented lines (examples) as they are written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        out: list[str] = []
        prose: list[str] = []

        def end_prose() -> None:
            if prose:
                out.append(
                    textwrap.fill(
                        " ".join(prose), width, initial_indent=indent, subsequent_indent=indent
                    )
                )
                prose.clear()

        for line in text.splitlines():
            if line.strip() and not line[0].isspace():
                prose.append(line.strip())
                continue
            end_prose()
            out.append(indent + line if line.strip() else "")
        end_prose()
        return "\n".join(out)


class CliParser(argparse.ArgumentParser):
    """The top-level parser: an option given before a command it does not apply to is a usage
    error (it would be ignored), and the proxy's unset options get their defaults."""

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        parsed, rest = super().parse_known_args(args, namespace)
        if parsed.command is not None:
            # The command's own options (e.g. analyze's --no-redact) are its own to take.
            applies = TOP_LEVEL_OPTIONS_APPLY_TO.get(parsed.command, set()) | self._own_options(
                parsed.command
            )
            given = [  # options of this parser that were given (they are unset otherwise)
                action
                for action in self._actions
                if action.default is argparse.SUPPRESS and action.dest in vars(parsed)
            ]
            for action in given:
                if action.dest not in applies and action.option_strings:
                    owner = "the TUI's" if action.dest == "keep" else "the proxy's"
                    self.error(
                        f"{action.option_strings[0]} is {owner} option: it does not apply "
                        f"to `{parsed.command}`"
                    )
        for name, value in (*PROXY_DEFAULTS.items(), ("keep", DEFAULT_KEEP)):
            if not hasattr(parsed, name):
                setattr(parsed, name, value)
        return parsed, rest

    def _own_options(self, command: str) -> set[str]:
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction) and command in action.choices:
                return {a.dest for a in action.choices[command]._actions}
        return set()


def port(text: str) -> int:
    """An argtype: a TCP port, so that `--listen-port 99999` is a usage error."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 1 to 65535, not {number}")
    return number


def user_and_password(text: str) -> str:
    """An argtype: USER:PASS, as mitmproxy's proxyauth takes it."""
    user, colon, password = text.partition(":")
    if not (user and colon and password):
        raise argparse.ArgumentTypeError("wants USER:PASS, both non-empty")
    return text


def positive(text: str) -> int:
    """An argtype: a whole number above zero."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def backend_url(text: str) -> str:
    """An argtype: an http(s) URL with a host, so that `--to localhost:1` is a usage error."""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(
            f"wants a URL with its scheme, e.g. http://{text.split('://')[-1]} (got {text!r})"
        )
    try:
        parts.port  # noqa: B018 (it raises on a port that is not a number)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number in {text!r}") from None
    return text


def bundled_sample() -> Path:
    return Path(str(resources.files("cors_inspector") / "samples" / "demo.mitm"))


def build_parser() -> argparse.ArgumentParser:
    parser = CliParser(
        prog="cors-inspector",
        description=DESCRIPTION,
        epilog=MAIN_EPILOG,
        formatter_class=ParagraphFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_proxy_arguments(parser)  # for the live TUI, which runs without a command
    add_keep_argument(parser)
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=argparse.ArgumentParser
    )
    analyze = add_command(
        commands,
        "analyze",
        help="judge every request of saved captures (.mitm or HAR)",
        description="Judge every request of saved captures as Chromium would.",
        epilog=ANALYZE_EPILOG,
    )
    add_capture_files(analyze)
    analyze.add_argument(
        "--format",
        choices=("text", "json", "jsonl"),
        default="text",
        help="text: a table, then why each blocked request failed (default); json: one "
        "array; jsonl: one JSON object per request, in capture order (schema in README)",
    )
    analyze.add_argument(
        "--only",
        choices=ONLY,
        help="which requests to report: all, cors (preflights and CORS requests) or blocked "
        "(default: cors for text, all for json and jsonl)",
    )
    add_no_redact(analyze)
    fix = add_command(
        commands,
        "fix",
        help="the CORSMiddleware configuration that makes blocked requests pass, verified",
        description="Suggest, and verify with the real Starlette, the CORSMiddleware change "
        "per backend.",
        epilog=FIX_EPILOG,
    )
    add_capture_files(fix)
    fix.add_argument(
        "--backend", metavar="ORIGIN", help="only this backend, e.g. http://localhost:8000"
    )
    fix.add_argument(
        "--format",
        choices=("text", "json", "python"),
        default="text",
        help="text (default), json (one object per backend) or python (just the code, one "
        "block per backend under a comment, for > fix.py)",
    )
    add_no_redact(fix)
    proxy = add_command(
        commands,
        "proxy",
        help="run the proxy headless, one coloured line per CORS request",
        description="Run mitmproxy with cors-inspector in this process, without the TUI.",
        epilog=PROXY_EPILOG,
    )
    add_proxy_arguments(proxy)
    browser = add_command(
        commands,
        "browser",
        help="start Chromium/Chrome (or Firefox) with a throwaway profile pointed at the proxy",
        description="Start Chromium or Chrome (Firefox with --firefox, or when neither is "
        "installed) with a throwaway profile that sends everything (localhost included) "
        "through the proxy and trusts mitmproxy's certificate for that profile only. Start "
        "the proxy first (cors-inspector, or cors-inspector proxy). When that proxy is "
        "cors-inspector's, on this machine, Chromium also attaches to it: the proxy's records "
        "then carry the browser's own verdict, the script line of each call and the requests "
        "it never sent, as with --with-browser.",
        epilog=BROWSER_EPILOG,
    )
    browser.add_argument(
        "url",
        nargs="?",
        default="about:blank",
        metavar="URL",
        help="the page to open (default: about:blank)",
    )
    browser.add_argument("--proxy-host", default="127.0.0.1", help="default: 127.0.0.1")
    browser.add_argument(
        "--proxy-port",
        type=port,
        default=8080,
        help="default: 8080; a cors-inspector proxy of yours listening there gets the "
        "browser's DevTools events over loopback (authenticated by the token in its private "
        "file $XDG_RUNTIME_DIR/cors-inspector/bridge-PORT.json, else ~/.cache/cors-inspector)",
    )
    browser.add_argument("--headless", action="store_true", help="no window (for scripts)")
    browser.add_argument(
        "--firefox",
        action="store_true",
        help="Firefox (firefox-esr or firefox) even when Chromium is installed",
    )
    tui = add_command(
        commands,
        "open",
        help="browse saved captures (.mitm or HAR) in the TUI",
        description="Browse saved captures in the TUI: every request as the browser judged it.",
        epilog=OPEN_EPILOG,
    )
    tui.add_argument(
        "files",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="mitmproxy flow files, HAR files or Chrome NetLogs (FIFOs and <(command) too)",
    )
    add_keep_argument(tui)
    add_replay_parser(commands)
    return parser


def add_capture_files(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files",
        nargs="*",
        type=Path,
        metavar="FILE",
        help="mitmproxy flow files, HAR files or Chrome NetLogs; - for standard input "
        "(default: the bundled sample)",
    )


def add_command(
    commands: argparse._SubParsersAction, name: str, **texts: str
) -> argparse.ArgumentParser:
    """A command whose description and examples keep their paragraphs and examples."""
    return commands.add_parser(name, formatter_class=ParagraphFormatter, **texts)


def add_replay_parser(commands: argparse._SubParsersAction) -> None:
    replay = add_command(
        commands,
        "replay",
        help="re-send captured requests to the fixed backend and judge them again",
        description="Re-send captured cross-origin requests as the browser would, to a "
        "(fixed) backend, and report before -> after for each.",
        epilog=REPLAY_EPILOG,
    )
    replay.add_argument(
        "file",
        type=Path,
        metavar="FILE",
        help="a mitmproxy flow file, HAR or Chrome NetLog; - for standard input",
    )
    replay.add_argument(
        "--to",
        required=True,
        type=backend_url,
        metavar="URL",
        help="the backend to send to, e.g. http://localhost:8000",
    )
    replay.add_argument(
        "--only",
        choices=ONLY,
        default="all",
        help="which requests to re-send, as analyze --only: all (default) or cors (the same "
        "here: only CORS requests are re-sent), or blocked",
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
    replay.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text: before -> after for each request (default); json: one array",
    )
    add_no_redact(replay)


def add_proxy_arguments(parser: argparse.ArgumentParser) -> None:
    """The proxy's options, unset unless given (CliParser fills in PROXY_DEFAULTS), so that
    `cors-inspector --listen-port 9090 proxy` and `cors-inspector proxy --listen-port 9090`
    both work."""
    default = argparse.SUPPRESS
    parser.add_argument(
        "--listen-host",
        default=default,
        help="address to listen on (default: 127.0.0.1, loopback only)",
    )
    parser.add_argument("--listen-port", type=port, default=default, help="default: 8080")
    parser.add_argument(
        "--proxy-auth",
        type=user_and_password,
        metavar="USER:PASS",
        default=default,
        help="the password the proxy asks for; beyond loopback it always asks, with a random "
        "password printed at start when none is given",
    )
    parser.add_argument(
        "--log",
        metavar="FILE",
        default=default,
        help="append one JSON line per decision (the jsonl schema), rotated",
    )
    parser.add_argument(
        "--save",
        metavar="FILE",
        default=default,
        help="save the flows to a mitmproxy file for replay and analyze",
    )
    add_no_redact(parser, default, "written")
    parser.add_argument(
        "--all",
        action="store_true",
        default=default,
        help="log and print every request, not only CORS ones",
    )
    # A flag, and the page as an option's value: `--with-browser open x` stays the `open`
    # command (refused: it has no proxy), never a URL taken for a command or the reverse.
    parser.add_argument(
        "--with-browser",
        action="store_true",
        default=default,
        help="also start a throwaway Chromium through the proxy, attached over a DevTools "
        "pipe: its own verdict, the script line of each call, the requests it never sent",
    )
    parser.add_argument(
        "--firefox",
        action="store_true",
        default=default,
        help="with --with-browser: Firefox (firefox-esr) instead, attached over WebDriver "
        "BiDi: its own verdict and reason (from its console), the requests it never sent",
    )
    parser.add_argument(
        "--url",
        metavar="URL",
        default=default,
        help="with --with-browser: the page to open (default: about:blank)",
    )
    parser.add_argument(
        "--headless",
        action="store_true",
        default=default,
        help="with --with-browser: no browser window",
    )


def add_no_redact(
    parser: argparse.ArgumentParser, default: object = argparse.SUPPRESS, where: str = "printed"
) -> None:
    """`--no-redact`; a command's is unset unless given, so the top-level value stands."""
    parser.add_argument(
        "--no-redact",
        action="store_true",
        default=default,
        help="keep Cookie, Set-Cookie, Authorization, Proxy-Authorization, URL userinfo and "
        f"secret query parameters (access_token, api_key, ...) in what is {where} "
        "(redacted by default)",
    )


def add_keep_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--keep",
        type=positive,
        metavar="N",
        default=argparse.SUPPRESS,  # unset unless given: CliParser fills in the default
        help=f"the TUI keeps the newest N requests, dropping the oldest (default {DEFAULT_KEEP})",
    )
