"""Read exchanges from a HAR 1.2 file (Chrome and Firefox DevTools, mitmproxy, Playwright).

A HAR is one JSON document; this reader walks its top level by hand and decodes one entry at
a time with the C JSON decoder, so memory holds one entry, not the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

from ..engine.exchange import BODY_HEAD, Exchange, Headers, Request, Response
from .json_text import JsonStream, describe_error, latin1_headers


class HarError(ValueError):
    pass


def _headers(raw: list[dict[str, Any]]) -> Headers:
    return latin1_headers(
        (header["name"], header.get("value", ""))
        for header in raw
        if not str(header["name"]).startswith(":")  # HTTP/2 pseudo-headers
    )


def _timestamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def exchange_from_entry(entry: dict[str, Any], number: int) -> Exchange:
    request = entry["request"]
    response = entry.get("response") or {}
    started = _timestamp(entry["startedDateTime"])
    status = int(response.get("status", 0) or 0)
    # Chrome's DevTools export says `_error`, Playwright's recorder `_failureText`.
    error = response.get("_error") or entry.get("_error") or response.get("_failureText")
    result = None
    browser_error = None
    if status > 0:
        content = response.get("content") or {}
        text = content.get("text") or ""
        result = Response(
            status=status,
            headers=_headers(response.get("headers", [])),
            reason=str(response.get("statusText", "")),
            body_head=text[:BODY_HEAD] if status >= 400 and isinstance(text, str) else "",
        )
    else:
        # Chrome records a request it failed (CORS included) as status 0 with `_error`;
        # Playwright as -1 with `_failureText` and no request headers.
        browser_error = str(error) if error else f"status {status}, no response recorded"
    time = entry.get("time")
    return Exchange(
        id=str(entry.get("_id") or entry.get("_requestId") or f"har-{number}"),
        started=started,
        request=Request(
            method=str(request["method"]),
            url=str(request["url"]),
            headers=_headers(request.get("headers", [])),
            body=str((request.get("postData") or {}).get("text") or "").encode(),
        ),
        response=result,
        ended=started + time / 1000 if isinstance(time, (int, float)) and time >= 0 else None,
        browser_error=browser_error,
        # Chrome's DevTools export names the socket; mitmproxy's and Playwright's HAR do not.
        connection=str(connection)
        if isinstance(connection := entry.get("connection"), (str, int))
        else None,
    )


def read_har(stream: IO[str]) -> Iterator[Exchange]:
    """Yield the exchanges of a HAR's `log.entries`, one entry decoded at a time."""
    json_stream = JsonStream(stream, HarError)
    found_log = False
    skipped: list[tuple[int, str]] = []
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
                    skipped.append((number, describe_error(error)))
                    continue
                yield exchange
    if not found_log:
        raise HarError('JSON, but not a HAR file (no "log" object)')
    if skipped:
        number, why = skipped[0]
        raise HarError(
            f"{len(skipped)} HAR entr{'y' if len(skipped) == 1 else 'ies'} skipped "
            f"(entry {number}: {why})"
        )
