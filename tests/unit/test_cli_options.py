"""The command line's own rules: one --only vocabulary, help for every option, wrapped
descriptions, options that do not apply are usage errors, one-line errors, counts in words."""

import argparse
import os
import subprocess
import sys

import pytest

from cors_inspector.cli import build_parser
from cors_inspector.cli.parser import ONLY
from cors_inspector.engine.words import counted
from tests.support import servers
from tests.support.paths import REPO

SAMPLE = REPO / "sample_flows" / "auth-before-cors.mitm"


def run(*args: str, columns: int = 80) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": str(columns)}
    return subprocess.run(
        [sys.executable, "-m", "cors_inspector", *args], capture_output=True, text=True, env=env
    )


def commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (subparsers,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {"": parser, **subparsers.choices}


@pytest.mark.parametrize("command", ["analyze", "replay"])
def test_only_takes_the_same_words_in_every_command(command):
    (only,) = (a for a in commands()[command]._actions if "--only" in a.option_strings)
    assert tuple(only.choices) == ONLY


@pytest.mark.parametrize("words", [("--only", "cors"), ("--only", "blocked"), ("--only", "all")])
def test_replay_accepts_every_only_word(words):
    args = build_parser().parse_args(["replay", "x.mitm", "--to", "http://localhost:1", *words])
    assert args.only == words[1]


def test_every_option_of_every_command_has_help():
    missing = [
        f"{name or 'cors-inspector'} {action.option_strings or action.dest}"
        for name, parser in commands().items()
        for action in parser._actions
        if not action.help and not isinstance(action, argparse._SubParsersAction)
    ]
    assert missing == []


@pytest.mark.parametrize("command", ["", "analyze", "fix", "proxy", "browser", "open", "replay"])
def test_help_prose_is_wrapped_to_the_terminal(command):
    result = run(*[command] * bool(command), "--help", columns=60)
    assert result.returncode == 0
    # Example lines (indented) are kept as written; prose wraps to the 60 columns.
    prose = [line for line in result.stdout.splitlines() if line and not line[0].isspace()]
    assert [line for line in prose if len(line) > 60] == []
    assert len(prose) > 2


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["--listen-port", "9090", "analyze", "x.mitm"], "--listen-port"),
        (["--save", "f.mitm", "fix"], "--save"),
        (["--all", "replay", "x.mitm", "--to", "http://localhost:1"], "--all"),
        (["--keep", "10", "proxy"], "--keep"),
        (["--no-redact", "open", "x.mitm"], "--no-redact"),
    ],
)
def test_an_option_given_to_a_command_it_does_not_apply_to_is_a_usage_error(argv, option):
    result = run(*argv)
    assert result.returncode == 2
    command = next(word for word in argv if word in commands())
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .endswith(
            f"error: {option} is {'the TUI' if option == '--keep' else 'the proxy'}'s option: "
            f"it does not apply to `{command}`"
        )
    )


@pytest.mark.parametrize(
    "argv",
    [["--keep", "10", "open", "x.mitm"], ["--listen-port", "9090", "proxy"], ["--all"]],
)
def test_top_level_options_still_apply_where_they_belong(argv):
    args = build_parser().parse_args(argv)
    assert (args.keep, args.listen_port, args.log) == (
        10 if "--keep" in argv else 50_000,
        9090 if "--listen-port" in argv else 8080,
        "",
    )


def test_replay_to_a_url_without_scheme_is_one_clear_line():
    result = run("replay", str(SAMPLE), "--to", "localhost:1")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "cors-inspector replay: error: argument --to: wants a URL with its scheme, "
        "e.g. http://localhost:1 (got 'localhost:1')"
    )


def test_replay_to_a_port_nothing_listens_on_says_so_in_one_line():
    (port,) = servers.free_ports(1)  # held by nobody once returned: nothing listens there
    result = run("replay", str(SAMPLE), "--to", f"http://127.0.0.1:{port}")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"cors-inspector: error: nothing answers at http://127.0.0.1:{port} "
        "(connection refused): is the backend running?"
    ]
    assert result.stdout == ""


def test_counts_are_in_words():
    assert [counted(n, "request") for n in (0, 1, 2, 12345)] == [
        "0 requests",
        "1 request",
        "2 requests",
        "12345 requests",
    ]
    assert counted(12345, "request", grouped=True) == "12,345 requests"
    assert counted(1, "HAR entry", "HAR entries") == "1 HAR entry"
    assert counted(3, "HAR entry", "HAR entries") == "3 HAR entries"


def test_a_fix_checked_on_one_request_says_one_request(tmp_path):
    from mitmproxy.io import FlowWriter

    from cors_inspector.fix import suggestions_for
    from cors_inspector.judge import judge_captures
    from cors_inspector.output.fix import fix_panel

    from .builders import mitm_flow

    cors = [(b"Origin", b"http://localhost:3000"), (b"Sec-Fetch-Mode", b"cors")]
    path = tmp_path / "one.mitm"
    with path.open("wb") as out:
        FlowWriter(out).add(mitm_flow(b"GET", b"/items", cors, 200, [], 1.0))
    (suggestion,) = suggestions_for(judge_captures([path], [])).values()
    assert str(fix_panel(suggestion).title).endswith("(1 request checked)")
