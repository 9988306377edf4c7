"""Read exchanges from a HAR 1.2 file (Chrome and Firefox DevTools, mitmproxy, Playwright).

A HAR is one JSON document; this reader walks its top level by hand and decodes one entry at
a time with the C JSON decoder, so memory holds one entry, not the file. An entry is bounded
while it is read, before it is decoded (MAX_RECORD_CHARS of text, about MAX_VALUES values);
the decoder's own recursion guard bounds its nesting (RecursionError at ~1000 levels, having
built no more than those few empty containers).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

from ..engine.exchange import BODY_HEAD, Exchange, Headers, Request, Response
from ..engine.words import counted
from .json_text import JsonStream, describe_error, latin1_headers
from .limits import is_status, is_time, timestamp


class HarError(ValueError):
    pass


def _text(value: object, field: str) -> str:
    # Exact types: a wrong-typed field must fail here, not in the engine.
    if type(value) is not str:
        raise TypeError(f"{field} is {type(value).__name__}, not text")
    return value


def _object(value: object, field: str) -> dict[str, Any]:
    if type(value) is not dict:
        raise TypeError(f"{field} is {type(value).__name__}, not an object")
    return value


def _optional_text(value: object) -> str | None:
    """A free-form field (`statusText`, `_error`, `_id`): text if it is text, else nothing."""
    if type(value) is str:
        return value
    return str(value) if type(value) is int else None


def _headers(raw: object) -> Headers:
    if type(raw) is not list:
        raise TypeError(f"headers is {type(raw).__name__}, not a list")
    return latin1_headers(
        (header["name"], header.get("value", ""))
        for header in raw
        if header["name"][:1] != ":"  # HTTP/2 pseudo-headers
    )


def _started(value: object) -> float:
    text = _text(value, "startedDateTime")
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except (ValueError, OverflowError, OSError):  # OSError: a local time the C library refuses
        raise ValueError("startedDateTime is not a date and time") from None
    return timestamp(when, "startedDateTime")


def _status(value: object) -> int:
    """The status code; 0 or less means no response (Chrome: 0, Playwright: -1)."""
    if value is None:
        value = 0
    elif (type(value) is float and value.is_integer()) or (
        type(value) is str and value.isascii() and value.isdigit()
    ):
        value = int(value)  # 200.0 or "200"; NaN and the infinities are no integers
    if type(value) is not int or not (value <= 0 or is_status(value)):
        raise ValueError("the status is not an HTTP status (100-999)")
    return value


def _ended(started: float, time: object) -> float | None:
    """When the response was complete: `time` is the duration in milliseconds."""
    if type(time) not in (int, float) or not 0 <= time < 1e15:  # type: ignore[operator]
        return None
    ended = started + time / 1000  # type: ignore[operator]
    return ended if is_time(ended) else None


def _body(post_data: object) -> bytes:
    text = post_data.get("text") if type(post_data) is dict else None
    return text.encode("utf-8", "replace") if type(text) is str else b""


def exchange_from_entry(entry: object, number: int) -> Exchange:
    entry = _object(entry, "the entry")
    request = _object(entry["request"], "request")
    response = _object(entry.get("response") or {}, "response")
    started = _started(entry["startedDateTime"])
    status = _status(response.get("status", 0))
    result = None
    browser_error = None
    if status > 0:
        content = response.get("content")
        text = content.get("text") if type(content) is dict else None
        result = Response(
            status=status,
            headers=_headers(response.get("headers", [])),
            reason=_optional_text(response.get("statusText")) or "",
            body_head=text[:BODY_HEAD] if status >= 400 and type(text) is str else "",
        )
    else:
        # Chrome records a request it failed (CORS included) as status 0 with `_error`;
        # Playwright as -1 with `_failureText` and only the page's provisional headers.
        error = _optional_text(
            response.get("_error") or entry.get("_error") or response.get("_failureText")
        )
        browser_error = error or f"status {status}, no response recorded"
    headers = _headers(request.get("headers", []))
    return Exchange(
        id=_optional_text(entry.get("_id") or entry.get("_requestId")) or f"har-{number}",
        started=started,
        request=Request(
            method=_text(request["method"], "method"),
            url=_text(request["url"], "url"),
            headers=headers,
            body=_body(request.get("postData")),
        ),
        response=result,
        ended=_ended(started, entry.get("time")),
        browser_error=browser_error,
        # Chrome's DevTools export names the socket; mitmproxy's and Playwright's HAR do not.
        connection=_optional_text(entry.get("connection")),
        # Playwright's record of a failed request keeps only the page's provisional headers.
        headers_recorded=not (
            result is None and "_failureText" in response and "sec-fetch-mode" not in headers
        ),
    )


def read_har(stream: IO[str]) -> Iterator[Exchange]:
    """Yield the exchanges of a HAR's `log.entries`, one entry decoded at a time."""
    json_stream = JsonStream(stream, HarError)
    found_log = False
    skipped = 0
    first_skipped = ""  # the first entry skipped and why: the count alone is kept after it
    for key in json_stream.members():
        if key != "log":
            json_stream.value()
            continue
        found_log = True
        for log_key in json_stream.members():
            if log_key != "entries":
                json_stream.value()
                continue
            for number, entry in enumerate(json_stream.items(), 1):
                try:
                    exchange = exchange_from_entry(entry, number)
                except (KeyError, TypeError, ValueError, AttributeError) as error:
                    # Keep going: the other entries are still worth judging.
                    skipped += 1
                    first_skipped = first_skipped or f"entry {number}: {describe_error(error)}"
                    continue
                yield exchange
    if not found_log:
        raise HarError('JSON, but not a HAR file (no "log" object)')
    if skipped:
        raise HarError(f"{counted(skipped, 'HAR entry', 'HAR entries')} skipped ({first_skipped})")
