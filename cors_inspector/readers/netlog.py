"""Read exchanges from Chrome's NetLog (chrome://net-export, `chromium --log-net-log=FILE`).

A NetLog is `{"constants": {...}, "events": [...], "polledData": {...}}`; `constants` maps the
integers in the events to names. Chrome writes the constants on the first line and one event
a line after it (net/log/file_net_log_observer.cc), which this reader relies on: it decodes
only the lines whose event type it needs, found at the line's end (Chrome sorts an event's
keys, so `"type":N` comes last). A file laid out otherwise (pretty-printed, one line) is
walked with the incremental JSON cursor instead. Either way memory holds the requests still
open, never the file.

One URL_REQUEST source is one request as the browser made it; its events give what no proxy
sees: the credentials mode (COMPUTED_PRIVACY_MODE), which preflight served it
(CORS_PREFLIGHT_URL_REQUEST), whether it was sent at all, and Chromium's own preflight error
(CORS_PREFLIGHT_ERROR). Event names and fields: net/log/net_log_event_type_list.h,
services/network/cors/cors_url_loader.cc and preflight_controller.cc.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from typing import IO, Any

import orjson

from ..engine.exchange import Exchange
from .json_text import JsonStream, describe_error
from .netlog_constants import MAX_LINE, Constants, NetLogError
from .netlog_requests import _Requests

# -- the file ---------------------------------------------------------------------------------

CONSTANTS_PREFIX = b'{"constants":'


def _check_event(event: object) -> dict[str, Any]:
    if not isinstance(event, dict):
        raise NetLogError("an event that is not a JSON object")
    return event


def _line_events(stream: IO[bytes], constants: Constants, notes: list[str]) -> Iterator[Any]:
    """Chrome's layout: one event a line, `,` after each, `],` after the last."""
    wanted = constants.event_names
    number = 2
    for number, line in enumerate(iter(lambda: stream.readline(MAX_LINE), b""), 3):
        complete = line.endswith(b"\n")
        if not complete and len(line) >= MAX_LINE:
            raise NetLogError(f"line {number}: an event longer than {MAX_LINE >> 20} MB")
        body = line.rstrip()
        last = body.endswith((b"]", b"],"))
        body = body.rstrip(b",").removesuffix(b"]")
        if body and not (complete and _unwanted(body, wanted)):
            try:
                yield orjson.loads(body)
            except orjson.JSONDecodeError as error:
                where = "cut in the middle of an event" if not complete else "invalid JSON"
                raise NetLogError(f"line {number}: {where} ({error})") from None
        if last:
            _check_tail(stream)
            return
    notes.append(
        "the NetLog was never closed (the browser was killed, or crashed, while logging): "
        f"read all {number - 2} lines of events"
    )


def _unwanted(line: bytes, wanted: dict[int, str]) -> bool:
    """An event line `{..."type":N}` of a type not read: skipped without decoding it."""
    at = line.rfind(b'"type":')
    try:
        return at > 0 and line[-1:] == b"}" and int(line[at + 7 : -1]) not in wanted
    except ValueError:  # laid out otherwise: decode it to see
        return False


def _check_tail(stream: IO[bytes]) -> None:
    """After the events: polledData and the closing brace, not decoded (a cut is damage)."""
    end = b""
    while chunk := stream.read(1 << 20):
        end = (end + chunk).rstrip()[-1:] or end
    if end != b"}":
        raise NetLogError("cut short after its events (the closing brace is missing)")


def _document_events(text: JsonStream) -> Iterator[Any]:
    """Any other layout: walk the document with the incremental JSON cursor."""
    constants = None
    for key in text.members():
        if key == "constants":
            constants = Constants(text.value())
            yield constants
        elif key == "events":
            if constants is None:
                raise NetLogError('not a NetLog Chrome wrote: "events" before "constants"')
            yield from text.items()
        else:
            text.value()
    if constants is None:
        raise NetLogError('not a NetLog: no "constants"')


def read_netlog(stream: IO[bytes], notes: list[str]) -> Iterator[Exchange]:
    """Yield the exchanges of a NetLog as its requests complete; one-line `notes` (e.g. a
    file that was never closed) are appended for the caller to show."""
    first = stream.readline(MAX_LINE)
    second = stream.readline(MAX_LINE) if first.rstrip().endswith(b",") else b""
    if first.startswith(CONSTANTS_PREFIX) and second.strip() == b'"events": [':
        try:
            constants = Constants(orjson.loads(first[len(CONSTANTS_PREFIX) :].rstrip()[:-1]))
        except orjson.JSONDecodeError as error:
            raise NetLogError(f"line 1: invalid JSON in constants ({error})") from None
        events = _line_events(stream, constants, notes)
        yield from _judged(events, constants, notes)
        return
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace")  # type: ignore[arg-type]
    try:
        head = (first + second).decode("utf-8", "replace")
        events = _document_events(JsonStream(text, NetLogError, head))
        constants = next(events)  # the first item: the document's constants
        yield from _judged(events, constants, notes)
    finally:
        text.detach()  # the file is ours to close, and to ask how far it was read


# What an event of an unexpected shape raises in the request assembly (a missing key, a
# wrong type, a time of infinity): the event is skipped, or, at the end, the file is damaged.
EVENT_SHAPE_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError)


def _finished(requests: _Requests) -> Iterator[Exchange]:
    """The requests still open at the end: completed with what they said."""
    try:
        yield from requests.finish()
    except EVENT_SHAPE_ERRORS as error:
        raise NetLogError(f"an event of an unexpected shape ({describe_error(error)})") from None


def _judged(events: Iterator[Any], constants: Constants, notes: list[str]) -> Iterator[Exchange]:
    """The exchanges of the events, in the order their requests complete."""
    requests = _Requests(constants, notes)
    skipped: list[tuple[int, str]] = []
    try:
        for number, event in enumerate(events, 1):
            try:
                ready = requests.feed(_check_event(event))
            except EVENT_SHAPE_ERRORS as error:
                # Keep going: the other requests are still worth judging.
                skipped.append((number, describe_error(error)))
                continue
            yield from ready
    except NetLogError:
        with contextlib.suppress(NetLogError):  # the damage is the error to tell
            yield from _finished(requests)  # what was read before the damage
        raise
    yield from _finished(requests)
    if skipped:
        number, why = skipped[0]
        raise NetLogError(
            f"{len(skipped)} NetLog event{'s' if len(skipped) > 1 else ''} skipped "
            f"(event {number} read: {why})"
        )
