"""What the JSON captures (HAR, Chrome's NetLog) share: a cursor that decodes one JSON value
at a time from a text stream, within bounds (limits.py), and header text as the engine sees it
(one character a byte)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from itertools import chain
from typing import IO, Any

from ..engine.exchange import Headers
from .limits import MAX_RECORD_CHARS, MAX_VALUES

CHUNK = 1 << 20
_DECODER = json.JSONDecoder()
_WHITESPACE = " \t\n\r"
_NOT_WHITESPACE = re.compile(r"[^ \t\n\r]")
# A JSON string, or one cut by the end of the buffer: what it holds is no JSON structure.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
# A decoding error this close to the end of the text may be a token cut by it (`tru`, `\u00`).
_CUT = 8


class JsonStream:
    """A cursor over a JSON text read in chunks; decodes one value at a time."""

    def __init__(self, stream: IO[str], error: type[ValueError], buffer: str = "") -> None:
        self._stream = stream
        self._error = error  # raised for invalid JSON, with a one-line message
        self._buffer = buffer  # text already read from `stream`
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
            raise self._error(f"expected {char!r} but found {found!r}")
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
                    raise self._error(f"invalid JSON: {error.msg}") from None
                continue
            except RecursionError:
                raise self._error("invalid JSON: nested too deeply") from None
            except ValueError as error:  # e.g. an integer of more than 4300 digits
                raise self._error(f"invalid JSON: {error}") from None
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
            raise self._error(f"a JSON value of more than {MAX_RECORD_CHARS:,} characters")
        # Grow by half (not double): the decoder restarts each time, and a string of 12M
        # characters may take 48 MB once one emoji arrives.
        if not self._fill(min(held // 2, MAX_RECORD_CHARS - held)):
            return False
        # The buffer now starts where the value does, and all of it belongs to the value.
        if held > CHUNK and _structure(self._buffer) > MAX_VALUES:
            raise self._error(f"a JSON value of more than {MAX_VALUES:,} values")
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
                raise self._error("an object key is not a string")
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


def latin1(value: object) -> str:
    # The engine sees header values as bytes (one character a byte); JSON holds Unicode text.
    # Exact types: a wrong-typed field must fail here, not in the engine.
    if type(value) is not str:
        raise TypeError(f"a header is {type(value).__name__}, not text")
    text = value
    return text if text.isascii() else text.encode("utf-8", "replace").decode("latin-1")


def latin1_headers(pairs: Iterable[tuple[str, str]]) -> Headers:
    """Headers from (name, value) text pairs, converted only where a character is not ASCII."""
    pairs = tuple(pairs)
    # One C-level pass to see whether any name or value needs converting (rarely).
    try:
        plain = "".join(chain.from_iterable(pairs)).isascii()
    except TypeError:  # a name or value that is not a string
        plain = False
    if plain:
        return Headers(pairs)
    return Headers(tuple((latin1(name), latin1(value)) for name, value in pairs))


def describe_error(error: Exception) -> str:
    """What was wrong with one record, in a few words (a missing field, a wrong type)."""
    if isinstance(error, KeyError):
        return f"no {error.args[0]!r} field"
    return f"{type(error).__name__}: {error}"
