"""Read exchanges from a mitmproxy flow file (`mitmdump -w`, mitmproxy's "save").

Builds Exchanges straight from the serialized flow state instead of mitmproxy Flow objects
(half of mitmproxy's own load time). Files of older formats go through mitmproxy's migration.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

from ..engine.exchange import BODY_HEAD, Exchange, Headers, Request, Response
from ..engine.words import counted
from .limits import is_status, timestamp
from .tnetstring import TNetStringError, records

if TYPE_CHECKING:
    from mitmproxy.http import HTTPFlow

# Errors after which mitmproxy sends the client nothing; after any other error it answers
# the client itself with a 502 (proxy/layers/http/_http1.py, ResponseProtocolError).
_CLIENT_SIDE_ERRORS = ("Client disconnected", "Connection killed")


def _proxy_answer(error: str | None) -> Response | None:
    """The 502 mitmproxy sent the browser when it got nothing from the server."""
    if not error or error.startswith(_CLIENT_SIDE_ERRORS):
        return None
    return Response(status=502, headers=Headers(()), reason="Bad Gateway", body_head=error)


_DEFAULT_PORTS = {"http": 80, "https": 443}


class FlowFileError(ValueError):
    pass


def _text(value: object) -> str:
    # Exact types: a wrong-typed field must fail here, not in the engine.
    if type(value) is bytes:
        return value.decode("latin-1")
    if type(value) is str:
        return value
    if value is None:
        return ""
    raise TypeError(f"text expected, found {type(value).__name__}")


def _bytes(value: object) -> bytes:
    if type(value) is bytes:
        return value
    if value is None:
        return b""
    raise TypeError(f"bytes expected, found {type(value).__name__}")


_NAMES: dict[bytes, str] = {}  # header names repeat in every flow: decode each once


def _name(raw: bytes) -> str:
    name = _NAMES.get(raw)
    if name is None:
        if len(_NAMES) > 4096:  # bounded: hostile traffic may invent names
            _NAMES.clear()
        name = _NAMES[raw] = raw.decode("latin-1")
    return name


def _headers(raw: Any) -> Headers:
    return Headers(tuple((_name(name), value.decode("latin-1")) for name, value in raw))


def _url(request: dict[str, Any]) -> str:
    scheme = _text(request["scheme"])
    host = _text(request["host"])
    port = request["port"]
    path = _text(request["path"])
    if type(port) is not int or not 0 <= port <= 65535:
        raise ValueError("the port is not a number from 0 to 65535")
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    if port == _DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{host}{path}"
    return f"{scheme}://{host}:{port}{path}"


def _body_head(response: dict[str, Any]) -> str:
    content = response.get("content")
    if not content or response["status_code"] < 400:
        return ""
    return _bytes(content[:BODY_HEAD]).decode("utf-8", "replace")


def _status(response: dict[str, Any]) -> int:
    status = response["status_code"]
    if not is_status(status):
        raise ValueError("status_code is not an HTTP status (100-999)")
    return status  # type: ignore[no-any-return]


def _ended(response: dict[str, Any]) -> float | None:
    ended = response.get("timestamp_end") or response.get("timestamp_start")
    return None if ended is None else timestamp(ended, "timestamp_end")


def _connection_id(client: Any) -> str | None:
    """The client connection a flow came on (credentials evidence: connections.py)."""
    connection = client.get("id") if isinstance(client, dict) else None
    return _text(connection) or None if isinstance(connection, (str, bytes)) else None


def exchange_from_state(state: dict[str, Any]) -> Exchange:
    """An Exchange from a flow's serialized state (mitmproxy `Flow.get_state()`)."""
    request = state["request"]
    response_state = state.get("response")
    response = None
    ended = None
    if response_state is not None:
        response = Response(
            status=_status(response_state),
            headers=_headers(response_state["headers"]),
            reason=_text(response_state.get("reason")),
            body_head=_body_head(response_state),
        )
        ended = _ended(response_state)
    error = state.get("error")
    error_message = _text(error["msg"]) if error else None
    flow_id = state["id"]
    if type(flow_id) is not str:
        raise TypeError(f"the flow id is {type(flow_id).__name__}, not text")
    answered_by_proxy = False
    if response is None and (response := _proxy_answer(error_message)) is not None:
        answered_by_proxy = True
    started = request.get("timestamp_start") or state.get("timestamp_created") or 0.0
    return Exchange(
        id=flow_id,
        started=timestamp(started, "timestamp_start"),
        request=Request(
            method=_text(request["method"]),
            url=_url(request),
            headers=_headers(request["headers"]),
            body=_bytes(request.get("content")),
        ),
        response=response,
        ended=ended,
        error=error_message,
        answered_by_proxy=answered_by_proxy,
        connection=_connection_id(state.get("client_conn")),
    )


def exchange_from_flow(flow: HTTPFlow) -> Exchange:
    """An Exchange from a live mitmproxy flow (the addon's hot path: no state copy)."""
    request = flow.request
    response = flow.response
    judged_response = None
    if response is not None:
        judged_response = Response(
            status=response.status_code,
            headers=_headers(response.headers.fields),
            reason=response.reason,
            body_head=_body_head(
                {"content": response.raw_content, "status_code": response.status_code}
            ),
        )
    error = flow.error.msg if flow.error else None
    answered_by_proxy = False
    if judged_response is None and (judged_response := _proxy_answer(error)) is not None:
        answered_by_proxy = True
    return Exchange(
        id=flow.id,
        started=request.timestamp_start,
        request=Request(
            method=request.data.method.decode("latin-1"),  # as sent: `.method` upper-cases
            url=request.url,
            headers=_headers(request.headers.fields),
            body=request.raw_content or b"",
        ),
        response=judged_response,
        ended=(response.timestamp_end or response.timestamp_start) if response else None,
        error=error,
        answered_by_proxy=answered_by_proxy,
        connection=flow.client_conn.id,
    )


def read_flows(stream: IO[bytes]) -> Iterator[Exchange]:
    """Yield the HTTP exchanges of a flow file; raise FlowFileError where it stops making sense."""
    # mitmproxy is imported only here: `--help`, and reading a HAR, need none of it.
    from mitmproxy.io import compat
    from mitmproxy.version import FLOW_FORMAT_VERSION

    count = 0
    try:
        for state in records(stream):
            if not isinstance(state, dict):
                raise FlowFileError(f"record {count + 1} is not a flow")
            version = state.get("version")
            if version != FLOW_FORMAT_VERSION and not (
                isinstance(version, int) and version > FLOW_FORMAT_VERSION
            ):
                # Newer formats are read as they are: the fields used here have not changed.
                old = state.get(b"version", version)  # the oldest files have bytes keys
                if not (type(old) is int or (type(old) is list and len(old) <= 3)):
                    # mitmproxy would make a tuple of any sequence here: a long one balloons
                    raise FlowFileError(f"record {count + 1} has no flow format version")
                try:
                    state = compat.migrate_flow(state)
                except ValueError as error:  # e.g. "... cannot read flow format version 1"
                    raise FlowFileError(f"record {count + 1}: {error}") from None
                except Exception as error:  # mitmproxy's converters trust their input; ours is not
                    raise FlowFileError(
                        f"record {count + 1} cannot be migrated ({type(error).__name__})"
                    ) from None
                if not isinstance(state, dict):
                    raise FlowFileError(f"record {count + 1} is not a flow")
            count += 1
            if state.get("type") != "http":
                continue  # TCP, UDP and DNS flows carry no CORS
            try:
                yield exchange_from_state(state)
            except (KeyError, TypeError, AttributeError, ValueError) as error:
                raise FlowFileError(f"flow {count} is malformed ({error!r})") from None
    except TNetStringError as error:
        if not count:
            raise FlowFileError(f"not a mitmproxy flow file ({error})") from None
        raise FlowFileError(f"{error} (after {counted(count, 'flow')})") from None
