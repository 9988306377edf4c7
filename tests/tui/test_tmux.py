"""The real command in a real terminal: `cors-inspector open` in a detached tmux session."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import REPO, SIZE, sample

DEADLINE_S = 30.0
POLL_S = 0.1  # between two looks at the pane; the deadline decides, not this
COMMAND = Path(sys.executable).with_name("cors-inspector")
EXITED = "cors-inspector exited with status "

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


def tmux(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False)


@pytest.fixture
def session() -> Iterator[str]:
    name = f"cors-inspector-test-{os.getpid()}"
    # COLUMNS and LINES (set in the test process, inherited by a tmux server it starts)
    # would override the pane's real size. The shell reports the exit status itself: a tmux
    # server started from here does not always notice its pane's process exit.
    app = f"env -u COLUMNS -u LINES {COMMAND} open {sample('missing-middleware')}"
    command = f"sh -c '{app}; echo {EXITED}$?'"
    width, height = SIZE
    started = tmux(
        "new-session", "-d", "-s", name, "-x", str(width), "-y", str(height), "-c", str(REPO)
    )
    assert started.returncode == 0, started.stderr
    try:
        # The app starts in a pane whose size is already fixed; the pane stays after it
        # exits, so that the exit status (or a crash) can be read.
        tmux("set-option", "-t", name, "remain-on-exit", "on")
        tmux("respawn-pane", "-k", "-t", name, command)
        yield name
    finally:
        tmux("kill-session", "-t", name)


def pane(name: str) -> str:
    # With the history: tmux's "Pane is dead" line can scroll the exit status into it.
    return tmux("capture-pane", "-p", "-S", "-50", "-t", name).stdout


def shown(name: str, needle: str) -> str:
    """The pane's text once it shows `needle`."""
    deadline = time.monotonic() + DEADLINE_S
    while needle not in (text := pane(name)):
        assert time.monotonic() < deadline, f"{needle!r} not shown in time; the pane:\n{text}"
        time.sleep(POLL_S)
    return text


def test_open_shows_the_table_the_detail_and_the_fix(session: str):
    table = shown(session, "MissingAllowOriginHeader")
    assert "origin → URL" in table and "✘ blocked" in table
    assert "missing-middleware.mitm" in table

    tmux("send-keys", "-t", session, "b", "Enter")
    detail = shown(session, "Chromium: Access to fetch")
    assert "Trace (t)" in detail and "Headers (h)" in detail
    assert "Access-Control-Allow-Origin" in detail  # the failing check, in the trace

    tmux("send-keys", "-t", session, "f")
    fix = shown(session, "verified with Starlette")
    assert "app.add_middleware(" in fix and "allow_origins=[" in fix
    assert "✘ blocked" in fix  # the table is still there, above the detail

    tmux("send-keys", "-t", session, "q")
    end = shown(session, EXITED)
    assert f"{EXITED}0" in end, end
