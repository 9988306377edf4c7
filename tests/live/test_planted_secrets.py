"""Secrets planted in real captures (a real `cors-inspector proxy` run, a HAR, a NetLog from
sample_flows/) are absent from every default output, present with --no-redact; every file
written is 0600, even one that existed at 0644."""

from __future__ import annotations

import json
import signal
import stat
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
from mitmproxy.io import FlowReader
from mitmproxy.test import taddons

from cors_inspector.cli import main
from cors_inspector.mitm.addon import CorsInspector
from tests.support import servers
from tests.support.live import fetch_through, start_backend
from tests.support.paths import REPO

PARAMETERS = (
    "access_token",
    "id_token",
    "refresh_token",
    "token",
    "api_key",
    "apikey",
    "key",
    "client_secret",
    "password",
    "secret",
    "signature",
    "sig",
    "code",
)
QUERY = {name: f"QV{index:02d}PLANT" for index, name in enumerate(PARAMETERS)}
QUERY_STRING = "&".join(f"{name}={value}" for name, value in QUERY.items()) + "&case=plant"
# On the wire through the proxy: headers, a Referer with userinfo (an @ in the password) and
# the backend's /planted answer (tests/live/fixed_backend.py): a scheme-relative Location
# with userinfo and a token, a Set-Cookie, and an access_token in its JSON body; a password
# in the request's form body.
WIRE = ["COOKIE1", "AUTHZ2", "PROXYAUTH3", "refuser", "se@cret4", "REFCODE5", "BODYPW15"]
RESPONSE = ["locuser", "pa@ss7x", "LOCTOKEN8", "SETCOOKIE9", "RESPTOKEN16"]
FORM = b"user=bob&password=BODYPW15"
# In the HAR: userinfo in request URLs (`bob:se@cret@host`, `user:pa@ss@host`), a Location.
HAR_ONLY = ["harbob", "se@cret10", "haruser", "pa@ss11", "hloc", "hpass12", "HCOOKIE13", "HAUTH14"]
EVERY_SECRET = [*QUERY.values(), *WIRE, *RESPONSE, *HAR_ONLY]


def request(backend: int, path: str) -> bytes:
    return (
        f"GET http://127.0.0.1:{backend}{path}?{QUERY_STRING} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{backend}\r\nOrigin: http://localhost:3000\r\n"
        "Sec-Fetch-Mode: cors\r\nCookie: sid=COOKIE1\r\nAuthorization: Bearer AUTHZ2\r\n"
        "Proxy-Authorization: Basic PROXYAUTH3\r\n"
        "Referer: http://refuser:se@cret4@localhost:3000/page?code=REFCODE5\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(FORM)}\r\nConnection: close\r\n\r\n"
    ).encode() + FORM


def private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) == 0o600


def flows_in(path: Path) -> list:
    with path.open("rb") as raw:
        return list(FlowReader(raw).stream())


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + servers.READY_TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)  # a poll interval, not a synchronisation


def records(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


@pytest.fixture(scope="module")
def captured(tmp_path_factory) -> dict:
    """Two real proxy runs (default, and --no-redact) of the same two requests, plus the HAR
    and NetLog made here; the backend stays up for the replays."""
    tmp = tmp_path_factory.mktemp("planted")
    with ExitStack() as stack:
        backend, backend_port = start_backend(stack, tmp)
        files = {}
        proxies = []
        for name, options in (("default", []), ("raw", ["--no-redact"])):
            log, saved = tmp / f"{name}.jsonl", tmp / f"{name}.mitm"
            for existing in (log, saved):  # existing files, readable by all
                existing.touch()
                existing.chmod(0o644)
            (port,) = servers.free_ports(1, backend_port)
            argv = [sys.executable, "-m", "cors_inspector", "proxy", "--listen-port", str(port)]
            argv += ["--log", str(log), "--save", str(saved), "--all", *options]
            proxy = servers.start(
                f"proxy-{name}",
                argv,
                stack=stack,
                log_dir=tmp,
                cwd=REPO,
                stop_signal=signal.SIGINT,
            )
            proxies.append((proxy, port, log, saved))
            files[name] = {"log": log, "saved": saved, "lines": proxy.log_path}
        deadline = time.monotonic() + servers.READY_TIMEOUT_S
        backend.wait_for_port(backend_port, deadline)
        for proxy, port, log, saved in proxies:
            proxy.wait_for_port(port, deadline)
            for path in ("/planted", "/blocked"):
                fetch_through(port, request(backend_port, path))
            wait_for(
                lambda log=log, saved=saved: records(log) == 2 and len(flows_in(saved)) == 2,
                "the proxy's 2 records and 2 saved flows",
            )
            proxy.stop()
        files["har"] = make_har(tmp / "planted.har")
        files["netlog"] = make_netlog(tmp / "planted.netlog.json")
        yield {"tmp": tmp, "backend": backend_port, "files": files}


def make_har(path: Path) -> Path:
    def entry(url: str, status: int, response_headers: list, at: str) -> dict:
        headers = {
            "Origin": "http://localhost:3000",
            "Sec-Fetch-Mode": "cors",
            "Cookie": "sid=HCOOKIE13",
            "Authorization": "Bearer HAUTH14",
            "Referer": "http://refuser:se@cret4@localhost:3000/?code=REFCODE5",
        }
        return {
            "startedDateTime": at,
            "time": 1,
            "request": {
                "method": "GET",
                "url": url,
                "httpVersion": "HTTP/1.1",
                "headers": [{"name": k, "value": v} for k, v in headers.items()],
                "queryString": [],
                "cookies": [],
                "headersSize": -1,
                "bodySize": 0,
            },
            "response": {
                "status": status,
                "statusText": "",
                "httpVersion": "HTTP/1.1",
                "headers": [{"name": k, "value": v} for k, v in response_headers],
                "cookies": [],
                "content": {"size": 0, "mimeType": "text/plain"},
                "redirectURL": "",
                "headersSize": -1,
                "bodySize": 0,
            },
            "cache": {},
            "timings": {"send": 0, "wait": 1, "receive": 0},
        }

    entries = [
        entry(
            f"http://harbob:se@cret10@localhost:8000/api?{QUERY_STRING}",
            200,
            [("Set-Cookie", "sid=SETCOOKIE9")],
            "2026-01-01T00:00:00.000Z",
        ),
        entry(
            "http://haruser:pa@ss11@localhost:8000/api/2",
            302,
            [
                ("Location", "//hloc:hpass12@elsewhere.test/?token=LOCTOKEN8"),
                ("Access-Control-Allow-Origin", "http://localhost:3000"),
            ],
            "2026-01-01T00:00:01.000Z",
        ),
    ]
    path.write_text(json.dumps({"log": {"version": "1.2", "creator": {}, "entries": entries}}))
    return path


def make_netlog(path: Path) -> Path:
    sample = (REPO / "sample_flows" / "header-not-allowed.netlog.json").read_text()
    assert "?case=" in sample
    path.write_text(sample.replace("?case=", f"?{QUERY_STRING}&case="))
    return path


def shown(capfd, *argv: str) -> str:
    """What `cors-inspector ARGV` prints, stdout and stderr, run as its entry point runs."""
    main(list(argv))
    out, err = capfd.readouterr()
    return out + err


def absent(text: str, where: str) -> None:
    found = [secret for secret in EVERY_SECRET if secret in text]
    assert not found, f"{where} shows {found}"


CAPTURES = ("default-saved", "raw-saved", "har", "netlog")


def capture_path(files: dict, name: str) -> Path:
    return files[name.split("-")[0]]["saved"] if name.endswith("-saved") else files[name]


@pytest.mark.parametrize("capture", CAPTURES)
def test_analyze_and_fix_show_no_secret_unless_asked(captured, capture, capfd, monkeypatch):
    monkeypatch.setenv("COLUMNS", "2000")  # no URL folded across lines
    path = str(capture_path(captured["files"], capture))
    for argv in (
        ["analyze", path],
        ["analyze", path, "--only", "all"],
        ["analyze", path, "--format", "json"],
        ["analyze", path, "--format", "jsonl"],
        ["fix", path],
        ["fix", path, "--format", "json"],
    ):
        absent(shown(capfd, *argv), " ".join(argv[:1] + argv[2:]))
    revealed = shown(capfd, "analyze", path, "--format", "jsonl", "--no-redact")
    revealed += shown(capfd, "fix", path, "--format", "json", "--no-redact")
    expected = [] if capture == "default-saved" else list(QUERY.values())
    if capture == "har":
        expected += ["harbob", "se@cret10", "haruser", "pa@ss11"]
    assert [secret for secret in expected if secret not in revealed] == []


def test_replay_shows_no_secret_and_says_what_it_sent_redacted(captured, capfd, monkeypatch):
    monkeypatch.setenv("COLUMNS", "2000")
    files, target = captured["files"], f"http://127.0.0.1:{captured['backend']}"
    raw = str(files["raw"]["saved"])
    for form in ("text", "json"):
        absent(shown(capfd, "replay", raw, "--to", target, "--format", form), f"replay {form}")
    assert "QV00PLANT" in shown(capfd, "replay", raw, "--to", target, "--no-redact")
    redacted = shown(capfd, "replay", str(files["default"]["saved"]), "--to", target)
    absent(redacted, "replay of the redacted capture")
    assert "left out of the replay" in redacted  # Cookie, Authorization...
    assert "sent as [redacted]" in redacted
    assert "request bodies have fields the capture redacted" in redacted


def test_the_proxy_writes_and_prints_no_secret_unless_asked(captured):
    default, raw = captured["files"]["default"], captured["files"]["raw"]
    for what in ("log", "saved", "lines"):
        absent(default[what].read_bytes().decode("latin-1"), f"the proxy's {what}")
    everything_on_the_wire = [*QUERY.values(), *WIRE, *RESPONSE]
    saved = raw["saved"].read_bytes().decode("latin-1")
    assert [s for s in everything_on_the_wire if s not in saved] == []
    for what in ("log", "lines"):
        text = raw[what].read_text()
        assert [s for s in QUERY.values() if s not in text] == [], what
    for path in (default["log"], default["saved"], raw["log"], raw["saved"]):
        assert private(path), path  # two of them existed at 0644


@pytest.mark.parametrize("redact", [True, False])
def test_cors_export_and_explain(captured, tmp_path, redact):
    flows = flows_in(captured["files"]["raw"]["saved"])
    export = tmp_path / "export.jsonl"
    export.touch()
    export.chmod(0o644)
    addon = CorsInspector()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, cors_redact=redact)
        for f in flows:
            addon.response(f)
        addon.export(str(export))
        explained = addon.explain(flows)
    text = export.read_text() + explained
    assert private(export)
    if redact:
        absent(text, "cors.export and cors.explain")
    else:
        assert [secret for secret in QUERY.values() if secret not in text] == []
