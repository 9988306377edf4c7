"""Keep secrets out of what is written or shown: Cookie, Set-Cookie, Authorization and
Proxy-Authorization values, the user:password part of URLs, the values of query (and
fragment) parameters that carry secrets, and the fields of form and JSON bodies that do; and
keep what is written readable by the user only.

Redaction works on copies; the traffic itself is never altered. Everything here runs on the
proxy's hot path, so each function first asks whether its text can hold a secret at all
(`@` for userinfo, `=` for a parameter) before any regular expression runs.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import replace
from pathlib import Path
from typing import IO

from .engine.decision import Decision, Initiator, Step

SECRET_HEADERS = ("cookie", "set-cookie", "authorization", "proxy-authorization")
# Query and fragment parameters whose values are credentials (OAuth, API keys, signed URLs).
SECRET_PARAMETERS = (
    "access_token",
    "id_token",
    "refresh_token",
    "token",
    "auth_token",
    "api_key",
    "apikey",
    "key",
    "client_secret",
    "password",
    "passwd",
    "secret",
    "signature",
    "sig",
    "code",
    "x-amz-signature",
    "x-amz-security-token",
    "x-goog-signature",
)
MASK = "[redacted]"
# Userinfo is masked by a plain name: `http://[redacted]@host` is no URL to a URL parser.
USERINFO_MASK = "redacted"
PRIVATE_FILE = 0o600
# A value stops where a URL, a quoted string or a JSON string would end.
_STOP = r"\s\"'`<>\\"
# Userinfo is everything up to the *last* `@` of the authority (WHATWG URL), so
# `http://bob:se@cret@host` loses `bob:se@cret`; `//user:pass@host` (scheme-relative) too.
_USERINFO = re.compile(rf"(?i)(\b[a-z][a-z0-9+.\-]*://|(?<![^{_STOP}(\[=,;])//)[^/?#{_STOP}]*@")
_PARAMETER = re.compile(
    r"(?i)([?&;#](?:" + "|".join(map(re.escape, SECRET_PARAMETERS)) + rf")=)[^&#{_STOP}]+"
)


# A body field carries a secret by one of the parameter names, or by a word within its name
# (accessToken, client_secret, user[password], X-Api-Key).
_SECRET_FIELD = re.compile(
    rb"(?i)^(?:"
    + b"|".join(re.escape(name.encode()) for name in SECRET_PARAMETERS)
    + rb")\Z|token|secret|passw|api.?key|credential"
)
# Fields as each kind of body writes them: name and value. Names are bounded and values
# possessive, so that no body, however hostile, makes these scans more than linear.
_FORM_FIELD = re.compile(rb"(?:^|(?<=&))([^=&]{1,256})=([^&]++)")
_JSON_MEMBER = re.compile(rb'"([^"\\\x00-\x1f]{1,256})"(\s*+:\s*+)"((?:[^"\\]++|\\.)*+)"')
# A part's name, in its Content-Disposition line (its value follows the part's blank line).
_PART_NAME = re.compile(rb'(?i)content-disposition:[^\r\n]{0,512}?\bname="([^"\r\n]{1,256})"')
_MASK_BYTES = MASK.encode()


def _masked_field(field: re.Match[bytes]) -> bytes:
    """The field as it was, its value masked when its name says it is a secret."""
    whole = field.group(0)
    if not _SECRET_FIELD.search(field.group(1)):
        return whole
    start, (value_start, value_end) = field.start(), field.span(field.lastindex or 1)
    return whole[: value_start - start] + _MASK_BYTES + whole[value_end - start :]


def redact_body(content_type: str, body: bytes) -> bytes:
    """`body` with the values of its secret fields masked, for the bodies that have fields
    (form, multipart form, JSON); the very `body` when it has none, or is of another kind."""
    kind = content_type.lower()
    if "json" in kind:
        pattern = _JSON_MEMBER
    elif "x-www-form-urlencoded" in kind:
        pattern = _FORM_FIELD
    elif "multipart/form-data" in kind:
        return _redacted_parts(body)
    else:
        return body
    redacted = pattern.sub(_masked_field, body)
    return body if redacted == body else redacted


def _redacted_parts(body: bytes) -> bytes:
    """A multipart form with the values of its secret parts masked."""
    pieces, kept = [], 0  # kept: where the body is copied from next
    for part in _PART_NAME.finditer(body):
        if part.start() < kept or not _SECRET_FIELD.search(part.group(1)):
            continue
        blank = body.find(b"\r\n\r\n", part.end())
        if blank < 0:
            break
        value = blank + 4
        end = body.find(b"\r", value)
        end = len(body) if end < 0 else end
        pieces += [body[kept:value], _MASK_BYTES]
        kept = end
    return b"".join([*pieces, body[kept:]]) if pieces else body


def redact_text(text: str) -> str:
    """Mask the userinfo of every URL in `text`, and the values of secret parameters."""
    if "@" in text:
        text = _USERINFO.sub(rf"\1{USERINFO_MASK}@", text)
    if "=" in text:
        text = _PARAMETER.sub(rf"\1{MASK}", text)
    return text


def redact_line(line: bytes) -> bytes:
    """`redact_text` for a UTF-8 line (decoded only when it may hold a secret)."""
    if b"@" in line or b"=" in line:
        return redact_text(line.decode()).encode()
    return line


def mask_value(name: str, value: str) -> str:
    """A header value as written or shown: secret headers masked, URLs
    in any other (Referer, Location, ...) redacted."""
    if name.lower() in SECRET_HEADERS:
        return MASK
    return redact_text(value)


def _redacted(text: str | None) -> str | None:
    return None if text is None else redact_text(text)


def _redacted_step(step: Step) -> Step:
    observed, needed = redact_text(step.observed), redact_text(step.needed)
    if observed is step.observed and needed is step.needed:
        return step
    return Step(step.check, step.spec, observed, needed, step.outcome)


def redact_decision(decision: Decision) -> Decision:
    """`decision` with every text it shows redacted (URLs, explanation, console message,
    trace); the decision itself when nothing needed it. Its exchange is kept as it is: what
    is judged or replayed stays whole, only what is shown changes."""
    # redact_text returns its very argument when it changes nothing: `is` tells, cheaply.
    url = redact_text(decision.url)
    explanation = redact_text(decision.explanation)
    console_message = _redacted(decision.console_message)
    firefox_console_message = _redacted(decision.firefox_console_message)
    failed_parameter = _redacted(decision.failed_parameter)
    trace = [_redacted_step(step) for step in decision.trace]
    initiator = _redacted_initiator(decision.initiator)
    if (
        url is decision.url
        and initiator is decision.initiator
        and explanation is decision.explanation
        and console_message is decision.console_message
        and firefox_console_message is decision.firefox_console_message
        and failed_parameter is decision.failed_parameter
        and all(new is old for new, old in zip(trace, decision.trace, strict=True))
    ):
        return decision
    return replace(
        decision,
        url=url,
        explanation=explanation,
        console_message=console_message,
        firefox_console_message=firefox_console_message,
        failed_parameter=failed_parameter,
        trace=trace,
        initiator=initiator,
    )


def _redacted_initiator(initiator: Initiator | None) -> Initiator | None:
    """The script URLs of the call stack (a token in a script's query string)."""
    if initiator is None:
        return None
    stack = tuple(frame._replace(url=redact_text(frame.url)) for frame in initiator.stack)
    url = redact_text(initiator.url)
    if url is initiator.url and all(
        new.url is old.url for new, old in zip(stack, initiator.stack, strict=True)
    ):
        return initiator
    return initiator._replace(url=url, stack=stack)


def make_private(descriptor: int) -> None:
    """Mode 0600 for an open regular file, whatever mode it had (a device, such as
    /dev/null, is left alone)."""
    if stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.fchmod(descriptor, PRIVATE_FILE)


def open_private(path: Path, mode: str, buffering: int = -1) -> IO:
    """Open for appending, the file readable and writable by the user only, whether it was
    created here or existed (an existing 0644 log would otherwise take secrets at 0644)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
    make_private(descriptor)
    return os.fdopen(descriptor, mode, buffering)


def write_private(path: Path, text: str) -> None:
    """Replace `path`'s content with `text` (UTF-8), readable by the user only."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    make_private(descriptor)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(text)
