"""The `cors-inspector` command line: `main` parses, runs a command, and turns what went wrong
into one line and an exit status."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from .commands import COMMANDS, check_browser_options, run_live_tui
from .parser import build_parser
from .status import CliError, ExitStatus

__all__ = ["CliError", "ExitStatus", "build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run = COMMANDS.get(args.command, run_live_tui)  # no command: the TUI over a live proxy
    try:
        check_browser_options(args)
        return run(args)
    except CliError as error:
        print(f"cors-inspector: error: {error}", file=sys.stderr)
        return error.status
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (e.g. `| head`): nothing more to say
        return ExitStatus.OK
    except KeyboardInterrupt:
        return ExitStatus.INTERRUPTED
