"""A streaming reader for the tnetstring records of a mitmproxy flow file.

mitmproxy's own `mitmproxy.io.tnetstring` walks its input one byte at a time through
memoryviews; this reader parses the same format by offsets into a bytes buffer, reads the
file in large chunks, and keeps only the record being parsed in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

CHUNK = 1 << 20
_COMMA, _SEMICOLON, _HASH, _CARET, _BANG, _TILDE, _BRACKET, _BRACE = b",;#^!~]}"


class TNetStringError(ValueError):
    pass


def _parse(data: bytes, pos: int) -> tuple[Any, int]:
    colon = data.find(b":", pos, pos + 13)
    if colon < 0:
        raise TNetStringError(f"missing length prefix at byte {pos}")
    try:
        length = int(data[pos:colon])
    except ValueError:
        raise TNetStringError(f"invalid length prefix at byte {pos}") from None
    start = colon + 1
    end = start + length
    if end >= len(data):
        raise TNetStringError(f"value at byte {pos} runs past its container")
    tag = data[end]
    if tag == _COMMA:
        return data[start:end], end + 1
    if tag == _SEMICOLON:
        return data[start:end].decode("utf-8", "surrogateescape"), end + 1
    if tag == _BRACE:
        result: dict[Any, Any] = {}
        position = start
        while position < end:
            key, position = _parse(data, position)
            result[key], position = _parse(data, position)
        return result, end + 1
    if tag == _BRACKET:
        items = []
        position = start
        while position < end:
            item, position = _parse(data, position)
            items.append(item)
        return items, end + 1
    if tag == _HASH:
        return int(data[start:end]), end + 1
    if tag == _CARET:
        return float(data[start:end]), end + 1
    if tag == _BANG:
        return data[start:end] == b"true", end + 1
    if tag == _TILDE:
        return None, end + 1
    raise TNetStringError(f"unknown type tag {chr(tag)!r} at byte {end}")


def records(stream: IO[bytes]) -> Iterator[Any]:
    """Yield each top-level value of a tnetstring stream; raise TNetStringError on bad data.

    The offset of the record being read is in `TNetStringError.args` for diagnostics.
    """
    buffer = b""
    position = 0
    while True:
        colon = buffer.find(b":", position, position + 13)
        if colon < 0 and len(buffer) - position >= 13:
            raise TNetStringError("bad record header")
        if colon < 0 or colon + 1 >= len(buffer):
            more = stream.read(CHUNK)
            if not more:
                if position < len(buffer) and buffer[position:].strip():
                    raise TNetStringError("the file ends in the middle of a flow (truncated?)")
                return
            buffer = buffer[position:] + more
            position = 0
            continue
        prefix = buffer[position:colon]
        if not prefix.isdigit():
            raise TNetStringError("not a mitmproxy flow file (bad record header)")
        needed = colon + 2 + int(prefix)
        if needed > len(buffer):
            more = stream.read(max(CHUNK, needed - len(buffer)))
            if not more:
                raise TNetStringError("the file ends in the middle of a flow (truncated?)")
            buffer = buffer[position:] + more
            position = 0
            continue
        value, position = _parse(buffer, position)
        yield value
