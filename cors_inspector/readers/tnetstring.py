"""A streaming reader for the tnetstring records of a mitmproxy flow file.

mitmproxy's own `mitmproxy.io.tnetstring` walks its input one byte at a time through
memoryviews; this reader parses the same format by offsets into a bytes buffer, reads the
file in large chunks, and keeps only the record being parsed in memory.

Hostile input is bounded before it costs anything: a length prefix is at most 12 digits and
a record at most MAX_RECORD_BYTES (checked before reading it), every value must end inside
its container, nesting stops at MAX_DEPTH and a record holds at most about MAX_VALUES values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO, Any

from .limits import MAX_DEPTH, MAX_RECORD_BYTES, MAX_VALUES

CHUNK = 1 << 20
PREFIX = 13  # a length prefix and its colon: 12 digits cover MAX_RECORD_BYTES many times
# A container no larger than this holds too few values to matter (at most a third of its
# bytes): only larger ones count their values as they go. Keeps the common case unchecked.
_SMALL = 1 << 16
_COMMA, _SEMICOLON, _HASH, _CARET, _BANG, _TILDE, _BRACKET, _BRACE = b",;#^!~]}"
_CONTAINERS = frozenset((_BRACKET, _BRACE))


class TNetStringError(ValueError):
    pass


def _record_parser(data: bytes) -> Callable[[int], tuple[Any, int]]:
    """A parser of the records in `data`: given where one starts, its value and where the
    next one starts.

    A closure, so that the recursive calls pass one argument: `data`, the nesting depth and
    the values spent from the record's budget are its cells, updated per container only.
    """
    depth = 0
    spent = 0

    def parse(pos: int) -> tuple[Any, int]:
        nonlocal depth, spent
        colon = data.find(b":", pos, pos + PREFIX)
        if colon < 0:
            raise TNetStringError(f"missing length prefix at byte {pos}")
        try:
            length = int(data[pos:colon])  # at most 12 characters
            start = colon + 1
            end = start + length
            tag = data[end]
        except ValueError:
            raise TNetStringError(f"invalid length prefix at byte {pos}") from None
        except IndexError:
            raise TNetStringError(f"value at byte {pos} runs past the end of its record") from None
        if length < 0:  # int() takes "-4"
            raise TNetStringError(f"negative length prefix at byte {pos}")
        if tag == _COMMA:
            return data[start:end], end + 1
        if tag == _SEMICOLON:
            return data[start:end].decode("utf-8", "surrogateescape"), end + 1
        if tag in _CONTAINERS:
            if depth >= MAX_DEPTH:
                raise TNetStringError(f"nested more than {MAX_DEPTH} deep at byte {pos}")
            counted = length > _SMALL
            depth += 1
            position = start
            if tag == _BRACKET:
                items: list[Any] = []
                while position < end:
                    item, position = parse(position)
                    items.append(item)
                    if counted and spent + len(items) > MAX_VALUES:
                        raise _too_many_values(pos)
                result: Any = items
                spent += len(items)
            else:
                result = {}
                while position < end:
                    key, position = parse(position)
                    value, position = parse(position)
                    try:
                        result[key] = value
                    except TypeError:  # a list or dict as a key
                        raise TNetStringError(f"unhashable key at byte {pos}") from None
                    if counted and spent + 2 * len(result) > MAX_VALUES:
                        raise _too_many_values(pos)
                spent += 2 * len(result)  # a key and its value
            if position != end:  # the last value ran past the container's end
                raise TNetStringError(f"a value in the container at byte {pos} runs past it")
            depth -= 1
            return result, end + 1
        try:
            if tag == _HASH:
                return int(data[start:end]), end + 1
            if tag == _CARET:
                return float(data[start:end]), end + 1
        except ValueError:  # not a number, or more than 4300 digits
            raise TNetStringError(f"invalid number at byte {pos}") from None
        if tag == _BANG:
            return data[start:end] == b"true", end + 1
        if tag == _TILDE:
            return None, end + 1
        raise TNetStringError(f"unknown type tag {chr(tag)!r} at byte {end}")

    def parse_record(pos: int) -> tuple[Any, int]:
        nonlocal depth, spent
        depth = spent = 0  # an error leaves them set: reset for each record
        return parse(pos)

    return parse_record


def _too_many_values(pos: int) -> TNetStringError:
    return TNetStringError(f"more than {MAX_VALUES:,} values in the record at byte {pos}")


def records(stream: IO[bytes]) -> Iterator[Any]:
    """Yield each top-level value of a tnetstring stream; raise TNetStringError on bad data.

    Only reads forward (pipes work): the offset in messages is within the buffer.
    """
    buffer = b""
    parse = _record_parser(buffer)
    position = 0
    while True:
        colon = buffer.find(b":", position, position + PREFIX)
        if colon < 0 and len(buffer) - position >= PREFIX:
            raise TNetStringError("bad record header")
        if colon < 0 or colon + 1 >= len(buffer):
            more = stream.read(CHUNK)
            if not more:
                if position < len(buffer) and buffer[position:].strip():
                    raise TNetStringError("the file ends in the middle of a flow (truncated?)")
                return
            buffer = buffer[position:] + more
            parse = _record_parser(buffer)
            position = 0
            continue
        prefix = buffer[position:colon]
        if not prefix.isdigit():
            raise TNetStringError("not a mitmproxy flow file (bad record header)")
        length = int(prefix)
        if length > MAX_RECORD_BYTES:  # refused before a byte of it is read
            raise TNetStringError(
                f"a record of {length:,} bytes (more than {MAX_RECORD_BYTES >> 20} MB)"
            )
        needed = colon + 2 + length
        if needed > len(buffer):
            more = stream.read(max(CHUNK, needed - len(buffer)))
            if not more:
                raise TNetStringError("the file ends in the middle of a flow (truncated?)")
            buffer = buffer[position:] + more
            more = b""  # a large record is then held once, not twice, while it is parsed
            parse = _record_parser(buffer)
            position = 0
            continue
        value, position = parse(position)
        yield value
