"""Fixes as users paste them: for every story of `sample_flows/`, the code `fix` (and
`analyze`) prints at 60 columns, in a terminal and in a pipe, and `fix --format python`, is
valid Python that makes exactly the suggested CORSMiddleware call; and the fixes are minimal."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from starlette.middleware.cors import ALL_METHODS, CORSMiddleware

from cors_inspector.engine.cors_check import ACAM
from cors_inspector.engine.safelists import parse_token_list
from cors_inspector.fix import Suggestion, suggestions_for
from cors_inspector.judge import judge_captures
from cors_inspector.output.fix import print_fix

SAMPLES = Path(__file__).resolve().parents[2] / "sample_flows"
STORIES = json.loads((SAMPLES / "stories.json").read_text())["stories"]
FILES = [SAMPLES / story["files"]["mitm"] for story in STORIES]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class StubApp:
    """Records the add_middleware calls a pasted block makes."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def add_middleware(self, cls: type, **kwargs: Any) -> None:
        assert cls is CORSMiddleware
        CORSMiddleware(lambda *_: None, **kwargs)  # Starlette accepts these arguments
        self.calls.append(kwargs)


def code_blocks(output: str) -> list[str]:
    """Each `app.add_middleware(...)` call printed, with the import line just above it."""
    lines = ANSI.sub("", output).splitlines()
    blocks = []
    for start, line in enumerate(lines):
        if line.startswith("app.add_middleware("):
            end = lines.index(")", start)
            head = start - 2 if lines[start - 2 : start] == [IMPORT, ""] else start
            blocks.append("\n".join(lines[head : end + 1]))
    return blocks


IMPORT = "from starlette.middleware.cors import CORSMiddleware"


def calls_of(blocks: list[str]) -> list[dict[str, Any]]:
    app = StubApp()
    for block in blocks:
        compile(block, "<pasted>", "exec")
        namespace = {"app": app, "CORSMiddleware": CORSMiddleware}
        exec(block, namespace)
    return app.calls


def suggestions_of(files: list[Path]) -> dict[str, Suggestion]:
    return suggestions_for(judge_captures(files, []), hidden=True)


def expected_calls(suggestion: Suggestion) -> list[dict[str, Any]]:
    """What `fix` prints for a backend: Now (when seen), Suggested (when it differs), and
    the credentialed case (when its configuration differs again)."""
    calls = [suggestion.current.kwargs()] if suggestion.current else []
    if suggestion.changed and suggestion.verification and suggestion.verification.checks:
        calls.append(suggestion.config.kwargs())
    alternative = suggestion.if_credentials
    if alternative and not (suggestion.changed and alternative.config == suggestion.config):
        calls.append(alternative.config.kwargs())
    return calls


def run(*args: str, columns: int | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    if columns:
        env["COLUMNS"] = str(columns)
    return subprocess.run(
        [sys.executable, "-m", "cors_inspector", *args], capture_output=True, text=True, env=env
    )


@pytest.fixture(scope="module")
def everything() -> dict[str, Suggestion]:
    return suggestions_of(FILES)


@pytest.mark.parametrize("story", STORIES, ids=[s["id"] for s in STORIES])
@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "file"])
def test_fix_code_at_60_columns_is_the_suggested_call(story, terminal):
    suggestions = suggestions_of([SAMPLES / story["files"]["mitm"]])
    for suggestion in suggestions.values():
        out = io.StringIO()
        print_fix(Console(file=out, width=60, force_terminal=terminal), suggestion)
        assert calls_of(code_blocks(out.getvalue())) == expected_calls(suggestion)


@pytest.mark.parametrize("columns", [60, None], ids=["COLUMNS=60", "pipe"])
def test_fix_command_output_pastes(columns, everything):
    result = run("fix", *map(str, FILES), columns=columns)
    assert result.returncode == 1, result.stderr  # some stories stay blocked (a 500, null)
    expected = [c for s in everything.values() if s.needed for c in expected_calls(s)]
    calls = calls_of(code_blocks(result.stdout))
    assert calls == expected
    assert any(len(line) > 60 for line in result.stdout.splitlines())  # whole, not cut


def test_format_python_is_one_valid_file_of_every_suggested_call(everything):
    source = run("fix", *map(str, FILES), "--format", "python", columns=60).stdout
    compile(source, "fix.py", "exec")
    blocks = re.split(r"\n\n\n(?=# http)", source.strip())
    assert len(blocks) == len(everything) + sum(
        1 for s in everything.values() if s.if_credentials and s.if_credentials.config != s.config
    )
    for block in blocks:
        backend, _, status = block.split("\n", 1)[0][2:].partition(": ")
        suggestion = everything[backend.removesuffix(", if the page sends credentials")]
        case = suggestion if backend in everything else suggestion.if_credentials
        calls = calls_of([block])
        if status.startswith("✔ verified with Starlette"):
            assert calls == [case.config.kwargs()] and case.verification.ok
            assert block.count(IMPORT) == 1
        elif status.startswith("no CORSMiddleware change"):
            assert (calls == [] and not case.verification.checks) or not case.changed
        else:
            assert status.startswith("nothing blocked") and calls == [case.current.kwargs()]


def test_analyze_fix_code_at_60_columns_pastes(everything):
    result = run("analyze", *map(str, FILES), columns=60)
    calls = calls_of(code_blocks(result.stdout))
    assert calls and all(
        call in [c for s in everything.values() for c in expected_calls(s)] for call in calls
    )
    assert "│ )" not in result.stdout  # no code inside a panel


def _preflight_answers(suggestion: Suggestion, header: str) -> list[set[str]]:
    return [
        set(parse_token_list(o.preflight.response.headers.get(header))[0])
        for o in suggestion.observations
        if o.preflight and o.preflight.response and header in o.preflight.response.headers
    ]


def test_sample_fixes_are_minimal(everything):
    """No fix adds expose_headers (hidden headers come as a commented line), none lists the
    methods or headers a server allowed as `*`, none repeats Now as Suggested."""
    assert everything
    for backend, suggestion in everything.items():
        for case in filter(None, (suggestion, suggestion.if_credentials)):
            now = case.current.expose_headers if case.current else []
            assert case.config.expose_headers == now, backend
            if case.hidden_headers:
                wider = json.dumps(case.config.expose_headers + case.hidden_headers)
                assert f"    # expose_headers={wider},  # uncomment" in case.to_python()
                assert case.exposing_verified, backend
            if any(methods >= set(ALL_METHODS) for methods in _preflight_answers(case, ACAM)):
                assert case.config.allow_methods == ["*"], backend
        out = io.StringIO()
        print_fix(Console(file=out, width=200), suggestion)
        if not suggestion.changed:
            assert "Suggested (paste" not in out.getvalue()
    # The stories include servers on allow_methods=["*"] and allow_headers=["*"].
    stars = [s for s in everything.values() if s.current and s.current.allow_methods == ["*"]]
    assert stars and any(s.config.allow_headers == ["*"] for s in stars)
    assert any(s.hidden_headers for s in everything.values())


def test_unexposed_header_story_is_told():
    path = str(SAMPLES / "unexposed-header.mitm")
    fixed = run("fix", path, columns=60)
    assert fixed.returncode == 0
    words = " ".join(fixed.stdout.split())
    assert "Nothing blocked, but these headers are hidden from script: " in words
    assert "X-Total-Count" in words and "uncomment the expose_headers line" in words
    assert "no fix needed" not in words
    report = " ".join(run("analyze", path, columns=60).stdout.split())
    assert "headers hidden from script" in report
    assert "Hidden from script: date, server, x-total-count" in report
    assert "Script can read: content-length, content-type" in report


@pytest.mark.parametrize(
    "typed", ["localhost:{port}", "http://localhost:{port}/", "HTTP://LOCALHOST:{port}"]
)
def test_backend_matches_what_users_type(typed):
    story = next(s for s in STORIES if s["id"] == "header-not-allowed")
    path = SAMPLES / story["files"]["mitm"]
    (backend,) = suggestions_of([path])
    port = backend.rsplit(":", 1)[1]
    result = run("fix", str(path), "--backend", typed.format(port=port), "--format", "json")
    assert [record["backend"] for record in json.loads(result.stdout)] == [backend]


def test_default_port_is_the_same_backend():
    from cors_inspector.cli.commands import _backend_origin

    assert _backend_origin("http://localhost:80") == _backend_origin("localhost")
    assert _backend_origin("https://api.test:443/") == "https://api.test"


def test_unknown_backend_lists_those_seen_and_exits_2():
    path = SAMPLES / "unexposed-header.mitm"
    (seen,) = suggestions_of([path])
    result = run("fix", str(path), "--backend", "localhost:1")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip() == (
        f"cors-inspector: error: no backend http://localhost:1 in the capture; "
        f"backends seen: {seen}"
    )


def test_missing_file_gets_its_error_and_no_verdict(tmp_path):
    result = run("fix", str(tmp_path / "missing.mitm"))
    assert result.returncode == 2
    assert "Nothing blocked" not in result.stdout
    assert "missing.mitm" in result.stderr
