"""`analyze` and `fix` hold what they print or merge, not every decision: the fix folds
requests of one shape into one observation with a count, the text report prints its table
in pages, the JSON array is written as it comes; and stdin, pipes and FIFOs are read."""

import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from rich.console import Console

from cors_inspector.engine import Analyzer
from cors_inspector.fix import fold, suggestions_for
from cors_inspector.output import text
from cors_inspector.output.text import print_report

from .builders import API, cors_get, preflight

SAMPLES = Path(__file__).resolve().parents[2] / "sample_flows"
SAMPLE = SAMPLES / "method-not-allowed.mitm"


def repeated(copies: int):
    """The same blocked preflight and allowed GET, `copies` times, on different paths."""
    exchanges = []
    for n in range(copies):
        exchanges.append(preflight("PUT", {}, status=405, url=f"{API}/items/{n}", at=10 + n))
        exchanges.append(
            cors_get({"Access-Control-Allow-Origin": "*"}, url=f"{API}/{n}", at=10.5 + n)
        )
    return list(Analyzer().run(exchanges))


def test_requests_of_one_shape_are_one_observation_with_a_count():
    decisions = repeated(50)
    ((backend, _),) = fold(decisions).backends()
    assert sorted(o.count for o in backend.observations) == [50, 50]
    (suggestion,) = suggestions_for(decisions).values()
    assert suggestion.verification.ok
    assert len(suggestion.verification.checks) == 2
    assert sum(c.observation.count for c in suggestion.verification.checks) == 100
    # The same fix as from the requests one by one.
    assert suggestion.config == next(iter(suggestions_for(repeated(1)).values())).config


def test_a_different_response_is_a_different_observation():
    decisions = repeated(2) + list(
        Analyzer().run([cors_get({"Access-Control-Allow-Origin": "http://x.test"}, at=99)])
    )
    ((backend, _),) = fold(decisions).backends()
    assert sorted(o.count for o in backend.observations) == [1, 2, 2]


def test_the_paged_table_is_one_table_whose_pages_line_up(monkeypatch):
    monkeypatch.setattr(text, "PAGE_ROWS", 3)
    decisions = repeated(5)
    console = Console(width=100, record=True, file=io.StringIO())
    print_report(console, decisions, lambda d: True, "all")
    lines = console.export_text().splitlines()
    table = lines[1 : lines.index(next(line for line in lines if line.startswith("└"))) + 1]
    assert sum(line.startswith("┏") for line in table) == 1  # one top edge, one header
    assert sum(line.startswith("└") for line in table) == 1
    assert {len(line) for line in table} == {100}
    columns = {tuple(i for i, c in enumerate(line) if c in "│┃┏┓┡┩└┘╇┳┴") for line in table}
    assert len({len(c) for c in columns}) == 1  # the column borders never move
    assert len(columns) == 1 or all(len(c) == 7 for c in columns)
    assert sum(line.startswith("│ ") and ":" in line[:12] for line in table) == 10


def test_text_report_panels_carry_the_fix_from_the_second_pass():
    decisions = repeated(3)
    console = Console(width=100, record=True, file=io.StringIO())
    again = []
    print_report(console, decisions, lambda d: True, "all", lambda: again or decisions)
    report = console.export_text()
    assert report.count("╭─ ✘ ") == 3  # each blocked request explained, from the second pass
    assert "\n6 requests: ✘ 3 blocked" in report
    with_fix = run("analyze", str(SAMPLE)).stdout.decode()
    assert "verified with Starlette" in with_fix.split("╭─ ✘", 1)[1]


def run(*args: str, stdin=None, input_bytes: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cors_inspector", *args],
        capture_output=True,
        stdin=stdin,
        input=input_bytes,
    )


def test_json_is_the_array_json_dump_would_write():
    result = run("analyze", str(SAMPLE), "--format", "json")
    records = json.loads(result.stdout)
    assert result.stdout.decode() == json.dumps(records, ensure_ascii=False, indent=1) + "\n"
    lines = run("analyze", str(SAMPLE), "--format", "jsonl").stdout.splitlines()
    assert records == [json.loads(line) for line in lines] and len(records) > 2
    empty = run("analyze", str(SAMPLE), "--format", "json", "--only", "blocked")
    assert json.loads(empty.stdout)  # blocked ones are there
    assert (
        run(
            "analyze",
            str(SAMPLES / "healthy-session.mitm"),
            "--format",
            "json",
            "--only",
            "blocked",
        ).stdout
        == b"[]\n"
    )


@pytest.mark.parametrize("command", ["analyze", "fix"])
@pytest.mark.parametrize("given", ["-", "/dev/stdin"])
def test_stdin_reads_as_the_file_does(command, given):
    from_file = run(command, str(SAMPLE))
    with SAMPLE.open("rb") as stdin:
        from_stdin = run(command, given, stdin=stdin)
    assert from_stdin.returncode == from_file.returncode == 1
    assert from_stdin.stdout == from_file.stdout
    assert b"Illegal seek" not in from_stdin.stderr and not from_stdin.stderr


def test_a_fifo_reads_as_the_file_does(tmp_path):
    fifo = tmp_path / "flows.fifo"
    os.mkfifo(fifo)

    def feed() -> None:
        with fifo.open("wb") as out:
            out.write(SAMPLE.read_bytes())

    writer = threading.Thread(target=feed)
    writer.start()
    from_fifo = run("analyze", str(fifo), "--format", "jsonl")
    writer.join(timeout=30)
    assert from_fifo.stdout == run("analyze", str(SAMPLE), "--format", "jsonl").stdout
    assert from_fifo.returncode == 1


def test_a_problem_in_stdin_is_named_as_given():
    result = run("analyze", "-", input_bytes=b"3:abc#")
    assert result.returncode == 2
    assert result.stderr.decode().startswith("cors-inspector: error: -: ")
    assert "cors-inspector-" not in result.stderr.decode()  # not the private copy's name


def test_open_refuses_stdin_in_one_line():
    result = run("open", "-")
    assert result.returncode == 2
    (line,) = result.stderr.decode().splitlines()
    assert line.startswith("cors-inspector: error: open reads its keys from the terminal")
