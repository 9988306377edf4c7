"""Redaction: the secrets a URL or header can carry, masked wherever they are shown; files
the tool writes are readable by the user only, whatever mode they had."""

import os
import stat
from urllib.parse import urlsplit

import pytest

from cors_inspector.redact import (
    SECRET_PARAMETERS,
    mask_value,
    open_private,
    redact_body,
    redact_decision,
    redact_line,
    redact_text,
    write_private,
)

from .builders import API, PAGE, cors_get, exchange, judge_one


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("http://bob:se@cret@host/x", "http://redacted@host/x"),
        ("https://user:pa@ss@host:8443/p?q=1", "https://redacted@host:8443/p?q=1"),
        ("//user:pass@host/p", "//redacted@host/p"),
        ("Location: //u:p@h/x", "Location: //redacted@h/x"),
        ("`ftp://u@h`", "`ftp://redacted@h`"),
        (
            '{"url":"http://a:b@h/?token=t","x":1}',
            '{"url":"http://redacted@h/?token=[redacted]","x":1}',
        ),
        (
            "https://h/p?access_token=abc&x=1#id_token=zz",
            "https://h/p?access_token=[redacted]&x=1#id_token=[redacted]",
        ),
        ("https://h/p?a=1&API_KEY=v", "https://h/p?a=1&API_KEY=[redacted]"),
        # Not secrets: an address, an @ in a query value, a parameter merely ending in a name.
        ("mail bob@example.com", "mail bob@example.com"),
        ("http://h/p?x=a@b", "http://h/p?x=a@b"),
        ("http://h/p?monkey=1&case=x", "http://h/p?monkey=1&case=x"),
    ],
)
def test_redact_text(text, redacted):
    assert redact_text(text) == redacted


@pytest.mark.parametrize("name", SECRET_PARAMETERS)
def test_every_secret_parameter_is_masked(name):
    url = f"http://h/p?a=1&{name}=SECRET-VALUE&b=2"
    assert redact_text(url) == f"http://h/p?a=1&{name}=[redacted]&b=2"


def test_a_redacted_url_is_still_a_url():
    parts = urlsplit(redact_text("http://bob:se@cret@host:81/x?token=t"))
    assert (parts.hostname, parts.port, parts.username) == ("host", 81, "redacted")


def test_nothing_to_redact_returns_the_very_text():
    text = "http://localhost:8000/api?case=one"
    assert redact_text(text) is text
    assert redact_line(b'{"url":"http://h/"}') == b'{"url":"http://h/"}'


def test_header_values():
    assert mask_value("Cookie", "sid=1") == "[redacted]"
    assert (
        mask_value("referer", "http://u:p@page/?code=42") == "http://redacted@page/?code=[redacted]"
    )
    assert mask_value("accept", "*/*") == "*/*"


def test_a_decision_shows_no_secret_but_judges_the_whole_exchange():
    location = "http://u:pw@elsewhere/next?token=T0K"
    captured = exchange(
        "GET",
        f"{API}/items?access_token=SECRET",
        {"Origin": PAGE, "Sec-Fetch-Mode": "cors"},
        302,
        {"Location": location, "Access-Control-Allow-Origin": PAGE},
    )
    decision = judge_one(captured)
    shown = redact_decision(decision)
    assert decision.verdict == shown.verdict == "blocked"
    assert decision.reason == "RedirectContainsCredentials"
    texts = [
        shown.url,
        shown.explanation,
        shown.console_message or "",
        shown.failed_parameter or "",
    ]
    texts += [text for step in shown.trace for text in (step.observed, step.needed)]
    everything = "\n".join(texts)
    for secret in ("SECRET", "u:pw", "T0K"):
        assert secret not in everything
    assert "SECRET" in decision.url  # the original is untouched
    assert shown.exchange is captured


def test_a_decision_without_secrets_is_not_copied():
    decision = judge_one(cors_get({"Access-Control-Allow-Origin": PAGE}, url=f"{API}/items?case=x"))
    assert redact_decision(decision) is decision


def test_existing_files_become_private(tmp_path):
    log = tmp_path / "log.jsonl"
    log.write_text("old\n")
    log.chmod(0o644)
    with open_private(log, "a") as out:
        out.write("new\n")
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert log.read_text() == "old\nnew\n"
    saved = tmp_path / "fix.py"
    saved.write_text("x")
    saved.chmod(0o666)
    write_private(saved, "y")
    assert (stat.S_IMODE(saved.stat().st_mode), saved.read_text()) == (0o600, "y")


def test_devices_are_left_alone():
    before = stat.S_IMODE(os.stat("/dev/null").st_mode)
    with open_private("/dev/null", "a") as out:
        out.write("x")
    write_private("/dev/null", "y")
    assert stat.S_IMODE(os.stat("/dev/null").st_mode) == before


@pytest.mark.parametrize(
    ("content_type", "body", "redacted"),
    [
        (
            "application/x-www-form-urlencoded",
            b"user=bob&password=hunter2&remember=1",
            b"user=bob&password=[redacted]&remember=1",
        ),
        (
            "application/x-www-form-urlencoded; charset=UTF-8",
            b"grant_type=authorization_code&code=xyz&client_secret=s3&user%5Bpassword%5D=p",
            b"grant_type=authorization_code&code=[redacted]&client_secret=[redacted]"
            b"&user%5Bpassword%5D=[redacted]",
        ),
        (
            "application/json",
            b'{"access_token": "eyJ.a\\"b", "token_type":"bearer", "expires_in": 3600,'
            b' "user": {"name": "bob", "apiKey": "k1"}}',
            b'{"access_token": "[redacted]", "token_type":"[redacted]", "expires_in": 3600,'
            b' "user": {"name": "bob", "apiKey": "[redacted]"}}',
        ),
        (
            "application/vnd.api+json",
            b'{"newPassword":"p","key":"k","monkey":"m","note":"password: x"}',
            b'{"newPassword":"[redacted]","key":"[redacted]","monkey":"m","note":"password: x"}',
        ),
        (
            "multipart/form-data; boundary=b",
            b'--b\r\nContent-Disposition: form-data; name="user"\r\n\r\nbob\r\n'
            b'--b\r\nContent-Disposition: form-data; name="password"\r\n\r\nhunter2\r\n'
            b'--b\r\nContent-Disposition: form-data; name="f"; filename="token.txt"\r\n'
            b"Content-Type: text/plain\r\n\r\ndata\r\n--b--\r\n",
            b'--b\r\nContent-Disposition: form-data; name="user"\r\n\r\nbob\r\n'
            b'--b\r\nContent-Disposition: form-data; name="password"\r\n\r\n[redacted]\r\n'
            b'--b\r\nContent-Disposition: form-data; name="f"; filename="token.txt"\r\n'
            b"Content-Type: text/plain\r\n\r\ndata\r\n--b--\r\n",
        ),
        # Not fields: a text body is left as it is, whatever it says.
        ("text/plain", b"password=hunter2", b"password=hunter2"),
    ],
    ids=["login-form", "oauth-code-exchange", "token-response", "camel-case", "multipart", "text"],
)
def test_redact_body_masks_the_values_of_secret_fields(content_type, body, redacted):
    assert redact_body(content_type, body) == redacted


def test_a_body_without_secrets_is_the_very_body():
    body = b'{"items": [1, 2], "name": "x"}'
    assert redact_body("application/json", body) is body


@pytest.mark.parametrize(
    "body",
    [
        b'"' + b"tokentoken" * 100_000,  # an unterminated string full of secret words
        b'{"' + b"a" * 1_000_000,
        b"&" * 500_000 + b"=" * 500_000,
        b'Content-Disposition: form-data; name="' * 50_000,
    ],
    ids=["unterminated-string", "unterminated-key", "separators", "dispositions"],
)
def test_hostile_bodies_are_scanned_in_linear_time(body):
    # A quadratic scan of a megabyte would take minutes: each of these takes milliseconds.
    for kind in ("application/json", "application/x-www-form-urlencoded", "multipart/form-data"):
        assert redact_body(kind, body) == body
