"""`cors-inspector replay` against real FastAPI apps on loopback: the broken app leaves the
story blocked, the app with the suggested fix fixes it, a too-narrow fix says exactly which
requests still fail."""

import json
import os
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from cors_inspector.engine import Analyzer
from cors_inspector.engine.origins import origin_of
from cors_inspector.fix import suggestions_for
from cors_inspector.readers import read_capture
from tests.support import servers
from tests.support.paths import REPO

SAMPLES = REPO / "sample_flows"
STORY = "missing-middleware"  # GET /api/items and PUT /api/items/1 (JSON), both blocked
MANIFEST = {s["id"]: s for s in json.loads((SAMPLES / "stories.json").read_text())["stories"]}
PAGE = MANIFEST[STORY]["page_origin"]


def replay_against(
    tmp_path: Path,
    cors_config: dict | None,
    *extra: str,
    story: str = STORY,
    app: str = "no_cors",
    capture: str = ".mitm",
    stderr: list[str] | None = None,
    from_stdin: bool = False,
) -> tuple[int, list]:
    """Serve the story's app (no CORSMiddleware unless `cors_config`), replay the story (its
    capture given as `-`, on standard input, with `from_stdin`)."""
    captured = SAMPLES / f"{story}{capture}"
    (port,) = servers.free_ports(1)
    env = os.environ | {"FRONTEND_ORIGIN": MANIFEST[story]["page_origin"]}
    if cors_config is not None:
        env["CORS_CONFIG"] = json.dumps(cors_config)
    with ExitStack() as stack:
        app = servers.start(
            f"app-{port}",
            [sys.executable, "-m", "tests.browser.apps", "no_cors", str(port)],
            stack=stack,
            log_dir=tmp_path,
            cwd=REPO,
            env=env,
        )
        app.wait_for_port(port, time.monotonic() + servers.READY_TIMEOUT_S)
        stdin = stack.enter_context(captured.open("rb")) if from_stdin else None
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "cors_inspector",
                "replay",
                "-" if from_stdin else str(captured),
                "--to",
                f"http://localhost:{port}",
                "--format",
                "json",
                *extra,
            ],
            stdin=stdin,
            capture_output=True,
            timeout=60,
        )
    said = result.stderr.decode()
    assert "Traceback" not in said, said
    if stderr is not None:
        stderr.append(said)
    return result.returncode, json.loads(result.stdout)


def outcomes(records: list) -> dict[str, tuple[str, str | None]]:
    return {r["method"]: (r["outcome"], r["reason"]) for r in records}


def test_the_broken_app_leaves_the_story_blocked(tmp_path):
    code, records = replay_against(tmp_path, None)
    assert code == 1
    assert outcomes(records) == {
        "GET": ("still blocked", "MissingAllowOriginHeader"),
        "PUT": ("still blocked", "PreflightMissingAllowOriginHeader"),
    }


@pytest.mark.parametrize("from_stdin", [False, True], ids=["file", "stdin"])
def test_the_suggested_fix_fixes_every_request(tmp_path, from_stdin):
    decisions = Analyzer().run(read_capture(SAMPLES / f"{STORY}.mitm"))
    (suggestion,) = suggestions_for(decisions).values()
    code, records = replay_against(tmp_path, suggestion.config.kwargs(), from_stdin=from_stdin)
    assert outcomes(records) == {"GET": ("fixed", None), "PUT": ("fixed", None)}
    assert code == 0


def test_replay_from_the_story_s_netlog_sends_what_it_holds_and_says_what_it_lacks(tmp_path):
    """Chrome's NetLog keeps methods, URLs and headers, but no request bodies: the PUT of the
    healthy session (JSON) is re-sent without its body, and replay says so."""
    story = "healthy-session"
    page = MANIFEST[story]["page_origin"]
    config = {"allow_origins": [page], "allow_methods": ["*"], "allow_headers": ["*"]}
    config["allow_credentials"] = True
    (backend,) = {
        origin_of(d.url)
        for d in Analyzer().run(read_capture(SAMPLES / f"{story}.mitm"))
        if d.kind == "actual"
    }
    said: list[str] = []
    code, records = replay_against(
        tmp_path, config, "--backend", backend, story=story, capture=".netlog.json", stderr=said
    )
    assert {r["outcome"] for r in records} == {"still allowed"}, records
    assert code == 0
    assert "1 request re-sent without the body the capture did not keep" in said[0]


def test_a_too_narrow_fix_names_what_still_fails(tmp_path):
    code, records = replay_against(tmp_path, {"allow_origins": [PAGE]})  # GET only
    assert code == 1
    assert outcomes(records) == {
        "GET": ("fixed", None),
        "PUT": ("still blocked", "PreflightInvalidStatus"),  # Starlette's 400 carries ACAO
    }
    (put,) = [r for r in records if r["method"] == "PUT"]
    assert "preflight" in put["why"]


@pytest.mark.parametrize(
    ("only", "methods"), [("blocked", ["PUT"]), ("all", ["GET", "GET", "PUT"])]
)
def test_only_blocked_selects_the_blocked_requests(tmp_path, only, methods):
    # server-error-500: two allowed GETs, then a PUT whose handler raises (500, no CORS headers)
    code, records = replay_against(
        tmp_path, None, "--only", only, story="server-error-500", app="raises"
    )
    assert [r["method"] for r in records] == methods
    assert code == 1  # the 500 is still blocked: no CORS setting fixes a crashing handler
