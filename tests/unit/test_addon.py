"""The addon, driven by mitmproxy's own test helpers (taddons, tflow)."""

import json
import os
import stat

import pytest
from mitmproxy.addons.proxyauth import ProxyAuth
from mitmproxy.io import FlowReader
from mitmproxy.test import taddons, tflow

from cors_inspector.mitm.addon import BLOCKED_MARK, CorsInspector

from .builders import mitm_flow

PAGE = b"http://localhost:3000"


def _flow(method=b"GET", request_headers=(), status=200, response_headers=(), at=1.0):
    cors = [(b"Origin", PAGE), (b"Sec-Fetch-Mode", b"cors"), *request_headers]
    return mitm_flow(method, b"/items", cors, status, response_headers, at)


def test_blocked_flow_is_marked_and_logged(tmp_path):
    addon = CorsInspector()
    log = tmp_path / "decisions.jsonl"
    with taddons.context(addon) as tctx:
        tctx.configure(addon, cors_log=str(log))
        blocked = _flow()
        allowed = _flow(response_headers=[(b"Access-Control-Allow-Origin", PAGE)], at=2.0)
        before = blocked.get_state()
        addon.response(blocked)
        addon.response(allowed)
        addon.done()
    assert blocked.marked == BLOCKED_MARK
    assert "MissingAllowOriginHeader" in blocked.comment
    assert not allowed.marked
    # Marking aside, the flow itself is untouched.
    after = blocked.get_state()
    for key in ("marked", "comment"):
        before.pop(key), after.pop(key)
    assert before == after
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["verdict"] for r in records] == ["blocked", "allowed"]
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600


def test_preflight_waits_for_its_actual_request_and_is_paired(tmp_path):
    addon = CorsInspector()
    seen = []
    addon.on_decision = seen.append
    with taddons.context(addon):
        pre = _flow(
            b"OPTIONS",
            [(b"Access-Control-Request-Method", b"PUT")],
            200,
            [(b"Access-Control-Allow-Origin", PAGE), (b"Access-Control-Allow-Methods", b"PUT")],
        )
        addon.response(pre)
        addon.judge_arrived()
        assert seen == []
        addon.response(
            _flow(b"PUT", response_headers=[(b"Access-Control-Allow-Origin", PAGE)], at=1.1)
        )
        addon.judge_arrived()
    assert [(d.kind, d.verdict) for d in seen] == [("preflight", "allowed"), ("actual", "allowed")]
    assert seen[0].preflight_for == seen[1].flow_id


def test_error_without_response_is_judged_once():
    addon = CorsInspector()
    seen = []
    addon.on_decision = seen.append
    with taddons.context(addon):
        failed = tflow.tflow(err=True)
        failed.request.headers["Origin"] = "http://localhost:3000"
        addon.error(failed)
        addon.error(failed)
        addon.done()
    assert len(seen) == 1


def test_internal_error_is_counted_not_raised(monkeypatch, caplog):
    addon = CorsInspector()
    with taddons.context(addon):
        monkeypatch.setattr(addon.analyzer, "feed", lambda exchange: 1 / 0)
        addon.response(_flow())
        addon.response(_flow(at=2.0))
        addon.judge_arrived()
    assert addon.internal_errors == 2  # one flow's error does not stop the next from being judged
    assert "traffic is unaffected" in caplog.text


def saved_copy(flow, path, redact: bool):
    """`flow` through the addon with `cors_save=path`: the copy the file holds."""
    addon = CorsInspector()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, cors_save=str(path), cors_redact=redact)
        addon.response(flow)
        addon.done()
    with path.open("rb") as raw:
        (copy,) = list(FlowReader(raw).stream())
    return copy


def test_saved_flows_are_redacted_unless_asked(tmp_path):
    for redact in (True, False):
        f = _flow(
            request_headers=[(b"Cookie", b"sid=secret"), (b"Authorization", b"Bearer token")],
            response_headers=[(b"Set-Cookie", b"sid=new")],
        )
        copy = saved_copy(f, tmp_path / f"flows-{redact}.mitm", redact)
        assert f.request.headers["Cookie"] == "sid=secret"  # the live flow is untouched
        values = [
            copy.request.headers["Cookie"],
            copy.request.headers["Authorization"],
            copy.response.headers["Set-Cookie"],
        ]
        assert (values == ["[redacted]"] * 3) is redact


def test_saved_flows_mask_the_secret_fields_of_bodies_unless_asked(tmp_path):
    login = b"user=bob&password=hunter2"
    tokens = b'{"access_token": "eyJ.secret", "expires_in": 3600}'
    for redact in (True, False):
        f = _flow(
            method=b"POST",
            request_headers=[(b"Content-Type", b"application/x-www-form-urlencoded")],
            response_headers=[(b"Content-Type", b"application/json")],
        )
        f.request.content = login
        f.response.content = tokens
        f.response.encode("gzip")  # compressed on the wire: read, and masked, decoded
        copy = saved_copy(f, tmp_path / f"bodies-{redact}.mitm", redact)
        assert (f.request.content, f.response.content) == (login, tokens)  # live: untouched
        assert copy.response.headers["Content-Encoding"] == "gzip"
        if redact:
            assert copy.request.content == b"user=bob&password=[redacted]"
            assert copy.response.content == b'{"access_token": "[redacted]", "expires_in": 3600}'
        else:
            assert (copy.request.content, copy.response.content) == (login, tokens)


def test_commands_explain_fix_and_export(tmp_path):
    addon = CorsInspector()
    with taddons.context(addon) as tctx:
        f = _flow()
        addon.response(f)
        assert "MissingAllowOriginHeader" in addon.explain([f])
        fix = addon.fix([f])
        assert 'allow_origins=["http://localhost:3000"]' in fix
        assert "verified with Starlette" in fix
        out = tmp_path / "export.jsonl"
        tctx.command(addon.export, str(out))
    assert json.loads(out.read_text())["reason"] == "MissingAllowOriginHeader"


@pytest.mark.parametrize("option", ["cors_log", "cors_save"])
def test_log_rotation_and_options(tmp_path, option):
    addon = CorsInspector()
    path = tmp_path / "out"
    with taddons.context(addon) as tctx:
        tctx.configure(addon, **{option: str(path)}, cors_log_max_bytes=600)
        for index in range(6):
            addon.response(_flow(at=float(index)))
        addon.done()
    assert path.exists()
    if option == "cors_log":
        assert (tmp_path / "out.1").exists()  # rotated


def test_a_flow_after_shutdown_is_judged_quietly(tmp_path, caplog):
    """mitmproxy may still deliver a flow while it shuts down: never an error in its hook."""
    import asyncio

    addon = CorsInspector()
    seen = []
    addon.on_decision = seen.append
    with taddons.context(addon) as tctx:
        tctx.configure(addon, cors_log=str(tmp_path / "decisions.jsonl"))
        loop = asyncio.new_event_loop()
        addon._loop = loop  # as `running` leaves it
        loop.close()  # ... and the loop is gone
        addon.done()
        addon.response(_flow())
    assert [d.reason for d in seen] == ["MissingAllowOriginHeader"]
    assert addon.internal_errors == 0 and "internal error" not in caplog.text


def test_an_open_relay_under_mitmdump_is_warned_about_not_changed(caplog):
    addon = CorsInspector()
    with taddons.context(addon, ProxyAuth()) as tctx:
        # mitmproxy's own default listens on every interface.
        assert "listening on all interfaces without proxyauth" in caplog.text
        caplog.clear()
        tctx.configure(addon, listen_host="127.0.0.1")
        assert "without proxyauth" not in caplog.text
        tctx.configure(addon, listen_host="0.0.0.0")
        assert "listening on 0.0.0.0 without proxyauth" in caplog.text
        assert tctx.options.proxyauth is None  # the user's options are the user's
        caplog.clear()
        tctx.options.update(proxyauth="alice:pw")
        assert "without proxyauth" not in caplog.text


def _printed(cors_print: str | None, with_dumper: bool) -> str:
    """What the addon prints for one blocked flow, under a master with or without mitmdump's
    flow printer (the Dumper addon), with `cors_print` as given (None: its default)."""
    import io

    from mitmproxy.addons.dumper import Dumper

    out = io.StringIO()
    addon = CorsInspector(outfile=out)
    with taddons.context() as tctx:
        if with_dumper:  # loaded before any script, as mitmdump does
            tctx.master.addons.add(Dumper(io.StringIO()))
        tctx.master.addons.add(addon)
        options = {} if cors_print is None else {"cors_print": cors_print}
        tctx.configure(addon.printer, **options)  # as mitmdump does once its script loads
        addon.response(_flow())
        addon.done()
    return out.getvalue()


@pytest.mark.parametrize(
    ("cors_print", "with_dumper", "prints"),
    [
        (None, True, True),  # mitmdump -s addons/cors_inspector.py
        (None, False, False),  # mitmproxy's console, mitmweb: they own the screen
        ("on", False, True),  # cors-inspector proxy
        ("off", True, False),  # the TUI's in-process proxy
    ],
)
def test_lines_are_printed_where_the_option_says(cors_print, with_dumper, prints):
    printed = _printed(cors_print, with_dumper)
    assert ("MissingAllowOriginHeader" in printed) is prints


def test_the_tui_proxy_is_silent_and_the_proxy_command_prints():
    from dataclasses import replace

    from cors_inspector.mitm.proxy import ProxySettings, make_master

    async def options_of(settings: ProxySettings) -> tuple[str, bool]:
        addon = CorsInspector()
        master = make_master(settings, addon)
        return master.options.cors_print, addon.printer.enabled

    import asyncio

    tui = ProxySettings(listen_port=0)  # what the TUI's feed passes
    assert asyncio.run(options_of(tui)) == ("off", False)
    assert asyncio.run(options_of(replace(tui, print_lines=True))) == ("on", True)


def test_a_flow_after_shutdown_is_logged(tmp_path):
    log = tmp_path / "decisions.jsonl"
    addon = CorsInspector()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, cors_log=str(log))
        addon.done()
        addon.response(_flow())  # delivered after `done`: written, flushed, at once
        assert [json.loads(line)["reason"] for line in log.read_text().splitlines()] == [
            "MissingAllowOriginHeader"
        ]
        addon.close()


@pytest.mark.parametrize(
    ("option", "path", "words"),
    [
        ("cors_log", "/nonexistent/dir/x.jsonl", "cannot open the decision log"),
        ("cors_save", "/tmp", "cannot open the flows file /tmp: Is a directory"),
    ],
)
def test_a_file_that_cannot_be_opened_is_an_options_error(option, path, words):
    from mitmproxy.exceptions import OptionsError

    addon = CorsInspector()
    with taddons.context(addon) as tctx, pytest.raises(OptionsError, match=words):
        tctx.configure(addon, **{option: path})


def test_export_to_a_bad_path_is_a_command_error():
    from mitmproxy.exceptions import CommandError

    addon = CorsInspector()
    with taddons.context(addon), pytest.raises(CommandError, match="cannot write"):
        addon.export("/nonexistent/dir/out.jsonl")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_log_that_cannot_be_written_is_one_warning_then_counted(caplog):
    addon = CorsInspector()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, cors_log="/dev/full")
        for n in range(200):
            addon.response(_flow(at=float(n)))
            addon._write_out()
        addon.done()
        addon.log.done()  # as mitmproxy calls it, after ours
        assert addon.log.log.unwritten == 200
    warnings = [r for r in caplog.records if "cannot write the decision log" in r.getMessage()]
    assert len(warnings) == 1 and "No space left" in warnings[0].getMessage()
    assert addon.internal_errors == 0 and "Traceback" not in caplog.text
    assert "200 decisions could not be written" in caplog.text
