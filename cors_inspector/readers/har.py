"""Read exchanges from a HAR 1.2 file (Chrome and Firefox DevTools, mitmproxy, Playwright).

A HAR is one JSON document; this reader walks its top level by hand and decodes one entry at
a time with the C JSON decoder, so memory holds one entry, not the file. An entry is bounded
while it is read, before it is decoded (MAX_RECORD_CHARS of text, about MAX_VALUES values);
the decoder's own recursion guard bounds its nesting (RecursionError at ~1000 levels, having
built no more than those few empty containers).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from itertools import chain
from typing import IO, Any

from ..engine.exchange import Exchange, Headers, Request, Response
from .limits import MAX_RECORD_CHARS, MAX_VALUES, is_status, is_time, timestamp

CHUNK = 1 << 20
BODY_HEAD = 256
_DECODER = json.JSONDecoder()
_WHITESPACE = " \t\n\r"
_NOT_WHITESPACE = re.compile(r"[^ \t\n\r]")
# A JSON string, or one cut by the end of the buffer: what it holds is no JSON structure.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
# A decoding error this close to the end of the text may be a token cut by it (`tru`, `\u00`).
_CUT = 8


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
            if position < len(buffer) and buffer[position] not in _WHITESPACE:
                return buffer[position]
            found = _NOT_WHITESPACE.search(buffer, position)  # C speed over a sea of spaces
            if found:
                self._position = found.start()
                return buffer[self._position]
            self._position = len(buffer)
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
                # Incomplete (the value runs past the buffer) or invalid: only an error at
                # the end, or a string still open there, may be cured by more text.
                incomplete = error.pos >= len(self._buffer) - _CUT or error.msg.startswith(
                    "Unterminated string"
                )
                if not (incomplete and self._grow()):
                    raise HarError(f"invalid JSON: {error.msg}") from None
                continue
            except RecursionError:
                raise HarError("invalid JSON: nested too deeply") from None
            except ValueError as error:  # e.g. an integer of more than 4300 digits
                raise HarError(f"invalid JSON: {error}") from None
            # A number or literal may be cut at the buffer's end: make sure it is complete.
            if (
                end == len(self._buffer)
                and not isinstance(value, (dict, list, str))
                and self._fill()
            ):
                continue
            self._position = end
            return value

    def _grow(self) -> bool:
        """Read more of a value that runs past the buffer, within the limits; False at the end."""
        held = len(self._buffer) - self._position
        if held >= MAX_RECORD_CHARS:
            raise HarError(f"a JSON value of more than {MAX_RECORD_CHARS:,} characters")
        # Grow by half (not double): the decoder restarts each time, and a string of 12M
        # characters may take 48 MB once one emoji arrives.
        if not self._fill(min(held // 2, MAX_RECORD_CHARS - held)):
            return False
        # The buffer now starts where the value does, and all of it belongs to the value.
        if held > CHUNK and _structure(self._buffer) > MAX_VALUES:
            raise HarError(f"a JSON value of more than {MAX_VALUES:,} values")
        return True

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


def _structure(text: str) -> int:
    """At least the number of values in `text` (commas and brackets outside strings)."""
    upper = text.count(",") + text.count("[") + text.count("{")
    if upper <= MAX_VALUES:
        return upper
    bare = _STRING.sub("", text)  # a body's JSON text, held in a string, is no structure
    return bare.count(",") + bare.count("[") + bare.count("{")


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


def _latin1(value: object) -> str:
    # The engine sees header values as bytes (one character a byte); HAR holds Unicode text.
    text = _text(value, "a header")
    return text if text.isascii() else text.encode("utf-8", "replace").decode("latin-1")


def _headers(raw: object) -> Headers:
    if type(raw) is not list:
        raise TypeError(f"headers is {type(raw).__name__}, not a list")
    pairs = tuple(
        (header["name"], header.get("value", ""))
        for header in raw
        if header["name"][:1] != ":"  # HTTP/2 pseudo-headers
    )
    # One C-level pass to see whether any name or value needs converting (rarely).
    try:
        plain = "".join(chain.from_iterable(pairs)).isascii()
    except TypeError:  # a name or value that is not a string
        plain = False
    if plain:
        return Headers(pairs)
    return Headers(tuple((_latin1(name), _latin1(value)) for name, value in pairs))


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
        # Playwright as -1 with nothing more.
        error = _optional_text(response.get("_error") or entry.get("_error"))
        browser_error = error or f"status {status}, no response recorded"
    return Exchange(
        id=_optional_text(entry.get("_id") or entry.get("_requestId")) or f"har-{number}",
        started=started,
        request=Request(
            method=_text(request["method"], "method"),
            url=_text(request["url"], "url"),
            headers=_headers(request.get("headers", [])),
            body=_body(request.get("postData")),
        ),
        response=result,
        ended=_ended(started, entry.get("time")),
        browser_error=browser_error,
    )


def _describe(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"no {error.args[0]!r} field"
    return f"{type(error).__name__}: {error}"


def read_har(stream: IO[str]) -> Iterator[Exchange]:
    """Yield the exchanges of a HAR's `log.entries`, one entry decoded at a time."""
    json_stream = _JsonStream(stream)
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
                    first_skipped = first_skipped or f"entry {number}: {_describe(error)}"
                    continue
                yield exchange
    if not found_log:
        raise HarError('JSON, but not a HAR file (no "log" object)')
    if skipped:
        raise HarError(
            f"{skipped} HAR entr{'y' if skipped == 1 else 'ies'} skipped ({first_skipped})"
        )
