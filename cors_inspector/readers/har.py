"""Read exchanges from a HAR 1.2 file (Chrome and Firefox DevTools, mitmproxy, Playwright).

A HAR is one JSON document; this reader walks its top level by hand and decodes one entry at
a time with the C JSON decoder, so memory holds one entry, not the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from itertools import chain
from typing import IO, Any

from ..engine.exchange import BODY_HEAD, Exchange, Headers, Request, Response

CHUNK = 1 << 20
_DECODER = json.JSONDecoder()
_WHITESPACE = " \t\n\r"


class HarError(ValueError):
    pass


class _JsonStream:
    """A cursor over a JSON text read in chunks; decodes one value at a time."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._buffer = ""
        self._position = 0
        self._eof = False

    def _fill(self, at_least: int = CHUNK) -> bool:
        if self._eof:
            return False
        more = self._stream.read(max(CHUNK, at_least))
        if not more:
            self._eof = True
            return False
        self._buffer = self._buffer[self._position :] + more
        self._position = 0
        return True

    def peek(self) -> str:
        """The next non-whitespace character ('' at the end)."""
        while True:
            buffer = self._buffer
            position = self._position
            while position < len(buffer) and buffer[position] in _WHITESPACE:
                position += 1
            self._position = position
            if position < len(buffer):
                return buffer[position]
            if not self._fill():
                return ""

    def expect(self, char: str) -> None:
        if self.peek() != char:
            found = self.peek() or "the end of the file"
            raise HarError(f"expected {char!r} but found {found!r}")
        self._position += 1

    def value(self) -> Any:
        """Decode the next JSON value, reading more of the file until it is complete."""
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self._buffer, self._position)
            except json.JSONDecodeError as error:
                # Incomplete (the value runs past the buffer) or invalid: more text tells.
                if not self._fill(len(self._buffer) - self._position):
                    raise HarError(f"invalid JSON: {error.msg}") from None
                continue
            # A number or literal may be cut at the buffer's end: make sure it is complete.
            if (
                end == len(self._buffer)
                and not isinstance(value, (dict, list, str))
                and self._fill()
            ):
                continue
            self._position = end
            return value

    def members(self) -> Iterator[str]:
        """Iterate the keys of the object that starts here; the caller consumes each value."""
        self.expect("{")
        if self.peek() == "}":
            self._position += 1
            return
        while True:
            key = self.value()
            if not isinstance(key, str):
                raise HarError("an object key is not a string")
            self.expect(":")
            yield key
            if self.peek() == ",":
                self._position += 1
                continue
            self.expect("}")
            return

    def items(self) -> Iterator[Any]:
        """Decode each element of the array that starts here."""
        self.expect("[")
        if self.peek() == "]":
            self._position += 1
            return
        while True:
            yield self.value()
            if self.peek() == ",":
                self._position += 1
                continue
            self.expect("]")
            return


def _latin1(value: object) -> str:
    # The engine sees header values as bytes (one character a byte); HAR holds Unicode text.
    text = str(value)
    return text if text.isascii() else text.encode("utf-8", "replace").decode("latin-1")


def _headers(raw: list[dict[str, Any]]) -> Headers:
    pairs = tuple(
        (header["name"], header.get("value", ""))
        for header in raw
        if not str(header["name"]).startswith(":")  # HTTP/2 pseudo-headers
    )
    # One C-level pass to see whether any name or value needs converting (rarely).
    try:
        plain = "".join(chain.from_iterable(pairs)).isascii()
    except TypeError:  # a name or value that is not a string
        plain = False
    if plain:
        return Headers(pairs)
    return Headers(tuple((_latin1(name), _latin1(value)) for name, value in pairs))


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


def _describe(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"no {error.args[0]!r} field"
    return f"{type(error).__name__}: {error}"


def read_har(stream: IO[str]) -> Iterator[Exchange]:
    """Yield the exchanges of a HAR's `log.entries`, one entry decoded at a time."""
    json_stream = _JsonStream(stream)
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
                    skipped.append((number, _describe(error)))
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
