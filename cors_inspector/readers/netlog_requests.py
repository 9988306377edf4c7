"""A NetLog's URL_REQUEST sources assembled, event by event, into Exchanges: each request's
hops, its preflight, its credentials mode and Chromium's own verdict."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from ..engine.exchange import BODY_HEAD, Credentials, Exchange, Headers, Request, Response
from .json_text import latin1_headers
from .limits import is_status
from .netlog_constants import (
    CORS_REQUEST,
    MAX_OPEN,
    MAX_STREAM_JOBS,
    REQUEST_ALIVE,
    SEND_HEADERS,
    START_JOB,
    Constants,
    NetLogError,
)


@dataclass(slots=True)
class _Hop:
    """One URL_REQUEST_START_JOB: the request as sent (a redirect starts another one)."""

    method: str
    url: str
    started: float
    initiator: str | None
    load_flags: int
    privacy: str | None = None  # COMPUTED_PRIVACY_MODE: computed again for every hop
    preflight: int | None = None  # the CORS_PREFLIGHT_URL_REQUEST made for this hop
    sent: list[str] | None = None  # header lines
    received: list[str] | None = None  # status line, then header lines
    body: bytes = b""
    error: str | None = None


@dataclass(slots=True)
class _Source:
    """What one URL_REQUEST source said so far."""

    id: int
    started: float
    open: int = 0  # CORS_REQUEST and REQUEST_ALIVE begun and not yet ended
    cors: dict[str, Any] | None = None  # CORS_REQUEST's BEGIN params
    hops: list[_Hop] = field(default_factory=list)
    privacy: str | None = None
    parent: int | None = None  # CREATED_BY: the actual request a preflight was made for
    preflight: int | None = None  # CORS_PREFLIGHT_URL_REQUEST's source
    cache: str | None = None  # CHECK_CORS_PREFLIGHT_CACHE status
    preflight_passed: bool = False
    preflight_error: dict[str, Any] | None = None
    error: str | None = None
    connection: str | None = None
    ended: float | None = None
    preflights: list[_Source] = field(default_factory=list)  # finished, waiting for us


def _header_pairs(lines: Iterable[object]) -> Iterator[tuple[str, str]]:
    for line in lines:
        text = str(line)
        if text.startswith(":"):  # HTTP/2 and QUIC pseudo-headers
            continue
        name, _, value = text.partition(":")
        yield name, value[1:] if value.startswith(" ") else value


def _headers(lines: Iterable[object]) -> Headers:
    return latin1_headers(_header_pairs(lines))


def _preflight_of(request: _Source, number: int) -> str | None:
    """The preflight made for the request's `number`-th hop: a redirect may need its own."""
    if not request.hops:  # never sent: the preflight that stopped it
        return None if request.preflight is None else str(request.preflight)
    preflight = request.hops[number].preflight
    before = request.hops[number - 1].preflight if number else None
    return None if preflight is None or preflight == before else str(preflight)


def _response(hop: _Hop) -> Response | None:
    if not hop.received:
        return None
    status_line, *lines = hop.received
    parts = str(status_line).split(" ", 2)
    try:
        status = int(parts[1])
    except (IndexError, ValueError):
        status = 0
    if not is_status(status):
        raise NetLogError(f"a response status line that is not HTTP: {str(status_line)[:80]!r}")
    return Response(
        status=status,
        headers=_headers(lines),
        reason=parts[2] if len(parts) > 2 else "",
        body_head=hop.body.decode("utf-8", "replace")[:BODY_HEAD] if status >= 400 else "",
    )


def _integer(value: object) -> int:
    if type(value) is not int:
        raise TypeError(f"a source id that is not an integer: {value!r}")
    return value


def _dependency(params: dict[str, Any]) -> int:
    """The source id an event points to (its `source_dependency`)."""
    return _integer(params["source_dependency"]["id"])


def _origin_of(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0].split('?', 1)[0]}"


class _Requests:
    """Gathers each URL_REQUEST source's events; hands back Exchanges as sources complete."""

    def __init__(self, constants: Constants, notes: list[str]) -> None:
        self.constants = constants
        self.notes = notes
        self.open: dict[int, _Source] = {}
        self.sockets: dict[int, int] = {}  # HTTP_STREAM_JOB source -> its socket's source
        # Actual requests that ended before their preflight (a redirected preflight is
        # cancelled after the CORS error), by the preflight's source id.
        self.waiting_for: dict[int, _Source] = {}
        self.evicted: dict[int, None] = {}  # reported while open: their later events are not

    def feed(self, event: dict[str, Any]) -> list[Exchange]:
        name = self.constants.event_names.get(event["type"])
        if name is None:
            return []
        source = event["source"]
        source_id, source_type = _integer(source["id"]), source["type"]
        params = event.get("params") or {}
        if not isinstance(params, dict):
            raise TypeError("params is not an object")
        if source_type == self.constants.stream_job:
            self._stream_job(name, source_id, params)
            return []
        if source_type != self.constants.url_request:
            return []
        phase = event.get("phase")
        request = self.open.get(source_id)
        if request is None:
            if (
                phase != self.constants.begin
                or name not in (CORS_REQUEST, REQUEST_ALIVE)
                or source_id in self.evicted
            ):
                return []  # begun before the capture started, or reported already
            request = self.open[source_id] = _Source(
                source_id, self.constants.seconds(event["time"])
            )
        if name in (CORS_REQUEST, REQUEST_ALIVE):
            return self._bracket(request, name, phase, params, event["time"])
        self._event(request, name, phase, params, event["time"])
        return []

    def _stream_job(self, name: str, job: int, params: dict[str, Any]) -> None:
        # The socket a request ran on: the stream job binds a socket, then binds to the request.
        if name == "SOCKET_POOL_BOUND_TO_SOCKET":
            self.sockets[job] = _dependency(params)
            if len(self.sockets) > MAX_STREAM_JOBS:
                del self.sockets[next(iter(self.sockets))]
        elif name == "HTTP_STREAM_JOB_BOUND_TO_REQUEST":
            request = self.open.get(_dependency(params))
            socket = self.sockets.pop(job, None)
            if request is not None and socket is not None:
                request.connection = f"socket {socket}"

    def _bracket(
        self, request: _Source, name: str, phase: object, params: dict[str, Any], ticks: object
    ) -> list[Exchange]:
        constants = self.constants
        if phase == constants.begin:
            request.open += 1
            if name == CORS_REQUEST:
                request.cors = params
            return self._bound()
        if phase != constants.end:
            return []
        request.open -= 1
        if "net_error" in params:
            request.error = self._error_name(params["net_error"])
        if request.open > 0:
            return []
        request.ended = constants.seconds(ticks)
        del self.open[request.id]
        return self._complete(request)

    def _event(
        self, request: _Source, name: str, phase: object, params: dict[str, Any], ticks: object
    ) -> None:
        if name == START_JOB:
            if phase == self.constants.begin:
                request.hops.append(
                    _Hop(
                        str(params["method"]),
                        str(params["url"]),
                        self.constants.seconds(ticks),
                        params.get("initiator"),
                        int(params.get("load_flags", 0)),
                        preflight=request.preflight,
                    )
                )
            elif "net_error" in params and request.hops:
                request.hops[-1].error = self._error_name(params["net_error"])
        elif name in SEND_HEADERS:
            if request.hops:
                request.hops[-1].sent = list(params["headers"])
        elif name == "HTTP_TRANSACTION_READ_RESPONSE_HEADERS":
            if request.hops:
                request.hops[-1].received = list(params["headers"])
        elif name == "URL_REQUEST_JOB_FILTERED_BYTES_READ":
            # Only in Everything mode: the body, base64. Kept as far as an error body is shown.
            hop = request.hops[-1] if request.hops else None
            if hop is not None and len(hop.body) < BODY_HEAD and "bytes" in params:
                # A body that is not base64 is not shown; no verdict depends on it.
                with suppress(binascii.Error, ValueError):
                    hop.body += base64.b64decode(params["bytes"])[:BODY_HEAD]
        elif name == "COMPUTED_PRIVACY_MODE":
            request.privacy = str(params["privacy_mode"])
            if request.hops:
                request.hops[-1].privacy = request.privacy
        elif name == "CREATED_BY":
            request.parent = _dependency(params)
        elif name == "CHECK_CORS_PREFLIGHT_CACHE":
            request.cache = str(params.get("status"))
        elif name == "CORS_PREFLIGHT_URL_REQUEST":
            request.preflight = _dependency(params)
        elif name in ("CORS_PREFLIGHT_RESULT", "CORS_PREFLIGHT_CACHED_RESULT"):
            request.preflight_passed = True
        elif name == "CORS_PREFLIGHT_ERROR":
            request.preflight_error = params
        elif name == "FAILED" and "net_error" in params:
            request.error = self._error_name(params["net_error"])

    def _error_name(self, number: object) -> str:
        return self.constants.net_errors.get(number, f"net error {number}")  # type: ignore[arg-type]

    def _bound(self) -> list[Exchange]:
        """Report the oldest open request as it is when too many are open (bounded memory)."""
        if len(self.open) <= MAX_OPEN:
            return []
        oldest = self.open.pop(next(iter(self.open)))
        self.evicted[oldest.id] = None
        if len(self.evicted) > MAX_OPEN:
            del self.evicted[next(iter(self.evicted))]
        return self._complete(oldest)

    def _complete(self, request: _Source) -> list[Exchange]:
        """Report a request and its preflights together, the preflights first: a preflight
        ends before its actual request says how it went (or, redirected, just after)."""
        if request.parent is not None:
            if parent := self.open.get(request.parent):
                parent.preflights.append(request)
                return []
            if parent := self.waiting_for.pop(request.id, None):
                parent.preflights.append(request)
                request = parent
        elif request.preflight in self.open:
            self.waiting_for[request.preflight] = request
            return []
        exchanges: list[Exchange] = []
        for preflight in request.preflights:
            exchanges += self._exchanges(preflight, request)
        exchanges += self._exchanges(request, None)
        return exchanges

    def finish(self) -> list[Exchange]:
        """The end of the file: report what is still open, as it is."""
        exchanges: list[Exchange] = []
        while self.open:
            exchanges += self._complete(self.open.pop(next(iter(self.open))))
        while self.waiting_for:  # their preflights were evicted and reported already
            exchanges += self._complete(self.waiting_for.popitem()[1])
        return exchanges

    # -- building Exchanges -------------------------------------------------------------------

    def _exchanges(self, request: _Source, actual: _Source | None) -> list[Exchange]:
        verdict, reason, browser_error = self._browser_view(actual or request, actual is not None)
        first = request.hops[0] if request.hops else None
        credentials, basis = self._credentials(
            first.privacy if first else request.privacy, first.load_flags if first else 0
        )
        base = {
            "connection": request.connection,
            "credentials": credentials,
            "credentials_basis": basis,
            "preflight_of": _preflight_of(request, 0),
            "preflight_cached": request.cache == "hit-and-pass" and request.preflight is None,
        }
        if not request.hops:
            if request.cors is None:
                return []
            return [self._never_sent(request, verdict, reason, browser_error, base)]
        exchanges = []
        last = len(request.hops) - 1
        for number, hop in enumerate(request.hops):
            response = _response(hop)
            error = hop.error or (request.error if number == last else None)
            headers = self._request_headers(request, hop)
            # Chromium's verdict is a CORS one only for a cross-origin request in mode cors.
            final = (
                number == last
                and hop.initiator is not None
                and hop.initiator != _origin_of(hop.url)
                and headers.get("sec-fetch-mode") == "cors"
            )
            if number:  # a redirect: Chromium decides credentials (and preflights) again
                base["credentials"], base["credentials_basis"] = self._credentials(
                    hop.privacy, hop.load_flags
                )
                base["preflight_of"] = _preflight_of(request, number)
            exchanges.append(
                Exchange(
                    id=str(request.id) if number == 0 else f"{request.id}.{number}",
                    started=hop.started,
                    request=Request(hop.method, hop.url, headers),
                    response=response,
                    ended=request.ended if number == last else None,
                    error=error,
                    browser_error=f"net::{error}" if error and response is None else None,
                    browser_verdict=verdict if final else None,
                    browser_reason=reason if final else None,
                    **base,
                )
            )
        return exchanges

    def _request_headers(self, request: _Source, hop: _Hop) -> Headers:
        if hop.sent is not None:
            return _headers(hop.sent)
        # Not sent (answered from the HTTP cache, or failed first): the page's own headers.
        cors_headers = (request.cors or {}).get("request_headers") or {}
        return _headers(cors_headers.get("headers") or ())

    def _never_sent(
        self,
        request: _Source,
        verdict: str | None,
        reason: str | None,
        browser_error: str | None,
        base: dict[str, Any],
    ) -> Exchange:
        """An actual request whose preflight failed: CORS_REQUEST holds all there is of it."""
        cors = request.cors or {}
        page_headers = cors.get("request_headers") or {}
        method = str(page_headers.get("line") or "GET").split(" ", 1)[0]
        lines = [str(line) for line in page_headers.get("headers") or ()]
        # The browser adds Origin and Sec-Fetch-Mode when it sends; a preflight is made only
        # in mode cors, and carries the page's origin.
        origin = next(
            (
                preflight_origin
                for preflight in request.preflights
                for hop in preflight.hops[:1]
                if (preflight_origin := _headers(hop.sent or ()).get("origin"))
            ),
            None,
        )
        if origin is not None:
            lines.append(f"Origin: {origin}")
        lines.append("Sec-Fetch-Mode: cors")
        return Exchange(
            id=str(request.id),
            started=request.started,
            request=Request(method, str(cors.get("url", "")), _headers(lines)),
            response=None,
            ended=request.ended,
            error="never sent: its CORS preflight failed" if request.preflight_error else None,
            browser_error=browser_error,
            sent=False,
            browser_verdict=verdict,
            browser_reason=reason,
            **base,
        )

    def _browser_view(
        self, request: _Source, for_preflight: bool
    ) -> tuple[str | None, str | None, str | None]:
        """Chromium's verdict, CorsError name and error text, as far as its events tell."""
        failure = request.preflight_error
        if failure is not None:
            number = failure.get("cors-error")
            name = self.constants.cors_errors.name(number)
            note = self.constants.cors_errors.unverified_note
            if note is not None and note not in self.notes:
                self.notes.append(note)
            error = str(failure.get("error", "ERR_FAILED"))
            text = f"net::{error} (CORS_PREFLIGHT_ERROR cors-error {number}: {name})"
            return "blocked", name, text
        if for_preflight and request.preflight_passed:
            return "allowed", None, None
        # Chromium logs no CORS check of a response (cors_url_loader.cc completes the loader
        # with the error, no event; the request may even read its body to the end first):
        # for a request that was sent, its verdict is the engine's alone.
        return None, None, None

    def _credentials(self, privacy: str | None, load_flags: int) -> tuple[Credentials | None, str]:
        if privacy is None:
            return None, ""
        if privacy == "disabled":
            return "include", "Chrome NetLog: COMPUTED_PRIVACY_MODE disabled (with credentials)"
        flag = self.constants.do_not_save_cookies
        if flag and not load_flags & flag:
            # Privacy mode is also enabled when cookie settings block the cookies of a request
            # that allows credentials (url_request_http_job.cc); such a request lacks the
            # DO_NOT_SAVE_COOKIES load flag that credentials mode 'omit' sets (url_request.cc).
            return "include", (
                f"Chrome NetLog: COMPUTED_PRIVACY_MODE {privacy} by cookie settings, but the "
                "request allows credentials (no DO_NOT_SAVE_COOKIES load flag)"
            )
        return "omit", f"Chrome NetLog: COMPUTED_PRIVACY_MODE {privacy} (without credentials)"
